"""Segmenting a section with a network that gives per-pixel logits, and scoring it against a label mask.

A section of any size is cut into square windows of the network's size on the common
grid (``patches.patch_grid``: the last window flush with the far edge, a section
smaller than a window reflect-padded), each window's class probabilities (softmax of
the logits (N, C, w, w)) are blended by the common Hann-weighted overlap-add
(``rather.common.windows.OverlapAdd``), and every sample gets its class (the argmax)
and its runner-up margin (the largest probability minus the second: 0 where two
classes tie, 1 where the network is sure).

Scores follow the usual definitions over every sample of every section together:
pixel accuracy, the intersection over union of each class (``None`` for a class
neither labelled nor predicted anywhere) and their mean over the classes that occur.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rather.common.metrics import confusion_matrix
from rather.common.windows import OverlapAdd

from .patches import extract_patches, patch_grid


@dataclass(frozen=True)
class Segmentation:
    """Per sample of a section (H, W): probabilities (C, H, W), predicted class (int64) and runner-up margin."""

    probabilities: np.ndarray
    predicted: np.ndarray
    margin: np.ndarray


@torch.no_grad()
def segment_section(model: nn.Module, amplitude: np.ndarray, *, window: int, stride: int,
                    batch: int = 16) -> Segmentation:
    """The network's classes over a section (H, W) scaled to [-1, 1], windows of ``window`` at ``stride``."""
    height, width = amplitude.shape
    rows, cols = patch_grid(height, width, patch=window, stride=stride)
    windows = torch.from_numpy(extract_patches(amplitude, rows, cols, window))[:, None]
    device = next(model.parameters()).device
    blend = None
    for start in range(0, len(windows), batch):
        probabilities = model(windows[start:start + batch].to(device)).softmax(1)
        if blend is None:
            blend = OverlapAdd((height, width), rows, cols, window, channels=probabilities.shape[1], device=device)
        blend.add(probabilities)
    stitched = blend.result().cpu()
    top = stitched.topk(2, dim=0).values
    return Segmentation(stitched.numpy(), stitched.argmax(0).numpy(), (top[0] - top[1]).numpy())


def segmentation_report(predicted: list[np.ndarray], truth: list[np.ndarray], class_names: tuple[str, ...]) -> dict:
    """Pixel accuracy, per-class IoU, mean IoU and confusion (rows true) over every sample of the sections."""
    count = len(class_names)
    confusion = confusion_matrix(np.concatenate([t.ravel() for t in truth]),
                                 np.concatenate([p.ravel() for p in predicted]), count)
    hits = np.diag(confusion).astype(np.float64)
    union = confusion.sum(0) + confusion.sum(1) - hits
    iou = [float(hits[c] / union[c]) if union[c] else None for c in range(count)]
    present = [value for value in iou if value is not None]
    total = int(confusion.sum())
    return {
        "pixel_accuracy": float(hits.sum() / total) if total else None,
        "miou": float(np.mean(present)) if present else None,
        "per_class_iou": dict(zip(class_names, iou)),
        "confusion": confusion.tolist(),
        "samples": total,
    }
