"""Explaining one line of an open survey: its section maps and its figure.

A line (an inline or a crossline) is explained on its own: its amplitudes are scaled
to [-1, 1] with the line's own statistics and its patches never reach into the
neighbouring lines, so lines can be explained in any order, in any process.
"""
from __future__ import annotations

from pathlib import Path

from rather.common import Explainer

from .figures import plot_section
from .patches import scale_to_unit
from .sections import SectionExplanation, explain_section
from .survey import Survey


def figure_name(kind: str, number: int) -> str:
    """The file name of a line's figure, e.g. ``figure_inline_120.png``."""
    return f"figure_{kind}_{number}.png"


def explain_line(survey: Survey, explainer: Explainer, kind: str, number: int, *, patch: int, stride: int,
                 figures: Path) -> SectionExplanation:
    """The explanation of inline or crossline ``number``; its figure is written to ``figures / figure_name``.

    The section is (samples, traces): time down, the other kind of line across.
    """
    section = survey.section(kind, number)
    amplitude = section.with_values(scale_to_unit(section.values))
    explained = explain_section(explainer, amplitude.values, patch=patch, stride=stride)
    plot_section(explained, amplitude, Path(figures) / figure_name(kind, number))
    return explained
