"""The demo's report: one self-contained HTML page of figures, tables and links.

A report is a list of :class:`Section` (one per domain suite), each holding
figures (PNG files beside the page), tables (rows of plain values) and links to
the outputs the numbers came from (SEG-Y, HDF5, JSON). ``write_report`` renders
them to ``index.html`` with no script, no external resource and no network:
the page opens from disk in any browser.

>>> section = Section("seismic", "Seismic sections", "A synthetic survey.")
>>> section.tables.append(Table("counts", "Predicted patches", ["class", "patches"], [["fault", 12]]))
>>> "<table" in render_report("rather demo", [section])
True
"""
from __future__ import annotations

import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from rather.common.storage import PathLike, atomic_path

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1100px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .2em; margin-top: 2em; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #ddd; }
figcaption { font-size: .9em; color: #555; }
table { border-collapse: collapse; margin: .8em 0; font-size: .92em; }
caption { text-align: left; font-weight: 600; padding-bottom: .3em; }
th, td { border: 1px solid #ccc; padding: .25em .6em; text-align: right; }
th:first-child, td:first-child { text-align: left; }
nav a { margin-right: 1em; } .meta { color: #666; font-size: .9em; }
"""


@dataclass
class Table:
    """A table with an id (unique in the page), a caption, a header row and rows of plain values."""

    id: str
    caption: str
    header: list[str]
    rows: list[list[Any]]


@dataclass
class Figure:
    """A PNG file, by its path relative to the page, with a caption."""

    path: str
    caption: str


@dataclass
class Section:
    """One domain suite's part of the page: a lead paragraph, figures, tables and links to outputs."""

    id: str
    title: str
    lead: str
    figures: list[Figure] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    links: dict[str, str] = field(default_factory=dict)


def cell(value: Any) -> str:
    """A table cell: floats with 3 decimals, None as an em dash, everything else as text, escaped."""
    if value is None:
        return "\u2014"
    if isinstance(value, float):
        return f"{value:.3f}"
    return html.escape(str(value))


def render_table(table: Table) -> str:
    header = "".join(f"<th>{html.escape(name)}</th>" for name in table.header)
    rows = "".join("<tr>" + "".join(f"<td>{cell(value)}</td>" for value in row) + "</tr>" for row in table.rows)
    return (f'<table id="{html.escape(table.id)}"><caption>{html.escape(table.caption)}</caption>'
            f"<thead><tr>{header}</tr></thead><tbody>{rows}</tbody></table>")


def render_section(section: Section) -> str:
    parts = [f'<section id="{html.escape(section.id)}"><h2>{html.escape(section.title)}</h2>',
             f"<p>{html.escape(section.lead)}</p>"]
    parts += [f'<figure><img src="{html.escape(figure.path)}" alt="{html.escape(figure.caption)}">'
              f"<figcaption>{html.escape(figure.caption)}</figcaption></figure>" for figure in section.figures]
    parts += [render_table(table) for table in section.tables]
    if section.links:
        links = " ".join(f'<a href="{html.escape(path)}">{html.escape(name)}</a>'
                         for name, path in section.links.items())
        parts.append(f"<p>Outputs: {links}</p>")
    parts.append("</section>")
    return "\n".join(parts)


def render_report(title: str, sections: Sequence[Section], meta: str = "") -> str:
    """The whole page as a string."""
    nav = " ".join(f'<a href="#{html.escape(s.id)}">{html.escape(s.title)}</a>' for s in sections)
    body = "\n".join(render_section(section) for section in sections)
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{STYLE}</style></head>\n<body><h1>{html.escape(title)}</h1>"
            f'<p class="meta">{html.escape(meta)}</p><nav>{nav}</nav>\n{body}\n</body></html>\n')


def write_report(path: PathLike, title: str, sections: Sequence[Section], meta: str = "") -> Path:
    """Write the page atomically; every figure must already exist beside it."""
    path = Path(path)
    missing = [f.path for s in sections for f in s.figures if not (path.parent / f.path).is_file()]
    if missing:
        raise FileNotFoundError(f"report figures missing beside {path}: {', '.join(missing)}")
    with atomic_path(path) as temporary:
        temporary.write_text(render_report(title, sections, meta), encoding="utf-8")
    return path
