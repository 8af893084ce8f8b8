"""Section figures as interpreters read them: time down, line numbers along the top, maps laid over amplitude."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap

from rather.common import Kind
from rather.common.figures import new_figure, save_figure
from rather.common.storage import PathLike

from .section import SeismicSection
from .sections import SectionExplanation

CLASS_COLOURS = ("#4c72b0", "#dd8452", "#c44e52", "#8172b3", "#55a868", "#937860", "#da8bc3", "#8c8c8c",
                 "#ccb974", "#64b5cd")
"""One colour per class, in class order (the first four: horizon, chaotic, fault, salt dome); repeated past ten."""


def class_colours(count: int) -> ListedColormap:
    """The colour map of ``count`` classes."""
    return ListedColormap([CLASS_COLOURS[index % len(CLASS_COLOURS)] for index in range(count)])


def symmetric_clip(amplitude: np.ndarray, percentile: float = 99.0) -> float:
    """The colour limit +/- the given percentile of |amplitude| (1 for an all-zero section)."""
    limit = float(np.percentile(np.abs(amplitude), percentile))
    return limit if limit > 0 else 1.0


def plot_section(explained: SectionExplanation, section: SeismicSection, path: PathLike, *,
                 cmap: str = "seismic") -> Path:
    """Save amplitude | predicted class | one panel per question, time increasing downwards.

    ``section`` is the amplitude section explained (its values (H, W), as the classifier saw
    them); its trace numbers run along the x axis, its sample times down the y axis.
    """
    amplitude, traces, samples, title = section.values, section.traces, section.samples, section.title
    extent = (traces[0] - 0.5, traces[-1] + 0.5, samples[-1], samples[0])
    limit = symmetric_clip(amplitude)
    names, questions = explained.class_names, explained.questions
    panels = 2 + len(questions)
    columns = 4
    rows = -(-panels // columns)
    aspect = "auto"
    figure, axes = new_figure(rows, columns, figsize=(4.2 * columns, 3.6 * rows))
    flat = axes.ravel()
    flat[0].imshow(amplitude, cmap=cmap, vmin=-limit, vmax=limit, extent=extent, aspect=aspect)
    flat[0].set_title(f"{title}: amplitude", fontsize=9)
    shown = flat[1].imshow(explained.predicted, cmap=class_colours(len(names)), vmin=-0.5, vmax=len(names) - 0.5,
                           extent=extent, aspect=aspect, interpolation="nearest")
    colourbar = figure.colorbar(shown, ax=flat[1], ticks=range(len(names)), fraction=0.046)
    colourbar.ax.set_yticklabels(names, fontsize=7)
    flat[1].set_title("predicted class", fontsize=9)
    for axis, question, answer in zip(flat[2:], questions, explained.maps):
        axis.imshow(amplitude, cmap="gray", vmin=-limit, vmax=limit, extent=extent, aspect=aspect)
        axis.imshow(answer, cmap="jet", alpha=0.45, vmin=0, vmax=1, extent=extent, aspect=aspect)
        label = "Why P?" if question == Kind.WHY else f"Why P, rather than {question.removeprefix('rather_than_')}?"
        axis.set_title(label, fontsize=9)
    for axis in flat[:panels]:
        axis.set_xlabel(section.trace_key, fontsize=8)
        axis.set_ylabel("time (ms)", fontsize=8)
        axis.tick_params(labelsize=7)
    for axis in flat[panels:]:
        axis.set_axis_off()
    return save_figure(figure, path, dpi=90)
