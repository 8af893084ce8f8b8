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

from typing import Sequence

import numpy as np
import torch

from rather.common.metrics import energy_share
from rather.common.progress import SILENT, Progress

from .contrasts import explain_image, explain_patchwise
from .distortions import KINDS, distort_locally
from .scorers import QualityModel


def localisation(model: QualityModel, references: np.ndarray, *, kinds=KINDS, level: int = 4, stride: int = 8,
                 seed: int = 0, progress: Progress = SILENT) -> dict:
    """Per distortion kind, for ``model`` (any quality model with a layer named): mean energy share inside the damaged region (patchwise maps: ``energy_share``, its
    spread ``std``; image-mode maps: ``energy_share_image``), the region's ``area_share`` and the ``images`` count.

    references: (R, 3, H, W) float32 in [0, 1]. A map that is zero everywhere has no share (left out of the mean).
    ``progress`` shows a bar over the damaged images.
    """
    report = {}
    with progress.bar(total=len(kinds) * len(references), desc="localisation", unit="image") as bar:
        for kind_number, kind in enumerate(kinds):
            measured = []
            for index, reference in enumerate(references):
                seeded = seed * 7919 + index * 101 + kind_number
                measured.append(_damage_shares(model, reference, kind, level, seeded, stride))
                bar.update()
            shares, image_shares, areas = zip(*measured)
            report[kind] = {"energy_share": _mean(shares), "std": _mean(shares, np.nanstd),
                            "energy_share_image": _mean(image_shares), "area_share": float(np.mean(areas)),
                            "images": len(shares)}
    return report


def _damage_shares(model: QualityModel, reference: np.ndarray, kind: str, level: int, seed: int, stride: int
                   ) -> tuple[float, float, float]:
    """One reference (3, H, W) damaged by ``kind`` in a seeded rectangle: the share of the energy of
    "Why s, rather than the pristine score?" inside it, patchwise and in image mode, and its area share."""
    damaged, mask = distort_locally(reference.transpose(1, 2, 0), kind, level, seed=seed)
    x = stacked(model, damaged.transpose(2, 0, 1), reference)
    pristine = float(model.score(stacked(model, reference, reference))[0])
    inside = torch.from_numpy(mask)
    where = {"layer": model.layer, "call": model.call, "inputs": model.inputs}
    patchwise, _, _ = explain_patchwise(model.network, x, [pristine], stride=stride, **where)
    whole = explain_image(model.network, x, [pristine], **where)
    return (float(energy_share(patchwise.maps[0, 1], inside)), float(energy_share(whole.maps[0, 1], inside)),
            float(mask.mean()))


def stacked(model: QualityModel, distorted: np.ndarray, reference: np.ndarray) -> torch.Tensor:
    """What ``model`` reads of one pair (3, H, W) each: (1, 6, H, W), or (1, 3, H, W) without a reference."""
    images = [distorted, reference] if model.full_reference else [distorted]
    return torch.from_numpy(np.concatenate(images)[None]).float()


def _mean(values: Sequence[float], statistic=np.nanmean) -> float:
    """The statistic over the values that are not NaN; NaN when none is."""
    values = np.array(values)
    return float(statistic(values)) if np.isfinite(values).any() else float("nan")
