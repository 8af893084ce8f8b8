"""Section figures as interpreters read them: time down, line numbers along the top, maps laid over amplitude."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.colors import ListedColormap

from rather.common import Kind
from rather.common.figures import new_figure, save_figure
from rather.common.storage import PathLike

from .classes import CLASS_NAMES
from .section import SeismicSection
from .sections import QUESTIONS, SectionExplanation

CLASS_COLOURS = ListedColormap(["#4c72b0", "#dd8452", "#c44e52", "#8172b3"])


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
    panels = 2 + len(QUESTIONS)
    columns = 4
    rows = -(-panels // columns)
    aspect = "auto"
    figure, axes = new_figure(rows, columns, figsize=(4.2 * columns, 3.6 * rows))
    flat = axes.ravel()
    flat[0].imshow(amplitude, cmap=cmap, vmin=-limit, vmax=limit, extent=extent, aspect=aspect)
    flat[0].set_title(f"{title}: amplitude", fontsize=9)
    shown = flat[1].imshow(explained.predicted, cmap=CLASS_COLOURS, vmin=-0.5, vmax=len(CLASS_NAMES) - 0.5,
                           extent=extent, aspect=aspect, interpolation="nearest")
    colourbar = figure.colorbar(shown, ax=flat[1], ticks=range(len(CLASS_NAMES)), fraction=0.046)
    colourbar.ax.set_yticklabels(CLASS_NAMES, fontsize=7)
    flat[1].set_title("predicted class", fontsize=9)
    for axis, question, answer in zip(flat[2:], QUESTIONS, explained.maps):
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
