"""Figures of an audit: the confusion matrix, mean deletion and insertion curves, ground-truth examples.

Each is drawn on its own Agg canvas (``rather.common.figures.new_figure``), never through pyplot,
for the report's page (``width`` inches, labels readable at 100 % zoom, a colour bar per map).
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from rather.common.figures import (
    DEFAULT_CMAP, FONT, PAGE_WIDTH, colour_bar, displayable, new_figure, panel_grid, panel_layout, save_figure,
    title_width, wrapped,
)
from rather.common.storage import PathLike


LABELLED = 40
"""Up to this many classes, the confusion matrix names each on its axes."""


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], path: PathLike, *,
                   width: float = PAGE_WIDTH) -> None:
    """Row-normalised confusion matrix (rows: true class), at most ``width`` inches wide; class names on the
    axes up to ``LABELLED`` classes, in a font that shrinks with their number but stays readable."""
    confusion = np.asarray(confusion, np.float64)
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    size = min(4 + 0.3 * len(class_names), width)
    figure, axes = new_figure(figsize=(size, size))
    axis = axes[0, 0]
    image = axis.imshow(rates, cmap="magma", vmin=0, vmax=1)
    if len(class_names) <= LABELLED:
        ticks = np.arange(len(class_names))
        labels = FONT - 1 if len(class_names) <= 20 else FONT - 2
        axis.set_xticks(ticks, class_names, rotation=90, fontsize=labels)
        axis.set_yticks(ticks, class_names, fontsize=labels)
    axis.set_xlabel("predicted", fontsize=FONT)
    axis.set_ylabel("true", fontsize=FONT)
    axis.set_title("Confusion: share of each true class predicted as each class", fontsize=FONT)
    colour_bar(figure, image, axis, "share of the true class")
    save_figure(figure, path)


def plot_curves(curves: dict, path: PathLike, *, width: float = PAGE_WIDTH) -> None:
    """Mean margin y_P - y_Q along deletion and insertion, one line per ranking map, ``width`` inches wide."""
    figure, axes = new_figure(1, 2, figsize=(width, width * 0.4))
    for axis, mode in zip(axes[0], ("deletion", "insertion")):
        for (kind, name), curve in curves.items():
            if kind == mode:
                axis.plot(curve.fractions.numpy(), curve.margin.mean(0).numpy(),
                          label=f"{name} (area {float(curve.area().mean()):.2f})")
        axis.set_title(f"{mode}: mean margin y_P - y_Q", fontsize=FONT)
        axis.set_xlabel(f"share of pixels {'deleted' if mode == 'deletion' else 'inserted'}", fontsize=FONT)
        axis.tick_params(labelsize=FONT - 1)
        axis.legend(fontsize=FONT - 1)
    save_figure(figure, path)


def plot_truth(figure_data: dict, class_names: Sequence[str], path: PathLike, rows: int = 4, *,
               width: float = PAGE_WIDTH) -> None:
    """Input | ground truth | Why P? | Why P, rather than Q? for the first ``rows`` images (correctly classified:
    the true class is P), ``width`` inches wide, each title naming the classes with their probabilities, wrapped,
    never cut, each map with its colour bar."""
    count = min(rows, len(figure_data["p"]))
    truth = figure_data.get("truth")
    columns = ["input", "ground truth", "gradcam", "contrast"] if truth is not None else ["input", "gradcam",
                                                                                         "contrast"]
    height, breadth = np.shape(figure_data["shown"][0])[-2:]
    figure, axes = panel_grid(count, len(columns), height / breadth, width)
    characters = title_width(figure, panel_layout(len(columns), width)[0])
    for row in range(count):
        shown = displayable(figure_data["shown"][row])
        p_index, q_index = int(figure_data["p"][row]), int(figure_data["q"][row])
        p, q = class_names[p_index], class_names[q_index]
        probs = figure_data["probs"][row]
        odds = f"p({p})={float(probs[p_index]):.2f}, p({q})={float(probs[q_index]):.2f}"
        for axis, column in zip(axes[row], columns):
            axis.imshow(shown)
            if column == "ground truth":
                mask = truth[row].numpy()
                axis.imshow(np.ma.masked_where(~mask, mask), cmap="autumn", alpha=0.9)
            elif column != "input":
                layer = figure_data["maps"][column][row]
                shown_map = axis.imshow(torch.as_tensor(layer).numpy(), cmap=DEFAULT_CMAP, alpha=0.5, vmin=0, vmax=1)
                colour_bar(figure, shown_map, axis)
            title = {"input": f"true class {p}, predicted {p}\n{odds}", "ground truth": f"where {p} differs from {q}",
                     "gradcam": f"Why {p}?\np({p})={float(probs[p_index]):.2f}",
                     "contrast": f"Why {p}, rather than {q}?\n{odds}"}[column]
            axis.set_title(wrapped(title, characters), fontsize=FONT)
            axis.set_axis_off()
    save_figure(figure, path)
