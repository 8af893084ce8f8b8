"""Deletion and insertion curves: does removing what a map ranks first change the answer fastest?

Petsiuk, Das and Saenko, "RISE: Randomized Input Sampling for Explanation of
Black-box Models", BMVC 2018. Pixels are ranked by the map, highest first. The
deletion curve replaces the first fraction t of them by a baseline (RISE: zeros)
and follows the model's score as t goes from 0 to 1; the insertion curve starts
from the baseline (RISE: a blurred copy) and puts the original pixels back in the
same order. A faithful map makes the deletion curve fall fast (small area) and
the insertion curve rise fast (large area).

Two scores per image are followed along every curve, from the same forward pass:

- ``margin``: the logit margin ``y_P - y_Q`` of the contrastive question
  "Why P, rather than Q?";
- ``probability``: the softmax probability of P alone (RISE's score).

Areas are trapezoids over t in [0, 1], i.e. the mean height of the curve.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .errors import BadInput
from .maps import upsample

MODES = ("deletion", "insertion")


@dataclass(frozen=True)
class Curves:
    """Scores along a deletion or insertion path.

    fractions: (T,) share of pixels deleted (or inserted), from 0 to 1;
    margin: (N, T) ``y_P - y_Q``; probability: (N, T) softmax probability of P.
    """

    fractions: torch.Tensor
    margin: torch.Tensor
    probability: torch.Tensor

    def area(self, score: str = "margin") -> torch.Tensor:
        """(N,) trapezoidal area under the curve of ``score`` over the fractions."""
        return area_under(self.fractions, getattr(self, score))


def area_under(fractions: torch.Tensor, values: torch.Tensor) -> torch.Tensor:
    """Trapezoidal area of ``values`` (..., T) over ``fractions`` (T,)."""
    return torch.trapezoid(values.double(), fractions.double(), dim=-1)


def blurred(x: torch.Tensor, sigma: float = 5.0) -> torch.Tensor:
    """A Gaussian blur of x (N, C, H, W), separable, reflect-padded: RISE's insertion baseline."""
    radius = max(1, int(3 * sigma))
    offsets = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-0.5 * (offsets / sigma) ** 2)
    kernel = kernel / kernel.sum()
    channels = x.shape[1]
    padded = F.pad(x, (radius, radius, radius, radius), mode="replicate")
    rows = F.conv2d(padded, kernel.view(1, 1, 1, -1).expand(channels, 1, 1, -1), groups=channels)
    return F.conv2d(rows, kernel.view(1, 1, -1, 1).expand(channels, 1, -1, 1), groups=channels)


def pixel_order(maps: torch.Tensor) -> torch.Tensor:
    """(N, H*W) pixel indices, highest map value first; ties keep raster order (a stable sort)."""
    return torch.sort(maps.flatten(1), dim=1, descending=True, stable=True).indices


@torch.no_grad()
def perturbation_curves(
    model: nn.Module,
    x: torch.Tensor,
    maps: torch.Tensor,
    p: torch.Tensor,
    q: torch.Tensor,
    *,
    mode: str = "deletion",
    steps: int = 16,
    baseline: torch.Tensor | None = None,
    batch_size: int = 256,
) -> Curves:
    """Deletion or insertion curves of ``model`` on x (N, C, H, W) in the order of ``maps`` (N, H, W).

    p, q: (N,) classes of the question "Why P, rather than Q?". Step k of ``steps``
    changes the first ``round(k / steps * H * W)`` pixels of the order (all channels
    of a pixel together). Deletion puts ``baseline`` there (default zeros, the mean
    of a normalised input), insertion puts x there, starting from ``baseline``
    (default ``blurred(x)``). The model is run in eval mode on every step's images.
    """
    if mode not in MODES:
        raise BadInput(f"mode must be one of {', '.join(MODES)}; got '{mode}'")
    if x.dim() != 4 or maps.shape != (x.shape[0], *x.shape[-2:]):
        raise BadInput(f"maps must have shape (N, H, W) = {(x.shape[0], *x.shape[-2:])}; got {tuple(maps.shape)}")
    if steps < 1:
        raise BadInput(f"steps must be at least 1; got {steps}")
    n, _, height, width = x.shape
    if baseline is None:
        baseline = torch.zeros_like(x) if mode == "deletion" else blurred(x)
    start, end = (x, baseline) if mode == "deletion" else (baseline, x)
    fractions = torch.linspace(0.0, 1.0, steps + 1)
    counts = (fractions * height * width).round().long()
    rank = torch.empty(n, height * width, dtype=torch.long)
    rank.scatter_(1, pixel_order(maps.cpu()), torch.arange(height * width).expand(n, -1))  # position in the order
    rank = rank.view(n, 1, height, width).to(x.device)
    p = torch.as_tensor(p, device=x.device).long()
    q = torch.as_tensor(q, device=x.device).long()
    model.eval()
    margins, probabilities = [], []
    for count in counts.tolist():
        changed = rank < count
        margin, probability = [], []
        for first in range(0, n, batch_size):
            part = slice(first, first + batch_size)
            logits = model(torch.where(changed[part], end[part], start[part])).float()
            rows = torch.arange(logits.shape[0], device=x.device)
            margin.append(logits[rows, p[part]] - logits[rows, q[part]])
            probability.append(logits.softmax(1)[rows, p[part]])
        margins.append(torch.cat(margin).cpu())
        probabilities.append(torch.cat(probability).cpu())
    return Curves(fractions, torch.stack(margins, dim=1), torch.stack(probabilities, dim=1))


def random_maps(n: int, size: tuple[int, int], seed: int, cells: tuple[int, int] | None = None) -> torch.Tensor:
    """(N, H, W) random maps: the ranking every faithful map must beat.

    Uniform values on a grid of ``cells`` (default: one per pixel), upsampled bilinearly to ``size``
    as layer maps are: a random map as smooth as the maps it is compared with, so that deleting by it
    removes regions, not scattered pixels (which would break any image fastest).
    """
    grid = torch.rand((n, 1, *(cells or size)), generator=torch.Generator().manual_seed(seed))
    return upsample(grid, size)[:, 0]
