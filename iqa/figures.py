"""The figure of a score contrast: distorted | reference | Why s? | Why s, rather than q? | its sides ...

Drawn for the report's page (``rather.common.figures``: ``width`` inches, as many panels
across as fit, each map panel with its colour bar and titled with its question).
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from rather.common import ExplanationResult
from rather.common.figures import (
    DEFAULT_CMAP, FONT, PAGE_WIDTH, colour_bar, display_copy, displayable, frame, packed, panel_caption, panel_layout,
    panel_lines, save_figure, title_width, wrapped,
)
from rather.common.storage import PathLike

SIDES_CMAP = "RdBu_r"
"""Diverging, even in lightness on both sides of white: the sign of the pull, not only its size."""


def plot_pair(result: ExplanationResult, distorted: np.ndarray, reference: Optional[np.ndarray], path: PathLike, *,
              remarks: Sequence[str] = (), sides: Optional[np.ndarray] = None, unit: str = "window",
              cmap: str = DEFAULT_CMAP, alpha: float = 0.5, width: float = PAGE_WIDTH) -> Path:
    """The distorted image, the reference (None: a no-reference model), then each question's map over the
    distorted image, each contrast's map followed by its side map (``sides`` (contrasts, H, W) in [-1, 1]): red
    where the evidence pulls the score above q, blue where it pulls it below; ``width`` inches wide.

    distorted, reference: (3, H, W) in [0, 1]; remarks: an optional line under each question's title.
    """
    shown, extent = displayable(distorted), frame(result.maps.shape)
    images = [("distorted" if reference is not None else "image", distorted)]
    images += [("reference", reference)] if reference is not None else []
    side_maps = list(sides) if sides is not None else []
    first = len(images) + 1  # the images and Why s?, then each contrast with its sides
    units = [first] + [2 if question <= len(side_maps) else 1 for question in range(1, result.n_questions)]
    lines = packed(units, panel_layout(sum(units), width)[0])
    height, breadth = result.maps.shape[-2:]
    figure, axes = panel_lines(lines, height / breadth, width)
    characters = title_width(figure, max(lines))
    cells = iter(axes)
    for number, ((name, image), axis) in enumerate(zip(images, cells)):
        axis.imshow(displayable(image), extent=extent)
        score = "" if number else f" (score {float(result.scores[0]):.3g})"  # the distorted image's
        axis.set_title(wrapped(name + score, characters), fontsize=FONT)
    for question in range(result.n_questions):
        axis = next(cells)
        axis.imshow(shown, extent=extent)
        layer = axis.imshow(display_copy(result.maps[0, question]), cmap=cmap, alpha=alpha, vmin=0, vmax=1,
                            extent=extent)
        colour_bar(figure, layer, axis)
        caption = panel_caption(result, 0, question)
        if question < len(remarks) and remarks[question]:
            caption += f"\n{remarks[question]}"
        axis.set_title(wrapped(caption, characters), fontsize=FONT)
        if 0 < question <= len(side_maps):  # a contrast: its sides next
            _plot_sides(figure, next(cells), shown, side_maps[question - 1], extent, result.title(0, question), unit,
                        characters)
    for axis in axes:
        axis.set_axis_off()
    return save_figure(figure, path)


def _plot_sides(figure, axis, shown: np.ndarray, side: np.ndarray, extent, question: str, unit: str,
                characters: int) -> None:
    """One contrast's side map over the image, with its colour bar from "below q" to "above q"."""
    axis.imshow(shown, extent=extent)
    layer = axis.imshow(display_copy(side), cmap=SIDES_CMAP, alpha=0.6, vmin=-1, vmax=1, extent=extent)
    bar = colour_bar(figure, layer, axis)
    bar.set_ticks([-1, 0, 1], labels=["below q", "0", "above q"])
    axis.set_title(wrapped(f"Sides of {question}\nred: {unit}s pulling s above q, blue: below", characters),
                   fontsize=FONT)
