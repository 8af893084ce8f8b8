"""Figures: the input, then one panel per question with its map laid over the input.

Each map panel has its colour bar, in a perceptually uniform colour map (``DEFAULT_CMAP``),
is titled with its question (P and Q named), and a blank map's panel says so (``BLANK``);
where a question was not asked (outside its region) the panel is hatched. Figures are drawn
for the report's page: ``width`` inches (``PAGE_WIDTH``, the page's column at ``DPI``), as
many panels across as fit at ``PANEL_MIN`` inches or more, the rest on further rows, so the
page shows them at their own size and their ``FONT`` point titles read at 100 % zoom. The
plotting functions return the figure (a notebook shows it) and write it as PNG when given a
path; ``overlay`` gives one map over its image as an RGB array.

Every figure is drawn on its own Agg canvas (``new_figure``): no pyplot, so importing or
drawing leaves matplotlib's backend and pyplot's figures as the caller had them, and a
figure is freed like any object once saved.
"""
from __future__ import annotations

import math
import textwrap
from pathlib import Path
from typing import Optional, Sequence

import matplotlib
import numpy as np
import torch
import torch.nn.functional as F
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from .errors import BadInput
from .images import block_mean
from .questions import Task
from .results import ExplanationResult
from .storage import PathLike, atomic_path
from .uncertainty import Uncertainty


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


BLANK = "no positive evidence at this layer"
"""A blank map's panel says so (the result's notes name the input, the question and the layer)."""

DEFAULT_CMAP = "inferno"
"""Perceptually uniform: equal steps in a map's value look like equal steps in colour, also in grey."""


PAGE_WIDTH = 11.0
"""Inches: the report's column (1100 pixels, ``rather.suites.report``'s max-width) at ``DPI``."""
DPI = 100
"""Pixels per inch of a written figure: one figure pixel is one page pixel at 100 % zoom."""
FONT = 10
"""Points of a panel's title (about 14 pixels at ``DPI``); tick and colour bar labels are one point smaller."""
PANEL_MIN, PANEL_MAX = 2.6, 3.6
"""Inches: the narrowest and the widest a panel is drawn."""
TITLE_LINES = 3
"""Lines of title room above each panel (a question, its probabilities, a remark)."""
NOT_ASKED = "///"
"""The hatching over a region where no question was asked."""


