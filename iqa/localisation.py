"""Does the model look where the damage is? Energy of contrast maps inside locally damaged regions.

Each held-out reference is damaged by one distortion inside a seeded rectangle of a
quarter of the image (``distort_locally``). The question is "Why s, rather than a
pristine score?", with the pristine score q the model's own score of the reference
against itself, asked patchwise (the paper's procedure) and in image mode; the
measure is the share of the map's energy inside the rectangle
(``rather.common.metrics.energy_share``). A map blind to the damage would put about
the rectangle's area share there (0.25); a perfect one puts 1.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rather.common.metrics import energy_share

from .contrasts import explain_image, explain_patchwise
from .distortions import KINDS, distort_locally
from .quality_model import pairs


def localisation(model: nn.Module, references: np.ndarray, *, kinds=KINDS, level: int = 4, stride: int = 8,
                 seed: int = 0) -> dict:
    """Per distortion kind: mean energy share inside the damaged region (patchwise maps: ``energy_share``, its
    spread ``std``; image-mode maps: ``energy_share_image``), the region's ``area_share`` and the ``images`` count.

    references: (R, 3, H, W) float32 in [0, 1]. A map that is zero everywhere has no share (left out of the mean).
    """
    report = {}
    for kind_number, kind in enumerate(kinds):
        shares, image_shares, areas = [], [], []
        for index, reference in enumerate(references):
            image = reference.transpose(1, 2, 0)
            damaged, mask = distort_locally(image, kind, level, seed=seed * 7919 + index * 101 + kind_number)
            x = pairs(damaged.transpose(2, 0, 1)[None], reference[None])
            with torch.no_grad():
                pristine = float(model(pairs(reference[None], reference[None]))[0])
            result, _ = explain_patchwise(model, x, [pristine], stride=stride)
            shares.append(float(energy_share(result.maps[0, 1], torch.from_numpy(mask))))
            whole = explain_image(model, x, [pristine])
            image_shares.append(float(energy_share(whole.maps[0, 1], torch.from_numpy(mask))))
            areas.append(float(mask.mean()))
        report[kind] = {"energy_share": _mean(shares), "std": _mean(shares, np.nanstd),
                        "energy_share_image": _mean(image_shares), "area_share": float(np.mean(areas)),
                        "images": len(shares)}
    return report


def _mean(values: list[float], statistic=np.nanmean) -> float:
    """The statistic over the values that are not NaN; NaN when none is."""
    values = np.array(values)
    return float(statistic(values)) if np.isfinite(values).any() else float("nan")
