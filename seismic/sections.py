"""Explaining a seismic section patch by patch, stitched back into section maps.

Every patch position of a section (see ``patches.patch_grid``) is classified and
asked five questions: Why P? and Why P, rather than Q? for each of the four
classes Q. The per-patch raw maps (ReLU(sum_k alpha_k A_k), upsampled to the patch,
not normalised: a patch with little evidence must not shout as loud as one with
much) are stitched by weighted overlap-add into one section map per question, which
is then normalised on its own to [0, 1].

"Why P, rather than Q?" asked of a patch predicted Q is "why not more confidently
Q?": a different question, so those patches are left out of the stitched "rather
than Q" map, which is 0 where every covering patch was predicted Q.

The patch rows of a section go through the model a few at a time: memory is bounded
by ``block_rows`` patch rows plus the section maps, whatever the section's length.
"""
from __future__ import annotations

from dataclasses import dataclass

import h5py
import numpy as np
import torch

from rather.common import Explainer, Rather, Why
from rather.common.maps import normalise, upsample
from rather.common.storage import atomic_path

from .landmass import CLASS_NAMES
from .patches import Stitcher, extract_patches, patch_grid

QUESTIONS = ("why",) + tuple(f"rather_than_{name}" for name in CLASS_NAMES)
"""The five section questions, in the order of the maps."""


@dataclass(frozen=True)
class SectionExplanation:
    """The answers for one section of H samples (rows, time down) by W traces.

    maps: (5, H, W) float32 in [0, 1], one per ``QUESTIONS``, each normalised on its own;
    raw: (5, H, W) float32, the stitched raw maps before normalising;
    probabilities: (4, H, W) float32, stitched class probabilities; predicted: (H, W) int64,
    their argmax; patch_classes: (len(rows), len(cols)) int64, the class of each patch;
    rows, cols: patch positions (top-left corners); patch, stride: in samples.
    """

    maps: np.ndarray
    raw: np.ndarray
    probabilities: np.ndarray
    predicted: np.ndarray
    patch_classes: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    patch: int
    stride: int

    def predicted_counts(self) -> dict[str, int]:
        """Number of patch positions predicted as each class."""
        counts = np.bincount(self.patch_classes.ravel(), minlength=len(CLASS_NAMES))
        return {name: int(count) for name, count in zip(CLASS_NAMES, counts)}


def explain_section(
    explainer: Explainer,
    amplitude: np.ndarray,
    *,
    patch: int = 99,
    stride: int = 10,
    block_rows: int = 4,
) -> SectionExplanation:
    """Explain a section (H, W) of amplitudes already scaled to [-1, 1] (``patches.scale_to_unit``).

    ``explainer`` wraps the four-class patch classifier (input (N, 1, patch, patch)).
    """
    height, width = amplitude.shape
    rows, cols = patch_grid(height, width, patch=patch, stride=stride)
    n_classes = len(CLASS_NAMES)
    channels = 2 * len(QUESTIONS) + n_classes  # maps, their validity, probabilities
    device = explainer.device
    stitcher = Stitcher(rows, cols, (height, width), patch, channels=channels, device=device)
    patch_classes = np.empty((len(rows), len(cols)), dtype=np.int64)
    for first in range(0, len(rows), block_rows):
        block = extract_patches(amplitude, rows[first:first + block_rows], cols, patch)
        x = torch.from_numpy(block).unsqueeze(1).to(device)
        result = explainer(x, [Why(), Rather.all()])
        predicted = result.p[:, 0]
        valid = torch.ones(len(x), len(QUESTIONS), dtype=torch.float32)
        valid[:, 1:] = (result.q[:, 1:] != predicted[:, None]).float()
        raw = upsample(result.raw, (patch, patch)) * valid.to(device)[:, :, None, None]
        constants = torch.cat([valid.to(device), result.probs.to(device)], dim=1)[:, :, None, None]
        stitcher.add(torch.cat([raw, constants.expand(-1, -1, patch, patch)], dim=1), first)
        patch_classes[first:first + block_rows] = predicted.reshape(-1, len(cols)).numpy()
    stitched = stitcher.result().cpu()
    sums, validity = stitched[:len(QUESTIONS)], stitched[len(QUESTIONS):2 * len(QUESTIONS)]
    raw_maps = torch.where(validity > 0, sums / torch.where(validity > 0, validity, 1.0), 0.0)
    probabilities = stitched[2 * len(QUESTIONS):]
    return SectionExplanation(
        maps=normalise(raw_maps[None])[0].numpy(),
        raw=raw_maps.numpy(),
        probabilities=probabilities.numpy(),
        predicted=probabilities.argmax(0).numpy(),
        patch_classes=patch_classes,
        rows=rows,
        cols=cols,
        patch=patch,
        stride=stride,
    )



def save_sections(path, explained: dict[tuple[str, int], SectionExplanation], attributes: dict) -> None:
    """Write section explanations to HDF5 atomically.

    Layout: root attrs ``format="rather.seismic.sections"``, ``questions``, ``class_names`` and
    ``attributes``; one group ``/sections/<kind>_<number>`` per section with datasets ``maps``
    (5, H, W), ``raw`` (5, H, W), ``probabilities`` (4, H, W), ``predicted`` (H, W),
    ``patch_classes``, ``rows``, ``cols`` and attrs ``kind``, ``number``, ``patch``, ``stride``.
    """
    strings = h5py.string_dtype()
    with atomic_path(path) as temporary, h5py.File(temporary, "w") as store:
        store.attrs["format"] = "rather.seismic.sections"
        store.attrs.create("questions", np.array(QUESTIONS, dtype=object), dtype=strings)
        store.attrs.create("class_names", np.array(CLASS_NAMES, dtype=object), dtype=strings)
        store.attrs.update(attributes)
        sections = store.create_group("sections")
        for (kind, number), section in explained.items():
            group = sections.create_group(f"{kind}_{number}")
            for name in ("maps", "raw", "probabilities", "predicted", "patch_classes", "rows", "cols"):
                group.create_dataset(name, data=getattr(section, name), compression="gzip", shuffle=True)
            group.attrs.update({"kind": kind, "number": number, "patch": section.patch, "stride": section.stride})
