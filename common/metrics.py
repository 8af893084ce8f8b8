"""Does a map point at the ground truth? Scores of maps against masks."""
from __future__ import annotations

import torch


def energy_share(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Share of each map's total inside its mask: sum(m * mask) / sum(m).

    maps: (..., H, W) non-negative; masks: boolean, broadcastable to maps.
    An all-zero map has no energy to share: NaN.
    (The energy-based pointing game of Score-CAM, Wang et al., CVPRW 2020.)
    """
    maps = maps.double()
    inside = (maps * masks).sum(dim=(-2, -1))
    total = maps.sum(dim=(-2, -1))
    return torch.where(total > 0, inside / torch.where(total > 0, total, 1.0), torch.nan)


def pointing_game(maps: torch.Tensor, masks: torch.Tensor) -> torch.Tensor:
    """Whether each map's maximum lies inside its mask (Zhang et al., ECCV 2016); ties take the first.

    maps: (..., H, W); masks: boolean (..., H, W), same leading shape or broadcastable.
    """
    flat = maps.flatten(-2)
    peak = flat.argmax(dim=-1, keepdim=True)
    return torch.broadcast_to(masks, maps.shape).flatten(-2).gather(-1, peak).squeeze(-1)
