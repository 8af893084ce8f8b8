"""The demo's report: one HTML page of findings, figures, tables and links.

A report is a list of :class:`Section` (one per domain suite), each holding
figures (PNG files beside the page), tables (rows of plain values, the reference
of each metric beside it) and links to the outputs the numbers came from (SEG-Y,
HDF5, JSON). A box of findings opens the page: per domain one sentence with the
number that matters and its baseline, linking to the section. ``write_report``
renders it all to ``index.html`` with no script, no external resource and no
network; by default the figures are embedded as data URIs, so the page alone can
be shared (``embed=False`` keeps them as files beside it). A figure is shown at its
own size, never wider than the page's column (``max-width`` in ``STYLE``): the figure
functions draw for that column (``rather.common.figures.PAGE_WIDTH`` at its ``DPI``),
so their fonts read as drawn at 100 % zoom.

>>> section = Section("seismic", "Seismic sections", "A synthetic survey.")
>>> section.tables.append(Table("counts", "Predicted patches", ["class", "patches"], [["fault", 12]]))
>>> "<table" in render_report("rather demo", [section])
True
"""
from __future__ import annotations

import base64
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rather.common.storage import PathLike, atomic_path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222;
       font-size: 16px; line-height: 1.45; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; box-sizing: border-box; border: 1px solid #ddd; }
