"""The HTML report: escaping, structure, atomic writing, and a real browser loading it."""
from html.parser import HTMLParser

import numpy as np
import pytest
from matplotlib import image

from rather.suites.report import Figure, Section, Table, cell, render_report, write_report

from browser import open_page


class Outline(HTMLParser):
    """The ids of tables, the img sources and the text of cells, as a browser's parser sees them."""

    def __init__(self):
        super().__init__()
        self.tables, self.images, self.cells, self._in_cell = [], [], [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append(attrs["id"])
        elif tag == "img":
            self.images.append(attrs["src"])
        self._in_cell = tag == "td"

    def handle_data(self, data):
        if self._in_cell:
            self.cells.append(data)
            self._in_cell = False


def report_sections(figure: str = "a.png") -> list[Section]:
    return [Section("seismic", "Seismic <sections>", "Faults & salt.",
                    figures=[Figure(figure, "a section")],
                    tables=[Table("counts", "Predicted", ["class", "share"], [["fault", 0.12345], ["salt", None]])],
                    links={"summary": "summary.json"}),
            Section("iqa", "Quality", "Scores.", tables=[Table("srcc", "SRCC", ["set", "srcc"], [["<b>", 1]])])]


def test_cells_format_floats_none_and_escape():
    assert [cell(0.12345), cell(None), cell(3), cell("<b>&")] == ["0.123", "\u2014", "3", "&lt;b&gt;&amp;"]


def test_the_page_holds_every_table_figure_and_escaped_text():
    outline = Outline()
    outline.feed(render_report("rather <demo>", report_sections()))
    assert outline.tables == ["counts", "srcc"]
    assert outline.images == ["a.png"]
    assert outline.cells == ["fault", "0.123", "salt", "\u2014", "<b>", "1"]  # the parser unescapes what we escaped


def test_write_report_refuses_missing_figures_and_writes_nothing(tmp_path):
    with pytest.raises(FileNotFoundError, match="a.png"):
        write_report(tmp_path / "index.html", "t", report_sections())
    assert list(tmp_path.iterdir()) == []


def test_a_browser_loads_every_image_and_table(tmp_path):
    image.imsave(tmp_path / "a.png", np.random.default_rng(0).random((30, 40)))
    page = open_page(write_report(tmp_path / "index.html", "rather demo", report_sections()))
    assert page["title"] == "rather demo"
    assert page["tables"] == ["counts", "srcc"]
    assert page["images"] == [{"src": "a.png", "loaded": True, "width": 40, "height": 30}]


def test_the_browser_check_sees_a_broken_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"not a png")
    page = open_page(write_report(tmp_path / "index.html", "rather demo", report_sections("broken.png")))
    assert page["images"][0]["loaded"] is False
