"""Ground truth of the synthetic birds: which pixels tell class A from its look-alike B.

For a look-alike pair the classes differ in one part. Drawing A's scene with that
part in B's style (``synthetic.render_parts``) gives exactly the image of B, so

- the *changed* pixels (A's image != the swapped image) are what tells A from B;
- the *part* pixels are that part's mask in either image (a shape change moves the outline);
- a model that is right for the right reason moves from A to B under the swap
  (the FunnyBirds check; Hesse, Schaub-Meyer and Roth, ICCV 2023).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .synthetic import CLASS_NAMES, PARTS, differing_parts, look_alike_pairs, render_parts


@dataclass(frozen=True)
class SwapTruth:
    """For N images of class A with a look-alike B: the swapped images (N, 3, S, S) float32,
    the changed pixels and the differing part's pixels, both bool (N, S, S)."""

    swapped: np.ndarray
    changed: np.ndarray
    part: np.ndarray


def look_alike_matrix() -> torch.Tensor:
    """(C, C) bool: classes that differ in exactly one part."""
    matrix = torch.zeros(len(CLASS_NAMES), len(CLASS_NAMES), dtype=torch.bool)
    for a, b in look_alike_pairs():
        matrix[a, b] = matrix[b, a] = True
    return matrix


def closest_look_alike(logits: torch.Tensor, classes: torch.Tensor) -> torch.Tensor:
    """(N,) the look-alike of ``classes[n]`` with the highest logit (-1 for a class with none)."""
    allowed = look_alike_matrix()[classes]
    scored = torch.where(allowed, logits.float(), -torch.inf)
    return torch.where(allowed.any(1), scored.argmax(1), -1)


def swap_truth(labels: np.ndarray, seeds: np.ndarray, partners: np.ndarray, size: int) -> SwapTruth:
    """Swap the part that tells ``labels[n]`` from its look-alike ``partners[n]`` in the scene of ``seeds[n]``."""
    labels = np.asarray(labels, np.int64)
    sources = np.repeat(labels[:, None], len(PARTS), axis=1)
    part_index = np.array([PARTS.index(differing_parts(int(a), int(b))[0])
                           for a, b in zip(labels.tolist(), np.asarray(partners).tolist())], np.int64)
    swapped_sources = sources.copy()
    swapped_sources[np.arange(len(labels)), part_index] = partners
    images, masks = render_parts(sources, seeds, size)
    swapped, swapped_masks = render_parts(swapped_sources, seeds, size)
    rows = np.arange(len(labels))
    part = masks[rows, part_index] | swapped_masks[rows, part_index]
    return SwapTruth(swapped, (images != swapped).any(axis=1), part)
