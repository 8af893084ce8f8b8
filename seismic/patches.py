"""Seismic sections cut into LANDMASS-like patches: time down the rows, traces across.

>>> amplitude = scale_to_unit(section.values)              # float32 in [-1, 1]
>>> rows, cols = patch_grid(*amplitude.shape, patch=99, stride=10)
>>> patches = extract_patches(amplitude, rows, cols)       # (len(rows) * len(cols), 99, 99)

Patch positions are the top-left corners of the patches, in section samples; the
patches are every (row, column) combination, row-major: patch ``i * len(cols) + j``
starts at ``(rows[i], cols[j])``. The grid and the windows are those of
``rather.common.windows`` (``window_grid``, ``extract_windows``); what is seismic here
is the rule for short sections: a section shorter or narrower than a patch (down to
``patch // 2 + 1`` samples) is reflect-padded at the bottom / right edge, so the
padding mirrors real data and positions stay in section coordinates. The per-patch maps
go back into section maps in ``sections.explain_section``.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch

from rather.common.errors import BadInput
from rather.common.windows import extract_windows, positive_int, window_grid

from .classes import CLASS_NAMES

ArrayLike = Union[np.ndarray, torch.Tensor]


def scale_to_unit(section: ArrayLike, *, percentile: float = 99.5) -> np.ndarray:
    """Scale amplitudes to [-1, 1] like LANDMASS: ``clip(x / P(|x|), -1, 1)`` as float32.

    ``P(|x|)`` is the ``percentile``-th percentile of the absolute amplitudes over the
    whole array (a section, or a volume to scale all its sections alike). Dividing by a
    high percentile rather than the maximum keeps a few spikes from flattening the rest;
    the top ``100 - percentile`` per cent of samples saturate at +-1. Zero stays zero
    and polarity is kept (no mean is removed). If the percentile is 0 (mostly dead
    traces) the maximum of ``|x|`` is used; a constant input carries no reflections and
    gives zeros.

    >>> scale_to_unit(np.array([[-4.0, 0.0], [2.0, 8.0]]), percentile=100)
    array([[-0.5 ,  0.  ],
           [ 0.25,  1.  ]], dtype=float32)

    Raises:
        BadInput: empty or non-numeric input, NaN/Inf, percentile outside (0, 100].
    """
    x = _numeric(section, "section")
    if isinstance(percentile, bool) or not isinstance(percentile, (int, float, np.number)) or not 0 < percentile <= 100:
        raise BadInput(f"percentile must be a number in (0, 100], got {percentile!r}")
    if x.size == 0:
        raise BadInput("cannot scale an empty section: pass at least one sample")
    x = np.asarray(x, dtype=np.float32)
    if not np.isfinite(x).all():
        raise BadInput("section contains NaN or Inf samples: fill or mute them before scaling")
    magnitude = np.abs(x)
    if x.min() == x.max():
        return np.zeros_like(x)
    scale = float(np.percentile(magnitude, percentile)) or float(magnitude.max())
    return np.clip(x / np.float32(scale), -1.0, 1.0)


def scale_each(patches: np.ndarray) -> np.ndarray:
    """Every patch (N, H, W) scaled to [-1, 1] on its own (``scale_to_unit``): the survey's gain, and the
    level of the section a patch was cut from, no longer matter."""
    return np.stack([scale_to_unit(patch) for patch in patches]) if len(patches) else patches


def patch_grid(height: int, width: int, patch: int = 99, stride: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-left rows and columns of patches covering a ``height`` x ``width`` section.

    ``rather.common.windows.window_grid``: along each axis of length ``n``, ``0, stride,
    2 stride, ...`` up to ``n - patch``, plus ``n - patch`` itself when the steps miss it,
    so the last patch ends flush with the far edge and every sample is covered (``stride
    <= patch`` is required). An axis shorter than the patch gets the single position 0 and
    is reflect-padded by :func:`extract_patches`; it needs at least ``patch // 2 + 1``
    samples (the padding mirrors real samples, never padding, and the patch centre stays
    on real data).

    >>> patch_grid(120, 99, patch=99, stride=10)
    (array([ 0, 10, 20, 21]), array([0]))

    Returns:
        rows, cols: int64 arrays, strictly increasing.
    """
    patch = positive_int(patch, "patch")
    for size, name in ((height, "height"), (width, "width")):
        _check_size(positive_int(size, name), patch, name)
    return window_grid(height, width, patch, stride)


def extract_patches(section: ArrayLike, rows: ArrayLike, cols: ArrayLike, patch: int = 99) -> np.ndarray:
    """The ``patch`` x ``patch`` windows at every (row, column) combination, as a new float32 array.

    ``out[i * len(cols) + j] = section[rows[i]:rows[i] + patch, cols[j]:cols[j] + patch]``,
    cut by ``rather.common.windows.extract_windows`` (one copy, no loop). A section
    smaller than the patch along an axis is reflect-padded at the bottom / right first
    (see :func:`patch_grid`). Torch tensors are accepted and read on the CPU.

    Returns:
        (len(rows) * len(cols), patch, patch) float32.

    Raises:
        BadInput: section not 2-D or not finite, positions outside the section.
    """
    patch = positive_int(patch, "patch")
    amplitude = _section(section, "section")
    rows = _positions(rows, amplitude.shape[0], patch, "rows")
    cols = _positions(cols, amplitude.shape[1], patch, "cols")
    padded = torch.from_numpy(np.require(reflect_pad(amplitude, patch), requirements=["C", "W"]))
    return extract_windows(padded[None, None], rows, cols, patch)[:, 0].numpy()


