"""Seismic sections as LANDMASS-like patches, and per-patch maps back as sections.

A section (rows = time or depth samples, columns = traces) is explained patch by
patch and the per-patch maps are stitched back:

>>> amplitude = scale_to_unit(section)                     # float32 in [-1, 1]
>>> rows, cols = patch_grid(*amplitude.shape, patch=99, stride=10)
>>> patches = extract_patches(amplitude, rows, cols)       # (len(rows) * len(cols), 99, 99)
>>> maps = explain(patches)                                # (n, questions, 99, 99), any per-patch maps
>>> section_maps = stitch(maps, rows, cols, amplitude.shape)   # (questions, H, W)

Patch positions are the top-left corners of the patches, in section samples; the
patches are every (row, column) combination, row-major: patch ``i * len(cols) + j``
starts at ``(rows[i], cols[j])``. Training sets come from a synthetic section and its
per-sample label section with :func:`labelled_patches`.

Sections shorter or narrower than a patch (down to ``patch // 2 + 1`` samples) are
reflect-padded at the bottom / right edge, so the padding mirrors real data and
positions stay in section coordinates; :func:`stitch` crops the padding off again.
Everything is vectorised (strided views, fancy indexing, ``index_add``), never a Python
loop over patches or samples; :func:`stitch` only steps through chunks of patch rows to
bound its memory.
"""
from __future__ import annotations

from typing import Union

import numpy as np
import torch
from numpy.lib.stride_tricks import sliding_window_view

from rather.common.errors import BadInput
from .classes import CLASS_NAMES

ArrayLike = Union[np.ndarray, torch.Tensor]

WINDOWS = ("hann", "flat")
LABEL_RULES = ("centre", "majority", "priority")
PRIORITY = (CLASS_NAMES.index("fault"), CLASS_NAMES.index("salt_dome"), CLASS_NAMES.index("chaotic"))
"""Order in which the ``priority`` labelling rule claims a patch: rare, thin structures first."""
_CHUNK_ELEMENTS = 1 << 24
"""Per-patch values :func:`stitch` weights at a time (float64: 128 MiB), whatever the section size."""


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


