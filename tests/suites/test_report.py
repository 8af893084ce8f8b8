"""The HTML report: escaping, structure, findings, embedding, atomic writing, and a real browser loading it."""
import base64
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib import image

from rather.suites.report import (
    Figure, Finding, Section, Table, cell, confusion_table, render_report, render_table, write_report,
)

from browser import open_page


class Outline(HTMLParser):
    """The ids of tables, the img sources and the text of cells, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.cells, self.links, self._in_cell = [], [], [], [], False
        self.details = self.folded_images = 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs["src"])
            self.folded_images += self.details > 0
        elif tag == "a":
            self.links.append(attrs["href"])
        self.details += tag == "details"
        self._in_cell = tag == "td"

    def handle_endtag(self, tag):
        self.details -= tag == "details"

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)
            self._in_cell = False


def report_sections(figure: str = "a.png") -> list[Section]:
    return [Section("seismic", "Seismic <sections>", "Faults & salt.",
                    figures=[Figure(figure, "a section")],
                    tables=[Table("counts", "Predicted", ["class", "share"], [["fault", 0.12345], ["salt", None]])],
                    links={"summary": "summary.json"}, command="rather suite seismic --out seismic-suite",
                    checksum="ab12"),
            Section("iqa", "Quality", "Scores.", tables=[Table("srcc", "SRCC", ["set", "srcc"], [["<b>", 1]])])]


def test_cells_format_floats_none_and_escape():
    assert [cell(0.12345), cell(None), cell(3), cell("<b>&")] == ["0.123", "not checked", "3", "&lt;b&gt;&amp;"]


def test_the_page_holds_every_table_figure_and_escaped_text():
    outline = Outline()
    outline.feed(render_report("rather <demo>", report_sections()))
    assert outline.tables == ["counts", "srcc"]
    assert outline.images == ["a.png"]
    assert outline.cells == ["fault", "0.123", "salt", "not checked", "<b>", "1"]  # the parser unescapes what we escaped


def test_write_report_refuses_missing_figures_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="a.png"):
        write_report(tmp_path / "index.html", "t", report_sections())
    assert list(tmp_path.iterdir()) == []


FINDINGS = [Finding("seismic", "Faults: 61% inside, Grad-CAM 40%."), Finding("iqa", "Noise: 30% vs 5%.")]


def test_findings_open_the_page_and_link_their_sections():
    page = render_report("t", report_sections(), findings=FINDINGS)
    box = page[page.index('<aside id="findings">'):page.index("</aside>")]
    assert page.index("</aside>") < page.index('<section id="seismic">')
    assert 'Faults: 61% inside, Grad-CAM 40%. <a href="#seismic">Seismic &lt;sections&gt;</a>' in box
    assert '<a href="#iqa">Quality</a>' in box
    assert 'id="findings"' not in render_report("t", report_sections())  # nothing found: no empty box


def test_each_section_ends_with_its_command_and_model_checksum():
    page = render_report("t", report_sections())
    seismic = page[page.index('<section id="seismic">'):page.index("</section>")]
    assert seismic.endswith('Reproduce: <code>rather suite seismic --out seismic-suite</code>; model sha256 '
                            '<code>ab12</code></p>\n')
    assert "Reproduce" not in page[page.index('<section id="iqa">'):]  # a section with no command says none


def test_links_say_which_file_they_open():
    assert '<a href="summary.json">summary: summary.json</a>' in render_report("t", report_sections())


def test_a_confusion_matrix_is_shaded_and_a_class_without_examples_is_not_checked():
    table = confusion_table("c", "confusion", ["fault", "salt"], [[3, 1], [0, 0]])
    assert table.shade and table.header == ["true \\ predicted", "fault", "salt"]
    assert table.rows == [["fault", 3, 1], ["salt", "not checked", "not checked"]]


def test_a_shaded_table_colours_numbers_by_their_share_of_the_row_and_leaves_words_alone():
    table = render_table(Table("c", "confusion", ["true", "a", "b"], [["a", 8, 2], ["b", "not checked", 5]],
                               shade=True))
    assert '<td style="background:rgba(43,108,176,0.80);color:#fff;">8</td>' in table
    assert '<td style="background:rgba(43,108,176,0.20);">2</td>' in table
    assert '<td style="background:rgba(43,108,176,1.00);color:#fff;">5</td>' in table
    assert "<td>not checked</td>" in table and "<td>a</td>" in table
    assert "style" not in render_table(Table("c", "plain", ["x", "n"], [["a", 8]]))


def test_a_gallery_shows_its_first_figure_and_folds_the_rest_into_details():
    figures = [*(Figure(f"f{n}.png", f"pair {n}: maps", gallery=True) for n in range(4)), Figure("truth.png", "truth")]
    page = render_report("t", [Section("recognition", "R", "lead", figures=figures)])
    outline = Outline()
    outline.feed(page)
    assert outline.images == ["f0.png", "f1.png", "f2.png", "f3.png", "truth.png"] and outline.folded_images == 3
    assert page.index("</details>") < page.index("truth.png")  # folded right below the gallery's first figure
    assert "<summary>3 more like the one above: pair 1; pair 2; pair 3</summary>" in page
    assert "<details>" not in render_report("t", [Section("s", "S", "lead", figures=figures[3:])])


def test_a_wide_confusion_matrix_numbers_its_columns():
    names = [f"class {n}" for n in range(8)]
    table = confusion_table("c", "confusion", names, np.eye(8, dtype=int).tolist())
    assert table.header[1:] == [str(n) for n in range(1, 9)] and table.rows[0][0] == "1. class 0"


def test_the_page_embeds_its_figures_by_default_and_links_them_when_asked(tmp_path):
    image.imsave(tmp_path / "a.png", np.zeros((3, 4)))
    outline = Outline()
    outline.feed(write_report(tmp_path / "index.html", "t", report_sections()).read_text())
    prefix = "data:image/png;base64,"
    assert outline.images[0].startswith(prefix)
    assert base64.b64decode(outline.images[0][len(prefix):]) == (tmp_path / "a.png").read_bytes()
    outline = Outline()
    outline.feed(write_report(tmp_path / "index.html", "t", report_sections(), embed=False).read_text())
    assert outline.images == ["a.png"]


def test_a_browser_loads_every_image_table_and_finding_from_the_page_alone(tmp_path):
    image.imsave(tmp_path / "a.png", np.random.default_rng(0).random((30, 40)))
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "index.html").write_bytes(
        write_report(tmp_path / "index.html", "rather demo", report_sections(), findings=FINDINGS).read_bytes())
    page = open_page(shared / "index.html")  # moved away from its images: they are inside
    assert page["title"] == "rather demo"
    assert page["tables"] == ["counts", "srcc"]
    assert [(i["loaded"], i["width"], i["height"], i["src"][:22]) for i in page["images"]] == [
        (True, 40, 30, "data:image/png;base64,")]
    assert [item["target"] for item in page["findings"]] == ["#seismic", "#iqa"]
    assert page["findings"][0]["text"].startswith("Faults: 61% inside")
    assert page["overflow"] == {"page": False, "figures": []}


def test_the_browser_check_sees_a_broken_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    page = open_page(write_report(tmp_path / "index.html", "rather demo", report_sections("broken.png"), embed=False))
    assert page["images"][0]["loaded"] is False


def test_long_captions_wrap_inside_their_figure_and_the_check_sees_one_that_does_not(tmp_path):
    image.imsave(tmp_path / "a.png", np.zeros((30, 40)))
    sections = report_sections()
    sections[0].figures[0].caption = "why_fault_rather_than_horizon_" * 20
    assert open_page(write_report(tmp_path / "index.html", "t", sections))["overflow"] == {"page": False,
                                                                                           "figures": []}
    unwrapped = render_report("t", sections, folder=tmp_path).replace("overflow-wrap: anywhere;", "")
    (tmp_path / "unwrapped.html").write_text(unwrapped, encoding="utf-8")
    assert open_page(tmp_path / "unwrapped.html")["overflow"]["figures"] == [
        ("why_fault_rather_than_horizon_" * 3)[:80]]
