"""Explaining one line of an open survey: its section maps (its figure is drawn with the run's scaling).

A line is an inline or a crossline of a 3D survey, or the one line of a 2D file (a 2D
line, a file holding a single inline or crossline, or traces in file order). It is
explained on its own: its amplitudes are scaled to [-1, 1] with the line's own
statistics and its patches never reach into the neighbouring lines, so lines can be
explained in any order, in any process.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from rather.common import Explainer

from .classes import CLASS_NAMES
from .patches import scale_to_unit
from .section import SeismicSection
from .sections import SectionExplanation, explain_section, line_name
from .segmentation import explain_segmentation
from .survey import Survey


def figure_name(kind: str, number: int | None) -> str:
    """The file name of a line's figure, e.g. ``figure_inline_120.png`` (``figure_line.png`` for a 2D line)."""
    return f"figure_{line_name(kind, number)}.png"


def read_line(survey: Survey, kind: str, number: int | None, samples: slice = slice(None)) -> SeismicSection:
    """Inline or crossline ``number`` of a 3D survey, or the one line of any other file, named ``kind number``.

    Only the sample indices ``samples`` are kept (a time window).

    The line of a 2D file is ``Survey.line()``: its traces in the order of its line
    numbers (crosslines along a single-inline file), or in file order when unstructured.
    """
    section = survey.section(kind, number) if survey.kind == "3d" else replace(survey.line(), kind=kind,
                                                                                  number=number)
    return section.cropped(samples)


def line_amplitude(survey: Survey, kind: str, number: int | None, samples: slice = slice(None)) -> SeismicSection:
    """The line as the classifier sees it: ``read_line`` scaled to [-1, 1] with the line's own statistics."""
    section = read_line(survey, kind, number, samples)
    return section.with_values(scale_to_unit(section.values))


def explain_line(survey: Survey, explainer: Explainer, kind: str, number: int | None, *, patch: int, stride: int,
                 class_names: tuple[str, ...] = CLASS_NAMES, samples: slice = slice(None),
                 dense: bool = False) -> SectionExplanation:
    """The explanation of a line (``line_amplitude``, samples ``samples``).

    The section is (samples, traces): time down, the other kind of line across.
    ``class_names`` are the classes of the model's logits, in order; ``dense``: the model is a
    segmentation network (per-pixel logits), explained per zone (``segmentation.explain_segmentation``)
    on windows of ``patch`` samples.
    """
    amplitude = line_amplitude(survey, kind, number, samples)
    explain = explain_segmentation if dense else explain_section
    return explain(explainer, amplitude.values, **({"window": patch} if dense else {"patch": patch}),
                   stride=stride, class_names=class_names)