def patch_grid(height: int, width: int, patch: int = 99, stride: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top-left rows and columns of patches covering a ``height`` x ``width`` section.

    Along each axis of length ``n``: ``0, stride, 2 stride, ...`` up to ``n - patch``,
    plus ``n - patch`` itself when the steps miss it, so the last patch ends flush with
    the far edge and every sample is covered (``stride <= patch`` is required). An axis
    shorter than the patch gets the single position 0 and is reflect-padded by
    :func:`extract_patches`; it needs at least ``patch // 2 + 1`` samples (the padding
    mirrors real samples, never padding, and the patch centre stays on real data).

    >>> patch_grid(120, 99, patch=99, stride=10)
    (array([ 0, 10, 20, 21]), array([0]))

    Returns:
        rows, cols: int64 arrays, strictly increasing.
    """
    patch = _positive_int(patch, "patch")
    stride = _positive_int(stride, "stride")
    if stride > patch:
        raise BadInput(f"stride {stride} is larger than the patch ({patch}) and would leave gaps: use stride <= patch")
    return (
        _axis_grid(_positive_int(height, "height"), patch, stride, "height"),
        _axis_grid(_positive_int(width, "width"), patch, stride, "width"),
    )


def extract_patches(section: ArrayLike, rows: ArrayLike, cols: ArrayLike, patch: int = 99) -> np.ndarray:
    """The ``patch`` x ``patch`` windows at every (row, column) combination, as a new float32 array.

    ``out[i * len(cols) + j] = section[rows[i]:rows[i] + patch, cols[j]:cols[j] + patch]``,
    taken from a strided view of the section (one fancy-indexing copy, no loop). A section
    smaller than the patch along an axis is reflect-padded at the bottom / right first
    (see :func:`patch_grid`). Torch tensors are accepted and read on the CPU.

    Returns:
        (len(rows) * len(cols), patch, patch) float32.

    Raises:
        BadInput: section not 2-D or not finite, positions outside the section.
    """
    patch = _positive_int(patch, "patch")
    amplitude = _section(section, "section")
    rows = _positions(rows, amplitude.shape[0], patch, "rows")
    cols = _positions(cols, amplitude.shape[1], patch, "cols")
    windows = sliding_window_view(reflect_pad(amplitude, patch), (patch, patch))
    return windows[rows[:, None], cols[None, :]].reshape(-1, patch, patch)


def labelled_patches(
    amplitude_section: ArrayLike,
    label_section: ArrayLike,
    rows: ArrayLike,
    cols: ArrayLike,
    patch: int = 99,
    *,
    rule: str = "centre",
    region: int | None = None,
    min_share: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """Patches of an amplitude section and one class per patch from its per-sample labels.

    ``label_section`` has the section's shape and holds class indices 0..3 (horizon,
    chaotic, fault, salt_dome, as :data:`~rather.seismic.landmass.CLASS_NAMES`). The
    class of a patch follows ``rule``:

    - ``"centre"``: the label of the centre sample ``(row + patch // 2, col + patch // 2)``;
    - ``"majority"``: the most frequent label in the centre region, a ``region`` x
      ``region`` square (default ``patch // 3``, 33 for 99) around the patch centre; ties
      go to the lower class index;
    - ``"priority"``: the first of fault, salt_dome, chaotic whose share of the centre
      region is at least ``min_share`` (default 0.05: a fault zone about two samples wide
      crossing the 33 x 33 region), else the majority. Thin faults never win a majority,
      so this is the rule for fault-aware training sets.

    Class shares come from per-class integral images (summed-area tables), so any number
    of patches costs O(H W) memory. Scale ``amplitude_section`` first (:func:`scale_to_unit`)
    for LANDMASS-like values.

    Returns:
        patches (n, patch, patch) float32 as :func:`extract_patches`, labels (n,) int64.

    Raises:
        BadInput: shapes differ, labels not integers in 0..3, unknown rule, bad region or share.
    """
    if rule not in LABEL_RULES:
        raise BadInput(f"unknown labelling rule {rule!r}: use one of {', '.join(LABEL_RULES)}")
    patches = extract_patches(amplitude_section, rows, cols, patch)
    labels = _labels(label_section, np.shape(amplitude_section))
    rows = _positions(rows, labels.shape[0], patch, "rows")
    cols = _positions(cols, labels.shape[1], patch, "cols")
    if rule == "centre":
        centre = patch // 2
        return patches, labels[rows[:, None] + centre, cols[None, :] + centre].reshape(-1)

    if not 0 < min_share <= 1:
        raise BadInput(f"min_share must be in (0, 1], got {min_share!r}")
    shares = class_shares(labels, rows, cols, patch, region=region)
    classes = shares.argmax(axis=1)
    if rule == "priority":
        reached = shares[:, PRIORITY] >= min_share
        claimed = np.asarray(PRIORITY)[reached.argmax(axis=1)]
        classes = np.where(reached.any(axis=1), claimed, classes)
    return patches, classes.astype(np.int64)


def class_shares(label_section: ArrayLike, rows: ArrayLike, cols: ArrayLike, patch: int = 99, *,
                 region: int | None = None) -> np.ndarray:
    """(n, 4) share of each class in a ``region`` x ``region`` square at each patch's centre.

    ``region`` defaults to ``patch // 3`` (33 for 99); ``region=patch`` takes the whole patch.
    Patches are every (row, col) combination, row-major, as :func:`extract_patches`. Shares
    come from per-class integral images (summed-area tables): O(H W) memory for any number
    of patches.
    """
    labels = _labels(label_section, np.shape(label_section))
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


def stitch(
    values: ArrayLike,
    rows: ArrayLike,
    cols: ArrayLike,
    shape: tuple[int, int],
    patch: int = 99,
    *,
    window: str = "hann",
    fill: float = 0.0,
) -> ArrayLike:
    """Weighted overlap-add of per-patch maps back into section-sized maps.

    For each sample ``s`` of the section, with the sum over the patches ``p`` covering
    ``s`` and ``w`` the window::

        out[..., s] = sum_p w(s - corner_p) values[p, ..., s - corner_p] / sum_p w(s - corner_p)

    a weighted mean, so a constant map gives that constant, one patch gives itself on its
    footprint, and the section's own patches (:func:`extract_patches`) give the section back.
    Samples no patch covers are ``fill`` (never with positions from :func:`patch_grid`).

    ``window="hann"``: ``w(a, b) = h(a) h(b)``, ``h(k) = sin^2(pi (k + 1/2) / patch)``,
    a separable Hann window sampled at pixel centres — 1 in the middle, smallest at the
    border (``sin^2(pi / (2 patch))``, 2.5e-4 for 99) but never 0, so a patch border still
    counts where nothing else covers it (the section edges) and needs no floor; patch
    centres, where a classifier sees the most context, dominate. ``window="flat"``: all
    ones, a plain mean.

    ``values`` is (n, patch, patch) or (n, channels, patch, patch) — several questions at
    once — with ``n = len(rows) * len(cols)`` in the row-major order of
    :func:`extract_patches`; the result is (H, W) or (channels, H, W), ``shape = (H, W)``.
    A torch tensor gives a tensor on its device, a NumPy array gives an array; the dtype
    is kept (float32 for integer input). Sums run in float64, so float32 results are exact
    for the cases above. Samples reflect-padded by :func:`extract_patches` are cropped off.

    The window is separable and the positions form a grid, so columns are added into
    one strip per patch row, the strips into the section (two ``index_add_``), and the
    weight sum is an outer product of two 1-D sums. Patch rows go in chunks of at most
    ``_CHUNK_ELEMENTS`` values: memory is the input plus O(channels x H x W) plus one
    chunk, never O(n x H x W). On CUDA, ``index_add_`` adds atomically, so the last
    float64 bits may vary between runs unless ``torch.use_deterministic_algorithms(True)``
    is set.

    Raises:
        BadInput: wrong value shape, NaN/Inf, unknown window, positions outside ``shape``.
    """
    patch = _positive_int(patch, "patch")
    if window not in WINDOWS:
        raise BadInput(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
    if len(tuple(shape)) != 2:
        raise BadInput(f"shape must be (height, width) of the section, got {tuple(shape)}")
    height, width = (_positive_int(size, "shape") for size in shape)
    rows = _positions(rows, height, patch, "rows")
    cols = _positions(cols, width, patch, "cols")
    is_tensor = isinstance(values, torch.Tensor)
    tensor = values if is_tensor else torch.from_numpy(np.require(_numeric(values, "values"), requirements="W"))
    if tensor.is_complex() or tensor.dtype == torch.bool:
        raise BadInput(f"values must be real numbers, got {tensor.dtype}")
    count = len(rows) * len(cols)
    if tensor.ndim not in (3, 4) or tensor.shape[0] != count or tuple(tensor.shape[-2:]) != (patch, patch):
        raise BadInput(
            f"values must be ({count}, [channels,] {patch}, {patch}) for {len(rows)} x {len(cols)} positions, "
            f"got {tuple(tensor.shape)}: pass one map per patch, in the order of extract_patches"
        )
    if not bool(torch.isfinite(tensor).all()):
        raise BadInput("values contain NaN or Inf: the per-patch maps must be finite to be stitched")
    out_dtype = tensor.dtype if tensor.is_floating_point() else torch.float32
    maps = tensor.reshape(len(rows), len(cols), -1, patch, patch)
    stitcher = Stitcher(rows, cols, (height, width), patch, window=window, channels=maps.shape[2],
                        device=tensor.device)
    step = max(1, _CHUNK_ELEMENTS // (len(cols) * maps.shape[2] * patch * patch))
    for first in range(0, len(rows), step):  # chunks of patch rows bound the float64 temporaries
        stitcher.add(maps[first:first + step].flatten(0, 1), first)
    result = stitcher.result(fill=fill, dtype=out_dtype)
    if tensor.ndim == 3:
        result = result[0]
    return result if is_tensor else result.numpy()


class Stitcher:
    """The weighted overlap-add of :func:`stitch`, fed block by block of patch rows.

    For sections explained a few patch rows at a time: memory is O(channels x H x W)
    plus one block, never all per-patch maps at once.

    >>> stitcher = Stitcher(rows, cols, amplitude.shape, channels=5)
    >>> for first in range(0, len(rows), 4):
    ...     stitcher.add(maps_of_rows(first, first + 4), first)    # (k * len(cols), 5, 99, 99)
    >>> section_maps = stitcher.result()                          # (5, H, W)

    Positions are validated by :func:`stitch`; here they are taken as given.
    """

    def __init__(self, rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int], patch: int = 99, *,
                 window: str = "hann", channels: int = 1, device: Union[str, torch.device] = "cpu"):
        if window not in WINDOWS:
            raise BadInput(f"unknown window {window!r}: use one of {', '.join(WINDOWS)}")
        self.shape, self.patch, self.n_cols, self.channels = tuple(shape), patch, len(cols), channels
        self.taper = torch.from_numpy(window_taper(window, patch)).to(device)
        canvas_height, canvas_width = max(shape[0], patch), max(shape[1], patch)
        self.row_index = (torch.as_tensor(rows)[:, None] + torch.arange(patch)).to(device)  # (rows, a)
        self.col_index = (torch.as_tensor(cols)[:, None] + torch.arange(patch)).reshape(-1).to(device)
        self.total = torch.zeros(channels, canvas_height, canvas_width, dtype=torch.float64, device=device)

    def add(self, values: torch.Tensor, first_row: int) -> None:
        """Add the maps (k * len(cols), channels, patch, patch) of patch rows first_row .. first_row + k - 1."""
        p, n_cols = self.patch, self.n_cols
        block = values.reshape(-1, n_cols, self.channels, p, p)
        block_rows = block.shape[0]
        # (k, cols, C, a, b) -> float64 (k, C, a, cols, b) in one copy, weighted in place.
        weighted = torch.empty(block_rows, self.channels, p, n_cols, p, dtype=torch.float64, device=self.total.device)
        weighted.copy_(block.permute(0, 2, 3, 1, 4)).mul_((self.taper[:, None] * self.taper[None, :])[:, None, :])
        # Columns into one strip per patch row, then the strips into the section.
        strips = torch.zeros(block_rows, self.channels, p, self.total.shape[2], dtype=torch.float64,
                             device=self.total.device)
        strips.index_add_(3, self.col_index, weighted.reshape(block_rows, self.channels, p, -1))
        self.total.index_add_(1, self.row_index[first_row:first_row + block_rows].reshape(-1),
                              strips.permute(1, 0, 2, 3).reshape(self.channels, -1, self.total.shape[2]))

    def result(self, *, fill: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(channels, H, W): the weighted sums divided by the window sums; ``fill`` where nothing was added."""
        device = self.total.device
        weight_rows = torch.zeros(self.total.shape[1], dtype=torch.float64, device=device).index_add_(
            0, self.row_index.reshape(-1), self.taper.repeat(self.row_index.shape[0]))
        weight_cols = torch.zeros(self.total.shape[2], dtype=torch.float64, device=device).index_add_(
            0, self.col_index, self.taper.repeat(self.n_cols))
        weight = weight_rows[:, None] * weight_cols[None, :]
        covered = weight > 0
        result = torch.where(covered, self.total / torch.where(covered, weight, 1.0), fill)
        return result[:, :self.shape[0], :self.shape[1]].to(dtype)


def window_taper(window: str, patch: int) -> np.ndarray:
    """The 1-D taper h of a window (the 2-D window is h(a) h(b)): Hann sin^2(pi (k + 1/2) / patch), or ones."""
    if window == "flat":
        return np.ones(patch)
    return np.sin(np.pi * (np.arange(patch) + 0.5) / patch) ** 2


def _positive_int(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BadInput(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def _axis_grid(size: int, patch: int, stride: int, name: str) -> np.ndarray:
    _check_size(size, patch, name)
    last = max(size - patch, 0)
    steps = np.arange(0, last + 1, stride, dtype=np.int64)
    return steps if steps[-1] == last else np.append(steps, np.int64(last))


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


def _labels(data: object, shape: tuple[int, ...]) -> np.ndarray:
    labels = _numeric(data, "label_section")
    if labels.shape != tuple(shape):
        raise BadInput(
            f"label_section has shape {labels.shape} but the amplitude section {tuple(shape)}: pass matching sections"
        )
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