def class_shares(label_section: ArrayLike, rows: ArrayLike, cols: ArrayLike, patch: int = 99, *,
                 region: int | None = None) -> np.ndarray:
    """(n, 4) share of each class in a ``region`` x ``region`` square at each patch's centre.

    ``region`` defaults to ``patch // 3`` (33 for 99); ``region=patch`` takes the whole patch.
    Patches are every (row, col) combination, row-major, as :func:`extract_patches`. Shares
    come from per-class integral images (summed-area tables): O(H W) memory for any number
    of patches.
    """
    labels = _labels(label_section)
    rows = _positions(rows, labels.shape[0], patch, "rows")
    cols = _positions(cols, labels.shape[1], patch, "cols")
    side = max(1, patch // 3) if region is None else region
    if isinstance(side, bool) or not isinstance(side, (int, np.integer)) or not 1 <= side <= patch:
        raise BadInput(f"region must be an integer from 1 to the patch size ({patch}), got {region!r}")
    side = int(side)
    # Summed-area table per class: table[k, y, x] = number of class-k samples above and left of (y, x).
    padded = reflect_pad(labels, patch)
    onehot = padded[None] == np.arange(len(CLASS_NAMES))[:, None, None]
    table = np.zeros((len(CLASS_NAMES), padded.shape[0] + 1, padded.shape[1] + 1), dtype=np.int64)
    np.cumsum(np.cumsum(onehot, axis=1), axis=2, out=table[:, 1:, 1:])
    top = (rows + (patch - side) // 2)[:, None]
    left = (cols + (patch - side) // 2)[None, :]
    counts = (
        table[:, top + side, left + side] - table[:, top, left + side]
        - table[:, top + side, left] + table[:, top, left]
    ).reshape(len(CLASS_NAMES), -1).T
    return counts / float(side * side)


def _check_size(size: int, patch: int, name: str) -> None:
    if size < patch // 2 + 1:
        raise BadInput(
            f"section {name} of {size} samples is too small for {patch}-sample patches (reflect padding needs "
            f"at least {patch // 2 + 1}): use a smaller patch"
        )


def _numeric(data: object, name: str) -> np.ndarray:
    if isinstance(data, torch.Tensor):
        data = data.detach().cpu().numpy()
    array = np.asarray(data)
    if array.dtype.kind not in "biuf":
        raise BadInput(f"{name} must be numeric, got dtype {array.dtype}")
    return array


def _section(data: object, name: str) -> np.ndarray:
    array = _numeric(data, name)
    if array.ndim != 2:
        raise BadInput(f"{name} must be 2-D (samples, traces), got shape {array.shape}: pass one section at a time")
    array = np.asarray(array, dtype=np.float32)
    if not np.isfinite(array).all():
        raise BadInput(f"{name} contains NaN or Inf samples: fill or mute them first")
    return array


def _labels(data: object) -> np.ndarray:
    labels = _numeric(data, "label_section")
    if labels.ndim != 2:
        raise BadInput(f"label_section must be 2-D (samples, traces), got shape {labels.shape}")
    if labels.dtype.kind == "f" and not np.array_equal(labels, np.round(labels)):
        raise BadInput("label_section must hold whole class indices, found fractions: pass integer labels")
    if labels.size and not 0 <= labels.min() <= labels.max() < len(CLASS_NAMES):
        raise BadInput(
            f"label_section values must be class indices 0..{len(CLASS_NAMES) - 1} ({', '.join(CLASS_NAMES)}), "
            f"found {labels.min():g}..{labels.max():g}: map other labels first"
        )
    return labels.astype(np.int64)


def _positions(positions: object, size: int, patch: int, name: str) -> np.ndarray:
    """Validated top-left positions along an axis of ``size`` samples: int64, 0 <= p <= max(size - patch, 0)."""
    if isinstance(positions, torch.Tensor):
        positions = positions.detach().cpu().numpy()
    array = np.asarray(positions)
    if array.ndim != 1 or array.size == 0 or array.dtype.kind not in "iu":
        raise BadInput(f"{name} must be a non-empty 1-D array of integer positions, got {array.dtype} {array.shape}")
    _check_size(size, patch, "height" if name == "rows" else "width")
    last = max(size - patch, 0)
    if array.min() < 0 or array.max() > last:
        raise BadInput(
            f"{name} positions must lie in 0..{last} for {patch}-sample patches in {size} samples, "
            f"got {array.min()}..{array.max()}: take positions from patch_grid"
        )
    return array.astype(np.int64)


def reflect_pad(section: np.ndarray, patch: int) -> np.ndarray:
    """Mirror the bottom / right edge so that each axis is at least ``patch`` long (no-op otherwise)."""
    extra = [(0, max(patch - size, 0)) for size in section.shape]
    return np.pad(section, extra, mode="reflect") if any(after for _, after in extra) else section