def panel_layout(panels: int, width: float = PAGE_WIDTH) -> tuple[int, float]:
    """(panels across, panel width in inches) for ``panels`` panels in a figure ``width`` inches wide: as many
    across as fit at ``PANEL_MIN`` inches each (at least one), each at most ``PANEL_MAX`` wide."""
    if not width > 0:
        raise BadInput(f"a figure's width must be a positive number of inches; got {width!r}")
    across = max(1, min(panels, int(width // PANEL_MIN)))
    return across, min(width / across, PANEL_MAX)


def packed(units: Sequence[int], across: int) -> list[int]:
    """Panels per line: groups of ``units`` panels, in order, each kept on one line where it fits in ``across``
    (a map and its companion side by side), a line filled while the next group fits, a group wider than a line
    wrapped over full lines."""
    lines: list[int] = []
    for unit in units:
        if lines and lines[-1] + unit <= across:
            lines[-1] += unit
            continue
        lines += [across] * (unit // across) + ([unit % across] if unit % across else [])
    return lines


def panel_lines(lines: Sequence[int], aspect: float, width: float = PAGE_WIDTH) -> tuple[Figure, list]:
    """A figure with ``lines[i]`` panels on line i, panels of height/width ``aspect`` under ``TITLE_LINES``
    lines of title, as wide as ``panel_layout`` makes them for the longest line; every panel's axes in order,
    line by line (the grid's unused cells removed)."""
    across, side = panel_layout(max(lines), width)
    height = side * min(max(aspect, 0.3), 2.0) + TITLE_LINES * FONT / 72 * 1.4 + 0.2
    figure, axes = new_figure(len(lines), across, figsize=(across * side, len(lines) * height))
    kept = []
    for row, count in zip(axes, lines):
        for axis in row[count:]:
            axis.remove()
        kept += list(row[:count])
    return figure, kept


def panel_grid(rows: int, panels: int, aspect: float, width: float = PAGE_WIDTH) -> tuple[Figure, np.ndarray]:
    """A figure of ``rows`` groups of ``panels`` panels each (a group wraps onto as many lines as ``panel_layout``
    needs), panels of height/width ``aspect``; the axes as an array (rows, panels)."""
    across, _ = panel_layout(panels, width)
    figure, axes = panel_lines(packed([panels], across) * rows, aspect, width)
    return figure, np.array(axes, dtype=object).reshape(rows, panels)


def title_width(figure: Figure, panels_across: int) -> int:
    """Characters of a ``FONT`` point title line that fit over one of ``panels_across`` panels of ``figure``
    (four fifths of its width: a colour bar takes the rest)."""
    inches = figure.get_figwidth() / panels_across * 0.8
    return max(16, int(inches * 72 / (FONT * 0.56)))


def colour_bar(figure: Figure, layer, axis, label: Optional[str] = None):
    """A colour bar beside ``axis`` for its ``layer`` (what imshow returned), labels readable at the page's size."""
    bar = figure.colorbar(layer, ax=axis, fraction=0.046, pad=0.02)
    bar.ax.tick_params(labelsize=FONT - 1)
    if label:
        bar.set_label(label, fontsize=FONT - 1)
    return bar


def hatch_not_asked(axis, asked, extent: tuple[float, float, float, float]) -> None:
    """Hatch the part of ``axis`` where ``asked`` ((H, W) bool, drawn over ``extent``) is False: no question
    was asked there, so the map there means nothing (not "no evidence")."""
    outside = ~np.asarray(asked, dtype=bool)
    if outside.any():
        axis.contourf(outside.astype(np.float64), levels=[0.5, 1.5], colors="none", hatches=[NOT_ASKED],
                      extent=extent, origin="upper")


def panel_caption(result: ExplanationResult, index: int, question: int) -> str:
    """The question, then the probabilities (or scores) it is about; then ``BLANK`` if its map is all zero."""
    title = result.title(index, question)
    blank = f"\n{BLANK}" if result.blank()[index, question] else ""
    if result.task != Task.CLASS:
        return title + blank
    probs = result.probs[index]
    p, q = int(result.p[index, question]), int(result.q[index, question])
    detail = f"p({result.name_of(p)})={probs[p]:.2f}"
    if q >= 0 and q != p:
        detail += f", p({result.name_of(q)})={probs[q]:.2f}"
    return f"{title}\n{detail}{blank}"


def plot_explanation(
    result: ExplanationResult,
    images,
    path: Optional[PathLike] = None,
    *,
    indices: Sequence[int] = (0,),
    questions: Optional[Sequence[int]] = None,
    cmap: str = DEFAULT_CMAP,
    alpha: float = 0.5,
    truths: Optional[Sequence[str]] = None,
    asked=None,
    width: float = PAGE_WIDTH,
) -> Figure:
    """Per input: ``input | map 1 | map 2 | ...``, each map with its colour bar, as many panels across as fit in
    ``width`` inches (the rest on the next line); the figure, also written as PNG to ``path`` when one is given
    (a notebook shows the returned figure).

    images: what to show for each input of ``result``, (N, C, H, W) or (N, H, W);
    indices: which inputs; questions: which question columns (default all);
    truths: each input's true class, named on its input panel when known;
    asked: where the questions were asked (the region of ``Why(region=R)``), (H, W) or (N, H, W) bool: the
    rest of each map panel is hatched.
    """
    columns = list(range(result.n_questions)) if questions is None else list(questions)
    rows = list(indices)
    height, breadth = result.maps.shape[-2:]
    figure, groups = panel_grid(len(rows), len(columns) + 1, height / breadth, width)
    characters = title_width(figure, panel_layout(len(columns) + 1, width)[0])
    for cells, index in zip(groups, rows):
        shown, extent = displayable(images[index]), frame(result.maps.shape)
        gray = "gray" if shown.ndim == 2 else None
        cells[0].imshow(shown, cmap=gray, extent=extent)
        heading = f"input {result.ids[index]}" + (f"\ntrue class: {truths[index]}" if truths is not None else "")
        cells[0].set_title(wrapped(heading, characters), fontsize=FONT)
        region = None if asked is None else np.asarray(asked)[index] if np.ndim(asked) == 3 else asked
        for axis, question in zip(cells[1:], columns):
            axis.imshow(shown, cmap=gray, extent=extent)
            layer = axis.imshow(display_copy(result.maps[index, question]), cmap=cmap, alpha=alpha, vmin=0, vmax=1,
                                extent=extent)
            if region is not None:
                hatch_not_asked(axis, region, extent)
            colour_bar(figure, layer, axis)
            axis.set_title(wrapped(panel_caption(result, index, question), characters), fontsize=FONT)
        for axis in cells:
            axis.set_axis_off()
    return finished(figure, path)


def overlay(image, heat, *, cmap: str = DEFAULT_CMAP, alpha: float = 0.5) -> np.ndarray:
    """An RGB array (H, W, 3), float64 in [0, 1]: ``heat`` in colour laid over ``image``, for notebooks and files.

    image: greyscale (H, W) or (1, H, W), or RGB (3, H, W) or (H, W, 3), array or tensor, shown
    min-max stretched to [0, 1] as the figures show it; heat: (h, w), a map in [0, 1] (values
    outside are clipped), resized bilinearly to (H, W) when its size differs (a map over a
    resized input lands on the original image). Each pixel is (1 - alpha) image + alpha colour.
    """
    picture = _rgb(image)
    if not 0 <= alpha <= 1:
        raise BadInput(f"overlay alpha must be from 0 to 1 (the share of the map's colour); got {alpha!r}")
    heat = torch.as_tensor(np.asarray(heat.detach().cpu() if isinstance(heat, torch.Tensor) else heat),
                           dtype=torch.float64)
    if heat.dim() != 2 or heat.numel() == 0:
        raise BadInput(f"overlay needs one map of shape (H, W); got shape {tuple(heat.shape)}")
    if not torch.isfinite(heat).all():
        raise BadInput("the map to overlay holds NaN or Inf; give a map in [0, 1] (ExplanationResult.maps)")
    if tuple(heat.shape) != picture.shape[:2]:
        heat = F.interpolate(heat[None, None], size=picture.shape[:2], mode="bilinear", align_corners=False)[0, 0]
    try:
        colours = matplotlib.colormaps[cmap]
    except KeyError:
        raise BadInput(f"unknown colour map '{cmap}'; use a matplotlib name such as inferno or viridis") from None
    coloured = colours(heat.clamp(0, 1).numpy())[..., :3]
    return (1 - alpha) * picture + alpha * coloured


def _rgb(image) -> np.ndarray:
    """An image (H, W), (1 | 3, H, W) or (H, W, 1 | 3) as (H, W, 3) float64, min-max stretched to [0, 1]."""
    array = np.asarray(image.detach().cpu() if isinstance(image, torch.Tensor) else image, dtype=np.float64)
    if array.ndim == 3 and array.shape[0] in (1, 3):
        array = np.moveaxis(array, 0, -1)
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 3) or array.size == 0:
        raise BadInput(f"overlay needs a greyscale (H, W) or RGB (3, H, W) / (H, W, 3) image; got shape "
                       f"{tuple(array.shape)}")
    if not np.isfinite(array).all():
        raise BadInput("the image to overlay holds NaN or Inf; clean or mask it first")
    low, high = array.min(), array.max()
    array = (array - low) / (high - low) if high > low else np.zeros_like(array)
    return np.repeat(array, 3, axis=-1) if array.shape[-1] == 1 else array


def plot_uncertainty(uncertainty: Uncertainty, images, path: Optional[PathLike] = None, *,
                     indices: Optional[Sequence[int]] = None, cmap: str = DEFAULT_CMAP,
                     width: float = PAGE_WIDTH) -> Figure:
    """One row per input: ``input | VOICE map``, the map in its own units (a variance, colour bar from 0
    to the largest value shown) with its GradTrust score, drawn ``width`` inches wide at most; the figure,
    also written to ``path`` if given."""
    result = uncertainty.result
    rows = list(range(result.maps.shape[0])) if indices is None else list(indices)
    top = max(float(uncertainty.voice[rows].max()), 1e-12)
    height, breadth = result.maps.shape[-2:]
    figure, groups = panel_grid(len(rows), 2, height / breadth, width)
    characters = title_width(figure, panel_layout(2, width)[0])
    for row, index in zip(groups, rows):
        shown, extent = displayable(images[index]), frame(result.maps.shape)
        row[0].imshow(shown, cmap="gray" if shown.ndim == 2 else None, extent=extent)
        row[0].set_title(wrapped(f"input {result.ids[index]}: P = {result.name_of(result.p[index, 0])}", characters),
                         fontsize=FONT)
        layer = row[1].imshow(display_copy(uncertainty.voice[index]), cmap=cmap, vmin=0, vmax=top, extent=extent)
        colour_bar(figure, layer, row[1], "variance of the contrast maps")
        count = int(uncertainty.contrasts[index].sum())
        caption = (f"VOICE over {count} contrast(s) with p > {uncertainty.threshold:g}\n"
                   f"GradTrust {float(uncertainty.trust[index]):.3f} (top {uncertainty.k})")
        row[1].set_title(wrapped(caption, characters), fontsize=FONT)
        for axis in row:
            axis.set_axis_off()
    return finished(figure, path)


def wrapped(text: str, width: int = 34) -> str:
    """A panel title wrapped line by line at ``width`` characters (never cut)."""
    return "\n".join(textwrap.fill(line, width, break_long_words=True) for line in text.splitlines())


def new_figure(rows: int = 1, columns: int = 1, *, figsize: tuple[float, float]) -> tuple[Figure, np.ndarray]:
    """A figure on its own Agg canvas and its (rows, columns) array of axes; pyplot never sees it."""
    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure, figure.subplots(rows, columns, squeeze=False)


def finished(figure: Figure, path: Optional[PathLike] = None) -> Figure:
    """``figure`` laid out, and written as PNG to ``path`` when one is given (``save_figure``)."""
    if path is None:
        figure.tight_layout()
    else:
        save_figure(figure, path)
    return figure


def save_figure(figure: Figure, path: PathLike, dpi: int = DPI) -> Path:
    """Lay out and write ``figure`` (made by ``new_figure``) as PNG, atomically."""
    figure.tight_layout()
    with atomic_path(path) as temporary:
        figure.savefig(temporary, dpi=dpi, format="png")
    return Path(path)