figcaption { font-size: .95em; color: #444; overflow-wrap: anywhere; }
table { border-collapse: collapse; margin: .8em 0; font-size: .95em; min-width: min(100%, 40em); }
.table { overflow-x: auto; } table.shaded { font-size: .8em; }
caption { text-align: left; font-weight: 600; padding-bottom: .3em; max-width: 60em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
nav a { margin-right: 1em; } .meta { color: #666; font-size: .9em; }
#findings { border: 2px solid #2b6cb0; background: #f0f6fc; padding: .6em 1.2em; margin: 1em 0; }
#findings h2 { margin-top: .2em; border: none; font-size: 1.2em; } #findings li { margin: .3em 0; }
.reproduce { font-size: .9em; color: #444; overflow-wrap: anywhere; }
.reproduce code { background: #f4f4f4; padding: .1em .3em; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
"""

WIDE = 6
"""A confusion matrix over more classes than this numbers its columns (the rows name them) to fit the page."""


@dataclass
class Table:
    """A table with an id (unique in the page), a caption, a header row and rows of plain values.

    ``shade`` colours each number by its share of its row (a confusion matrix's recall, read at a glance).
    """

    id: str
    caption: str
    header: list[str]
    rows: list[list[Any]]
    shade: bool = False


@dataclass
class Figure:
    """A PNG file, by its path relative to the page, with a caption.

    Figures of a ``gallery`` (many alike, such as one per explained pair) show the first and fold the rest.
    """

    path: str
    caption: str
    gallery: bool = False


@dataclass
class Section:
    """One domain suite's part of the page: a lead paragraph, figures, tables, links to outputs, and
    the command that reproduces it with the model's checksum (filled in by the command that runs it)."""

    id: str
    title: str
    lead: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)
    command: str = ""
    checksum: str = ""


@dataclass
class Finding:
    """One sentence of the findings box: what a domain's suite found, linking to its section."""

    section: str
    text: str


NOT_CHECKED = "not checked"


def confusion_table(id: str, caption: str, names: Sequence[str], confusion: Sequence[Sequence[int]]) -> Table:
    """A confusion matrix (rows true, columns predicted) as a shaded table; a class with no example
    is a row saying "not checked" (no patch to check), not a row of zeros."""
    numbered = len(names) > WIDE
    rows = [[f"{number}. {name}" if numbered else name, *(row if sum(row) else [NOT_CHECKED] * len(row))]
            for number, (name, row) in enumerate(zip(names, confusion), start=1)]
    columns = [str(number) for number in range(1, len(names) + 1)] if numbered else list(names)
    return Table(id, caption, ["true \\ predicted", *columns], rows, shade=True)


def cell(value: Any) -> str:
    """A table cell: floats with 3 decimals, None (nothing measured) as "not checked", the rest as text, escaped."""
    if value is None:
        return NOT_CHECKED
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def numbers(row: Sequence[Any]) -> list[float]:
    """The numbers among a row's values (words such as "not checked" left out)."""
    return [v for v in row if isinstance(v, (int, float)) and not isinstance(v, bool)]


def shading(value: Any, total: float) -> str:
    """A cell's style attribute: blue whose strength is ``value / total`` (numbers only, else none)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or total <= 0:
        return ""
    strength = max(0.0, min(1.0, value / total))
    ink = "color:#fff;" if strength > 0.55 else ""
    return f' style="background:rgba(43,108,176,{strength:.2f});{ink}"'


def render_row(row: Sequence[Any], shade: bool) -> str:
    """A table row; ``shade`` colours each number by its share of the row's total (a confusion row: recall)."""
    total = sum(numbers(row[1:])) if shade else 0
    return "<tr>" + "".join(f"<td{shading(value, total) if column else ''}>{cell(value)}</td>"
                            for column, value in enumerate(row)) + "</tr>"


def render_table(table: Table) -> str:
    header = "".join(f"<th>{html.escape(name)}</th>" for name in table.header)
    rows = "".join(render_row(row, table.shade) for row in table.rows)
    shaded = ' class="shaded"' if table.shade else ""
    return (f'<div class="table"><table id="{html.escape(table.id)}"{shaded}><caption>{html.escape(table.caption)}'
            f"</caption><thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table></div>")


def image_source(path: str, folder: Path | None) -> str:
    """The ``src`` of a figure: the PNG as a data URI when ``folder`` (the page's) is given, else its path."""
    if folder is None:
        return path
    return "data:image/png;base64," + base64.b64encode((folder / path).read_bytes()).decode("ascii")


def render_figure(figure: Figure, folder: Path | None) -> str:
    return (f'<figure><img src="{html.escape(image_source(figure.path, folder))}" alt="{html.escape(figure.caption)}">'
            f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>")


def render_figures(figures: Sequence[Figure], folder: Path | None) -> list[str]:
    """Every figure in order, except that a gallery shows its first and folds the rest into one
    ``<details>`` right below it, whose summary says what it holds."""
    gallery = [figure for figure in figures if figure.gallery]
    parts = []
    for figure in figures:
        if figure.gallery and figure is not gallery[0]:
            continue
        parts.append(render_figure(figure, folder))
        if figure.gallery and len(gallery) > 1:
            folded = gallery[1:]
            inside = "\n".join(render_figure(other, folder) for other in folded)
            parts.append(f"<details><summary>{len(folded)} more like the one above: "
                         f"{html.escape('; '.join(other.caption.split(':')[0] for other in folded))}</summary>\n"
                         f"{inside}</details>")
    return parts


def link_text(name: str, path: str) -> str:
    """A link's words: what it is and the file it opens."""
    return f"{name}: {Path(path).name}"


def render_section(section: Section, folder: Path | None = None) -> str:
    """One section; ``folder`` (the page's) embeds its figures as data URIs, None links them."""
    parts = [f'<section id="{html.escape(section.id)}"><h2>{html.escape(section.title)}</h2>',
             f"<p>{html.escape(section.lead)}</p>"]
    parts += render_figures(section.figures, folder)
    parts += [render_table(table) for table in section.tables]
    if section.links:
        links = " ".join(f'<a href="{html.escape(path)}">{html.escape(link_text(name, path))}</a>'
                         for name, path in section.links.items())
        parts.append(f"<p>Files in the output folder: {links}</p>")
    if section.command:
        checksum = f"; model sha256 <code>{html.escape(section.checksum)}</code>" if section.checksum else ""
        parts.append(f'<p class="reproduce">Reproduce: <code>{html.escape(section.command)}</code>{checksum}</p>')
    parts.append("</section>")
    return "\n".join(parts)


def render_findings(findings: Sequence[Finding], sections: Sequence[Section]) -> str:
    """The box at the top: one linked sentence per domain (none when there is nothing to say)."""
    titles = {section.id: section.title for section in sections}
    items = "".join(f'<li>{html.escape(finding.text)} <a href="#{html.escape(finding.section)}">'
                    f"{html.escape(titles.get(finding.section, finding.section))}</a></li>" for finding in findings)
    return f'<aside id="findings"><h2>Findings</h2><ul>{items}</ul></aside>' if findings else ""


def render_report(title: str, sections: Sequence[Section], meta: str = "", findings: Sequence[Finding] = (),
                  folder: Path | None = None) -> str:
    """The whole page as a string; ``folder`` (the page's) embeds the figures, None links them."""
    nav = " ".join(f'<a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(render_section(section, folder) for section in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<style>{STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>"
            f'<p class="meta">{html.escape(meta)}</p>{render_findings(findings, sections)}<nav>{nav}</nav>\n'
            f"{body}\n</body></html>\n")


def write_report(path: PathLike, title: str, sections: Sequence[Section], meta: str = "",
                 findings: Sequence[Finding] = (), embed: bool = True) -> Path:
    """Write the page atomically; every figure must already exist beside it.

    ``embed`` puts the figures inside the page (one file to share), otherwise the page links them.
    """
    path = Path(path)
    missing = [f.path for s in sections for f in s.figures if not (path.parent / f.path).is_file()]
    if missing:
        raise FileNotFoundError(f"report figures missing beside {path}: {', '.join(missing)}")
    page = render_report(title, sections, meta, findings, path.parent if embed else None)
    with atomic_path(path) as temporary:
        temporary.write_text(page, encoding="utf-8")
    return path
