"""From raw maps to maps over the input: upsample, then normalise each map on its own.

Maps are (N, Q, h, w) over images, or (N, Q, d, h, w) over volumes (trilinear there).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class FeatureGrid:
    """Where a layer's cells sit on the input: cell (i, j) centred on (first[0] + spacing i, first[1] + spacing j).

    Input pixel k's centre is at k. Without a grid, maps are stretched over the input
    (Grad-CAM's resize): h cells over H pixels have first = (H / h - 1) / 2, spacing = H / h.
    ``trunks.feature_grid`` gives the true grid of a trunk of valid convolutions.
    """

    first: tuple[float, float]
    spacing: float


def upsample(raw: torch.Tensor, size: tuple[int, ...], grid: Optional[FeatureGrid] = None) -> torch.Tensor:
    """Bilinear resize of (N, Q, h, w) maps to a new (N, Q, *size) tensor (trilinear for (N, Q, d, h, w)).

    Without ``grid``: align_corners=False, the cells stretched over the input. With it (2-D only): the
    cells at their grid positions, linear in between and constant beyond the outer cells.
    """
    if grid is not None and raw.dim() == 4:
        rows, cols = (grid_matrix(size[axis], raw.shape[-2 + axis], grid, axis, raw.dtype).to(raw.device)
                      for axis in (0, 1))
        return torch.einsum("hi,nqij,wj->nqhw", rows, raw, cols).contiguous()  # einsum may hand back any layout
    if tuple(raw.shape[2:]) == tuple(size):
        return raw.clone()
    mode = "bilinear" if raw.dim() == 4 else "trilinear"
    return F.interpolate(raw, size=tuple(size), mode=mode, align_corners=False)


def normalise_(maps: torch.Tensor, spatial: int = 2) -> torch.Tensor:
    """In place: each map (its last ``spatial`` axes: 2 for (h, w), 3 for a volume) of a contiguous
    tensor to [0, 1] by exactly (m - min) / (max - min).

    No epsilon in the denominator: it would shift maps whose range is tiny. A
    constant map becomes zeros (its span is taken as infinite: 0 / inf = 0).
    """
    flat = maps.view(*maps.shape[:-spatial], -1)
    low = flat.amin(dim=-1, keepdim=True)  # two reductions: several times faster than torch.aminmax here
    span = flat.amax(dim=-1, keepdim=True) - low
    flat.sub_(low).div_(torch.where(span > 0, span, torch.inf))
    return maps


def normalise(maps: torch.Tensor, spatial: int = 2) -> torch.Tensor:
    """``normalise_`` on a copy."""
    return normalise_(maps.contiguous().clone(), spatial)


def interpolation_matrix(size_out: int, size_in: int, dtype: torch.dtype = torch.float64, *,
                         first: Optional[float] = None, spacing: Optional[float] = None) -> torch.Tensor:
    """(size_out, size_in) matrix R with R @ v = 1-D linear interpolation of v, as ``upsample`` does.

    Input sample j sits at output position first + spacing j; output sample o reads the input at
    s = (o - first) / spacing, clamped to [0, size_in - 1], with weights (1 - frac(s), frac(s)) on
    its two neighbours. The default (align_corners=False) stretches the input over the output:
    spacing = size_out / size_in, first = (spacing - 1) / 2, so s = (o + 1/2) size_in / size_out - 1/2.
    Bilinear resizing of a map m is R_h m R_w^T; the rows of R sum to 1.
    """
    if spacing is None:
        spacing = size_out / size_in
    if first is None:
        first = (spacing - 1) / 2
    source = ((torch.arange(size_out, dtype=torch.float64) - first) / spacing).clamp(min=0)
    low = source.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    fraction = source - low
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, low), 1 - fraction, accumulate=True)
    matrix.index_put_((rows, high), fraction, accumulate=True)
    return matrix.to(dtype)


def grid_matrix(size_out: int, size_in: int, grid: Optional[FeatureGrid], axis: int,
                dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """``interpolation_matrix`` along ``axis`` (0 rows, 1 columns) of ``grid``; stretched when it is None."""
    if grid is None:
        return interpolation_matrix(size_out, size_in, dtype)
    return interpolation_matrix(size_out, size_in, dtype, first=grid.first[axis], spacing=grid.spacing)
