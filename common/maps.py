"""From raw maps to maps over the input: upsample, then normalise each map on its own."""
from __future__ import annotations

import torch
import torch.nn.functional as F


def upsample(raw: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear (align_corners=False) resize of (N, Q, h, w) maps to a new (N, Q, *size) tensor."""
    if tuple(raw.shape[-2:]) == tuple(size):
        return raw.clone()
    return F.interpolate(raw, size=tuple(size), mode="bilinear", align_corners=False)


def normalise_(maps: torch.Tensor) -> torch.Tensor:
    """In place: each (h, w) map of a contiguous tensor to [0, 1] by exactly (m - min) / (max - min).

    No epsilon in the denominator: it would shift maps whose range is tiny. A
    constant map becomes zeros (its span is taken as infinite: 0 / inf = 0).
    """
    flat = maps.view(*maps.shape[:-2], -1)
    low = flat.amin(dim=-1, keepdim=True)  # two reductions: several times faster than torch.aminmax here
    span = flat.amax(dim=-1, keepdim=True) - low
    flat.sub_(low).div_(torch.where(span > 0, span, torch.inf))
    return maps


def normalise(maps: torch.Tensor) -> torch.Tensor:
    """``normalise_`` on a copy."""
    return normalise_(maps.contiguous().clone())


def interpolation_matrix(size_out: int, size_in: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """(size_out, size_in) matrix R with R @ v = 1-D linear interpolation of v, as ``upsample`` does.

    align_corners=False: output sample o reads the input at s = (o + 1/2) size_in / size_out - 1/2,
    clamped to [0, size_in - 1], with weights (1 - frac(s), frac(s)) on its two neighbours. Bilinear
    resizing of a map m is R_h m R_w^T; the rows of R sum to 1.
    """
    source = ((torch.arange(size_out, dtype=torch.float64) + 0.5) * (size_in / size_out) - 0.5).clamp(min=0)
    low = source.floor().long().clamp(max=size_in - 1)
    high = (low + 1).clamp(max=size_in - 1)
    fraction = source - low
    matrix = torch.zeros(size_out, size_in, dtype=torch.float64)
    rows = torch.arange(size_out)
    matrix.index_put_((rows, low), 1 - fraction, accumulate=True)
    matrix.index_put_((rows, high), fraction, accumulate=True)
    return matrix.to(dtype)
