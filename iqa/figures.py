"""The figure of a score contrast: distorted | reference | Why s? | Why s, rather than q? ..."""
from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Optional, Sequence

import numpy as np

from rather.common import ExplanationResult
from rather.common.figures import display_copy, displayable, frame, new_figure, panel_caption, save_figure
from rather.common.storage import PathLike


def plot_pair(result: ExplanationResult, distorted: np.ndarray, reference: Optional[np.ndarray], path: PathLike, *,
              remarks: Sequence[str] = (), sides: Optional[np.ndarray] = None, unit: str = "window",
              cmap: str = "jet", alpha: float = 0.5) -> Path:
    """The distorted image, the reference (None: a no-reference model), then each question's map over the distorted
    image; below each contrast's map, its side map (``sides`` (contrasts, H, W) in [-1, 1]): red where the evidence
    pulls the score above q, blue where it pulls it below.

    distorted, reference: (3, H, W) in [0, 1]; remarks: an optional line under each question's title.
    """
    shown, extent = displayable(distorted), frame(result.maps.shape)
    images = [("distorted" if reference is not None else "image", distorted)]
    images += [("reference", reference)] if reference is not None else []
    panels = len(images) + result.n_questions
    rows = 1 if sides is None or not len(sides) else 2
    figure, grid = new_figure(rows, panels, figsize=(3.2 * panels, 3.9 * rows))
    axes = grid[0]
    for axis, (name, image) in zip(axes, images):
        axis.imshow(displayable(image), extent=extent)
        axis.set_title(name + (f" (score {float(result.scores[0]):.3g})" if image is distorted else ""), fontsize=9)
    for question, axis in enumerate(axes[len(images):]):
        axis.imshow(shown, extent=extent)
        axis.imshow(display_copy(result.maps[0, question]), cmap=cmap, alpha=alpha, vmin=0, vmax=1, extent=extent)
        caption = panel_caption(result, 0, question)
        if question < len(remarks) and remarks[question]:
            caption += f"\n{remarks[question]}"
        axis.set_title("\n".join(textwrap.fill(line, 34) for line in caption.splitlines()), fontsize=8)
    if rows == 2:
        first = len(images) + 1  # the first contrast's column
        for side, axis in zip(sides, grid[1][first:]):
            axis.imshow(shown, extent=extent)
            axis.imshow(display_copy(side), cmap="RdBu_r", alpha=0.6, vmin=-1, vmax=1, extent=extent)
            axis.set_title(f"red: {unit}s pull the score above q\nblue: {unit}s pull it below q", fontsize=8)
    for axis in grid.ravel():
        axis.set_axis_off()
    return save_figure(figure, path)
