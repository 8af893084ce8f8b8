"""Figures of an audit: the confusion matrix, mean deletion and insertion curves, ground-truth examples.

Each is drawn on its own Agg canvas (``rather.common.figures.new_figure``), never through pyplot.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from rather.common.figures import displayable, new_figure, save_figure, wrapped
from rather.common.storage import PathLike


def plot_confusion(confusion: np.ndarray, class_names: Sequence[str], path: PathLike) -> None:
    """Row-normalised confusion matrix (rows: true class); class names on the axes up to 40 classes."""
    confusion = np.asarray(confusion, np.float64)
    rates = confusion / np.maximum(confusion.sum(1, keepdims=True), 1)
    size = min(4 + 0.35 * len(class_names), 20)
    figure, axes = new_figure(figsize=(size, size))
    axis = axes[0, 0]
    image = axis.imshow(rates, cmap="magma", vmin=0, vmax=1)
    if len(class_names) <= 40:
        ticks = np.arange(len(class_names))
        axis.set_xticks(ticks, class_names, rotation=90, fontsize=7)
        axis.set_yticks(ticks, class_names, fontsize=7)
    axis.set_xlabel("predicted")
    axis.set_ylabel("true")
    figure.colorbar(image, ax=axis, fraction=0.046, label="share of the true class")
    save_figure(figure, path)


def plot_curves(curves: dict, path: PathLike) -> None:
    """Mean margin y_P - y_Q along deletion and insertion, one line per ranking map."""
    figure, axes = new_figure(1, 2, figsize=(10, 4))
    for axis, mode in zip(axes[0], ("deletion", "insertion")):
        for (kind, name), curve in curves.items():
            if kind == mode:
                axis.plot(curve.fractions.numpy(), curve.margin.mean(0).numpy(),
                          label=f"{name} (area {float(curve.area().mean()):.2f})")
        axis.set_title(f"{mode}: mean margin y_P - y_Q")
        axis.set_xlabel(f"share of pixels {'deleted' if mode == 'deletion' else 'inserted'}")
        axis.legend()
    save_figure(figure, path)


def plot_truth(figure_data: dict, class_names: Sequence[str], path: PathLike, rows: int = 4) -> None:
    """Input | ground truth | Why P? | Why P, rather than Q? for the first ``rows`` images (correctly classified:
    the true class is P), each title naming the classes with their probabilities, wrapped, never cut."""
    count = min(rows, len(figure_data["p"]))
    truth = figure_data.get("truth")
    columns = ["input", "ground truth", "gradcam", "contrast"] if truth is not None else ["input", "gradcam",
                                                                                         "contrast"]
    figure, axes = new_figure(count, len(columns), figsize=(3.2 * len(columns), 4.0 * count))
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
                axis.imshow(torch.as_tensor(layer).numpy(), cmap="jet", alpha=0.5, vmin=0, vmax=1)
            title = {"input": f"true class {p}, predicted {p}\n{odds}", "ground truth": f"where {p} differs from {q}",
                     "gradcam": f"Why {p}?", "contrast": f"Why {p}, rather than {q}?\n{odds}"}[column]
            axis.set_title(wrapped(title, 32), fontsize=7)
            axis.set_axis_off()
    save_figure(figure, path)
