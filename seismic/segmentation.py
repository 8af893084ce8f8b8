"""Segmenting a section with a network that gives per-pixel logits, and scoring it against a label mask.

A section of any size is cut into square windows of the network's size on the common
grid (``patches.patch_grid``: the last window flush with the far edge, a section
smaller than a window reflect-padded), each window's class probabilities (softmax of
the logits (N, C, w, w)) are blended by the common Hann-weighted overlap-add
(``rather.common.windows.OverlapAdd``), and every sample gets its class (the argmax)
and its runner-up margin (the largest probability minus the second: 0 where two
classes tie, 1 where the network is sure).

``explain_segmentation`` asks the core's dense questions per zone: in every window, for
each class P, the zone Z_P of samples predicted P is a region, and the network is asked
"Why P?" (``Why(region=Z_P)``: the sum over Z_P of each sample's logit of P) and "Why P,
rather than Q?" for every other Q (``Rather.all(region=Z_P)``: the sum over Z_P of
-log p_Q). A window's section questions add its zones' answers: "why" is the sum of every
zone's Why P?, and "rather than Q" the sum, over the zones of the classes other than Q,
of their Why P, rather than Q? (a zone of Q is not asked why it is not Q). The raw maps
(upsampled to the window, not normalised) are blended over the section with the same
overlap-add, then each section map is normalised on its own: the same outputs as a patch
classifier's (``sections.SectionExplanation``), with the per-sample class and margin.

Scores follow the usual definitions over every sample of every section together:
pixel accuracy, the intersection over union of each class (``None`` for a class
neither labelled nor predicted anywhere) and their mean over the classes that occur.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from rather.common import Explainer, Rather, Why
from rather.common.maps import normalise, upsample
from rather.common.metrics import confusion_matrix
from rather.common.windows import OverlapAdd

from .patches import extract_patches, patch_grid
from .sections import SectionExplanation


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


def explain_segmentation(explainer: Explainer, amplitude: np.ndarray, *, window: int, stride: int,
                         class_names: tuple[str, ...], batch: int = 8) -> SectionExplanation:
    """Per-zone dense questions over a section (H, W) scaled to [-1, 1] (see the module docstring).

    ``patch_classes`` holds each window's most frequent predicted class; ``margin`` the
    per-sample runner-up margin of the blended probabilities.
    """
    height, width = amplitude.shape
    count = len(class_names)
    rows, cols = patch_grid(height, width, patch=window, stride=stride)
    windows = torch.from_numpy(extract_patches(amplitude, rows, cols, window))[:, None]
    maps = OverlapAdd((height, width), rows, cols, window, channels=1 + count)
    probabilities = OverlapAdd((height, width), rows, cols, window, channels=count)
    majority = []
    for start in range(0, len(windows), batch):
        x = windows[start:start + batch].to(explainer.device)
        with torch.no_grad():
            logits = explainer.model(x)
        predicted = logits.argmax(1)
        zones = [predicted == p for p in range(count)]
        present = torch.stack([zone.flatten(1).any(1) for zone in zones], 1).cpu()  # (B, C)
        asked = []
        for zone, has in zip(zones, present.T):
            region = torch.where(has.to(zone.device)[:, None, None], zone, torch.ones_like(zone))  # empty: any
            asked += [Why(region=region), Rather.all(region=region)]
        result = explainer(x, asked)
        raw = upsample(result.raw, (window, window), explainer.grid).cpu().double()
        raw = raw.reshape(len(x), count, 1 + count, window, window) * present.double()[:, :, None, None, None]
        why = raw[:, :, 0].sum(1)
        rather = raw[:, :, 1:] * (1 - torch.eye(count, dtype=torch.float64))[None, :, :, None, None]
        maps.add(torch.cat([why[:, None], rather.sum(1)], 1))
        probabilities.add(logits.softmax(1).cpu())
        majority.append(predicted.flatten(1).cpu().mode(1).values)
    raw_maps = maps.result().float()
    stitched = probabilities.result().cpu()
    top = stitched.topk(2, dim=0).values
    return SectionExplanation(
        maps=normalise(raw_maps[None])[0].numpy(), raw=raw_maps.numpy(), probabilities=stitched.numpy(),
        predicted=stitched.argmax(0).numpy(),
        patch_classes=torch.cat(majority).reshape(len(rows), len(cols)).numpy().astype(np.int64),
        rows=rows, cols=cols, patch=window, stride=stride, class_names=tuple(class_names),
        margin=(top[0] - top[1]).numpy())


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
