"""Section figures as interpreters read them: time down, line numbers along the top, maps laid over amplitude.

One figure per line, sized for a page (``width`` in inches; fonts are set in points, so
they read at that width): the amplitude in grey, the predicted class, the labels when the
survey has them, and one panel per question, whose title names the question and the
classes P stands for. The maps are drawn in a perceptually uniform colour map over the grey
amplitude, each with its colour bar, and samples where the question was not asked (NaN)
are hatched, never shown as "no evidence".
"""
from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np
from matplotlib.colors import ListedColormap

from rather.common import Kind
from rather.common.figures import new_figure, save_figure
from rather.common.storage import PathLike

from .scaling import Scaling
from .section import SeismicSection
from .sections import SectionExplanation

CLASS_COLOURS = ("#4c72b0", "#dd8452", "#c44e52", "#8172b3", "#55a868", "#937860", "#da8bc3", "#8c8c8c",
                 "#ccb974", "#64b5cd")
"""One colour per class, in class order (the first four: horizon, chaotic, fault, salt dome); repeated past ten."""
PAGE_WIDTH = 7.5
"""Inches: a page's text width, the default width of a section figure."""
MAP_COLOURS = "inferno"
"""The maps' colour map: perceptually uniform, dark for no evidence, so the grey amplitude shows through."""
COLUMNS = 3
FONT = 8
"""Points: titles and labels; tick labels are one point smaller."""


def class_colours(count: int) -> ListedColormap:
    """The colour map of ``count`` classes."""
    return ListedColormap([CLASS_COLOURS[index % len(CLASS_COLOURS)] for index in range(count)])


def symmetric_clip(amplitude: np.ndarray, percentile: float = 99.0) -> float:
    """The colour limit +/- the given percentile of |amplitude| (1 for an all-zero section)."""
    limit = float(np.percentile(np.abs(amplitude), percentile))
    return limit if limit > 0 else 1.0


def question_title(question: str, class_names: Sequence[str], patch_classes: np.ndarray) -> str:
    """The question with what P stands for: e.g. "Why P, rather than fault?" over "P: horizon 71 %, chaotic 29 %".

    P is each patch's predicted class; the shares are those of the patches the question was
    asked of (for "rather than Q", the patches not predicted Q), the two largest at most.
    """
    other = question.removeprefix("rather_than_")
    asked = patch_classes.ravel()
    if question != Kind.WHY.value:
        asked = asked[asked != list(class_names).index(other)]
    counts = np.bincount(asked, minlength=len(class_names))
    order = [index for index in np.argsort(-counts, kind="stable")[:2] if counts[index]]
    shares = ", ".join(f"{class_names[index]} {100 * counts[index] / counts.sum():.0f} %" for index in order)
    head = "Why P?" if question == Kind.WHY.value else f"Why P, rather than {other}?"
    return f"{head}\nP: {shares or 'never asked here'}"


def plot_section(explained: SectionExplanation, section: SeismicSection, path: PathLike, *,
                 values: Optional[np.ndarray] = None, questions: Optional[Sequence[str]] = None,
                 scaling: Scaling = Scaling("section"), labels: Optional[np.ndarray] = None,
                 width: float = PAGE_WIDTH) -> Path:
    """Save amplitude | predicted class | labels (if given) | one panel per question, time increasing downwards.

    ``section`` is the amplitude section explained (its values (H, W), as the classifier saw
    them); its trace numbers run along the x axis, its sample times down the y axis.
    ``values``: the maps as the outputs hold them (1 + C, H, W), NaN where not asked
    (default: ``scaling.apply(explained)``); ``questions``: the ones to draw (default: all);
    ``labels``: the line's class labels (H, W), drawn like the predicted class. ``width``:
    the figure's width in inches, for the page it is read on.
    """
    names, every = explained.class_names, explained.questions
    values = scaling.apply(explained) if values is None else values
    questions = every if questions is None else tuple(questions)
    amplitude, traces, samples = section.values, section.traces, section.samples
    extent = (traces[0] - 0.5, traces[-1] + 0.5, samples[-1], samples[0])
    limit = symmetric_clip(amplitude)
    classes = [("predicted class", explained.predicted)] + ([] if labels is None else [("labels", labels)])
    panels = 1 + len(classes) + len(questions)
    rows = -(-panels // COLUMNS)
    figure, axes = new_figure(rows, COLUMNS, figsize=(width, width / COLUMNS * 0.95 * rows))
    flat = axes.ravel()
    shown = dict(extent=extent, aspect="auto")
    flat[0].imshow(amplitude, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest", **shown)
    flat[0].set_title(f"{section.title}: amplitude", fontsize=FONT)
    for axis, (title, classified) in zip(flat[1:], classes):
        image = axis.imshow(classified, cmap=class_colours(len(names)), vmin=-0.5, vmax=len(names) - 0.5,
                            interpolation="nearest", **shown)
        bar = figure.colorbar(image, ax=axis, ticks=range(len(names)), fraction=0.05, pad=0.02)
        bar.ax.set_yticklabels(names, fontsize=FONT - 1)
        axis.set_title(title, fontsize=FONT)
    for axis, question in zip(flat[1 + len(classes):], questions):
        answer = values[every.index(question)]
        axis.imshow(amplitude, cmap="gray", vmin=-limit, vmax=limit, interpolation="nearest", **shown)
        top = 1.0 if scaling.how != "none" else float(np.nanmax(answer, initial=0.0)) or 1.0
        image = axis.imshow(answer, cmap=MAP_COLOURS, alpha=0.6, vmin=0, vmax=top, interpolation="nearest", **shown)
        _hatch(axis, np.isnan(answer), traces, samples)
        bar = figure.colorbar(image, ax=axis, fraction=0.05, pad=0.02)
        bar.solids.set_alpha(1)
        bar.ax.tick_params(labelsize=FONT - 1)
        bar.set_label({"volume": "scaled over the run", "section": "scaled per line", "none": "raw"}[scaling.how],
                      fontsize=FONT - 1)
        axis.set_title(question_title(question, names, explained.patch_classes), fontsize=FONT)
    for axis in flat[:panels]:
        axis.set_xlabel(section.trace_key, fontsize=FONT)
        axis.set_ylabel("time (ms)", fontsize=FONT)
        axis.tick_params(labelsize=FONT - 1)
    for axis in flat[panels:]:
        axis.set_axis_off()
    return save_figure(figure, path, dpi=150)


def _hatch(axis, missing: np.ndarray, traces: np.ndarray, samples: np.ndarray) -> None:
    """Hatch the samples that are ``missing`` (not asked), over whatever the panel shows."""
    if not missing.any():
        return
    limits = axis.get_xlim(), axis.get_ylim()
    axis.contourf(traces, samples, missing.astype(np.float32), levels=[0.5, 1.5], colors="none",
                  hatches=["////"])
    axis.set_xlim(limits[0])
    axis.set_ylim(limits[1])
