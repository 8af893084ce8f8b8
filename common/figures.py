"""Figures: the input, then one panel per question with its map laid over the input.

Every figure is drawn on its own Agg canvas (``new_figure``): no pyplot, so importing or
drawing leaves matplotlib's backend and pyplot's figures as the caller had them, and a
figure is freed like any object once saved.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .images import block_mean
from .questions import Task
from .results import ExplanationResult
from .storage import PathLike, atomic_path


MAX_SHOWN = 1024
"""The longest side, in pixels, of an image or map as drawn: larger ones are shown block-averaged."""


def display_copy(image) -> np.ndarray:
    """(C, H, W) or (H, W) array or tensor -> float64 of the same rank, block-averaged by the smallest whole factor
    that brings its longer side to at most ``MAX_SHOWN`` (a figure's pixels are bounded, whatever the input's)."""
    array = np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image)
    planes = array if array.ndim == 3 else array[None]
    factor = math.ceil(max(planes.shape[1:]) / MAX_SHOWN)
    planes = block_mean(planes, factor) if factor > 1 else planes.astype(np.float64)
    return planes if array.ndim == 3 else planes[0]


def frame(shape: Sequence[int]) -> tuple[float, float, float, float]:
    """The imshow extent of an (..., H, W) array in its own pixel coordinates: layers drawn with the same frame
    line up, whatever their resolution (a map over an input of another size, a shrunk copy)."""
    height, width = shape[-2:]
    return -0.5, width - 0.5, height - 0.5, -0.5


def displayable(image) -> np.ndarray:
    """(C, H, W) or (H, W) array -> (H, W) or (H, W, 3) in [0, 1] by min-max, for showing (``display_copy``)."""
    if image.ndim == 3:
        image = image[:1] if image.shape[0] == 1 else image[:3]
    array = display_copy(image)
    if array.ndim == 3:
        array = array[0] if array.shape[0] == 1 else np.moveaxis(array, 0, -1)
    low, high = array.min(), array.max()
    return (array - low) / (high - low) if high > low else np.zeros_like(array)


def panel_caption(result: ExplanationResult, index: int, question: int) -> str:
    """The question, then the probabilities (or scores) it is about."""
    title = result.title(index, question)
    if result.task != Task.CLASS:
        return title
    probs = result.probs[index]
    p, q = int(result.p[index, question]), int(result.q[index, question])
    detail = f"p({result.name_of(p)})={probs[p]:.2f}"
    if q >= 0 and q != p:
        detail += f", p({result.name_of(q)})={probs[q]:.2f}"
    return f"{title}\n{detail}"


def plot_explanation(
    result: ExplanationResult,
    images,
    path: PathLike,
    *,
    indices: Sequence[int] = (0,),
    questions: Optional[Sequence[int]] = None,
    cmap: str = "jet",
    alpha: float = 0.5,
    truths: Optional[Sequence[str]] = None,
) -> Path:
    """Save a PNG with one row per input: ``input | map 1 | map 2 | ...``.

    images: what to show for each input of ``result``, (N, C, H, W) or (N, H, W);
    indices: which inputs (rows); questions: which question columns (default all);
    truths: each input's true class, named on its input panel when known.
    """
    columns = list(range(result.n_questions)) if questions is None else list(questions)
    rows = list(indices)
    figure, axes = new_figure(len(rows), len(columns) + 1, figsize=(3.2 * (len(columns) + 1), 3.9 * len(rows)))
    for row, index in zip(axes, rows):
        shown, extent = displayable(images[index]), frame(result.maps.shape)
        gray = "gray" if shown.ndim == 2 else None
        row[0].imshow(shown, cmap=gray, extent=extent)
        heading = f"input {result.ids[index]}" + (f"\ntrue class: {truths[index]}" if truths is not None else "")
        row[0].set_title(wrapped(heading), fontsize=8)
        for axis, question in zip(row[1:], columns):
            axis.imshow(shown, cmap=gray, extent=extent)
            axis.imshow(display_copy(result.maps[index, question]), cmap=cmap, alpha=alpha, vmin=0, vmax=1,
                        extent=extent)
            caption = panel_caption(result, index, question)
            axis.set_title(wrapped(caption), fontsize=8)
        for axis in row:
            axis.set_axis_off()
    return save_figure(figure, path)


def wrapped(text: str, width: int = 34) -> str:
    """A panel title wrapped line by line at ``width`` characters (never cut)."""
    return "\n".join(textwrap.fill(line, width, break_long_words=True) for line in text.splitlines())


def new_figure(rows: int = 1, columns: int = 1, *, figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A figure on its own Agg canvas and its (rows, columns) array of axes; pyplot never sees it."""
    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False)


def save_figure(figure: Figure, path: PathLike, dpi: int = 100) -> Path:
    """Lay out and write ``figure`` (made by ``new_figure``) as PNG, atomically."""
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")
    return Path(path)
