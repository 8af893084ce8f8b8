"""Does a map point at the ground truth? Scores of maps against masks."""
from __future__ import annotations

import numpy as np
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


def box_masks(boxes: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(N, H, W) boolean masks of the pixels whose centres lie in boxes (N, 4) x0, y0, x1, y1 (pixel edges).

    Pixel (i, j) has its centre at (j + 0.5, i + 0.5); a box [x0, x1) x [y0, y1) holds it when
    x0 <= j + 0.5 < x1 and y0 <= i + 0.5 < y1. Energy and pointing game inside a box use these.
    """
    boxes = torch.as_tensor(boxes, dtype=torch.float64).reshape(-1, 4, 1, 1)
    rows = torch.arange(size[0], dtype=torch.float64).view(1, -1, 1) + 0.5
    cols = torch.arange(size[1], dtype=torch.float64).view(1, 1, -1) + 0.5
    return (cols >= boxes[:, 0]) & (cols < boxes[:, 2]) & (rows >= boxes[:, 1]) & (rows < boxes[:, 3])


def rank_correlation(first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
    """Spearman's rank correlation of each pair of maps (..., H, W): Pearson's r of their ranks.

    Tied values share their mean rank. A constant map has no ranking: NaN. Adebayo et al.
    (NeurIPS 2018) compare maps before and after randomising a model's weights this way.
    """
    from scipy.stats import rankdata

    def ranks(maps: torch.Tensor) -> torch.Tensor:
        flat = maps.detach().cpu().double().flatten(-2).numpy()
        ranked = torch.from_numpy(rankdata(flat, axis=-1))
        return ranked - ranked.mean(dim=-1, keepdim=True)

    a, b = ranks(first), ranks(second)
    spread = (a.square().sum(-1) * b.square().sum(-1)).sqrt()
    return torch.where(spread > 0, (a * b).sum(-1) / torch.where(spread > 0, spread, 1.0), torch.nan)


def confusion_matrix(truth: np.ndarray, predicted: np.ndarray, classes: int) -> np.ndarray:
    """(classes, classes) counts: rows the true class, columns the predicted one."""
    return np.bincount(truth * classes + predicted, minlength=classes * classes).reshape(classes, classes)
