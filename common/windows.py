"""Sliding windows: grids that cover every sample, windows cut out, window maps added back.

An image or a seismic section is explained window by window (IQA: 32 x 32 patches;
seismic: 99 x 99 patches) and the per-window maps are added back into one map of the
whole input. The three steps, shared by every domain:

>>> rows, cols = window_grid(height, width, window=32, stride=4)
>>> windows = extract_windows(x, rows, cols, 32)            # (N R K, C, 32, 32), row-major
>>> blend = OverlapAdd((height, width), rows, cols, 32, taper="gaussian", channels=Q)
>>> blend.add(maps)                                         # (B, Q, 32, 32), the next B windows
>>> blend.result()                                          # (Q, H, W)

Maps at a layer's coarse resolution (B, Q, h, w) that would be resized bilinearly to the
window before blending are added as they are by :class:`CoarseOverlapAdd`: the same
sums as matrix products, nothing made at the window's resolution.

Positions are the top-left corners of the windows; window ``i * len(cols) + j`` starts
at ``(rows[i], cols[j])``.
"""
from __future__ import annotations

from typing import Optional, Sequence, Union

import numpy as np
import torch

from .errors import BadInput
from .maps import interpolation_matrix

TAPERS = ("hann", "flat", "gaussian")
GAUSSIAN_SIGMA = 8.0
"""Default width (pixels) of the Gaussian taper: the one used to blend WaDIQaM's 32 x 32 windows."""


def positive_int(value: object, name: str) -> int:
    """``value`` as an int if it is a whole number >= 1 (bools refused), else BadInput naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise BadInput(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def axis_grid(size: int, window: int, stride: int) -> np.ndarray:
    """Start offsets of windows along an axis of ``size`` samples: ``0, stride, 2 stride, ...``
    up to ``size - window``, plus ``size - window`` itself when the steps miss it.

    Every sample is covered and the last window ends flush with the far edge (``stride <=
    window``). An axis shorter than the window gets the single offset 0; padding it is the
    caller's choice.

    >>> axis_grid(120, 99, 10)
    array([ 0, 10, 20, 21])
    """
    for value, name in ((size, "size"), (window, "window"), (stride, "stride")):
        positive_int(value, name)
    if stride > window:
        raise BadInput(f"stride {stride} is larger than the window ({window}) and would leave gaps: "
                       "use stride <= window")
    last = max(int(size) - int(window), 0)
    steps = np.arange(0, last + 1, int(stride), dtype=np.int64)
    return steps if steps[-1] == last else np.append(steps, np.int64(last))


def window_grid(height: int, width: int, window: int, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols): :func:`axis_grid` along each axis of a ``height`` x ``width`` input."""
    return axis_grid(height, window, stride), axis_grid(width, window, stride)


def extract_windows(x: torch.Tensor, rows: Sequence[int], cols: Sequence[int], window: int, *,
                    channels_last: bool = False) -> torch.Tensor:
    """(N, C, H, W) -> (N * len(rows) * len(cols), C, window, window): the windows at rows x cols, row-major.

    ``out[(n * R + i) * K + j] = x[n, :, rows[i]:rows[i] + window, cols[j]:cols[j] + window]``,
    gathered from a strided view of ``x`` in one copy. The gather keeps the memory layout of what it reads:
    the windows of a contiguous x are contiguous, those of a channels-last x channels last; with
    ``channels_last`` x is read channels last (a copy of x, not of its windows, if it is not).
    Windows must lie inside ``x``.
    """
    rows, cols = torch.as_tensor(np.asarray(rows)), torch.as_tensor(np.asarray(cols))
    height, width = x.shape[-2:]
    if rows.numel() and (int(rows.min()) < 0 or int(rows.max()) + window > height):
        raise BadInput(f"window rows {int(rows.min())}..{int(rows.max())} of {window} samples leave the {height} rows")
    if cols.numel() and (int(cols.min()) < 0 or int(cols.max()) + window > width):
        raise BadInput(f"window columns {int(cols.min())}..{int(cols.max())} of {window} samples leave the "
                       f"{width} columns")
    source = x.contiguous(memory_format=torch.channels_last) if channels_last else x
    view = source.unfold(2, window, 1).unfold(3, window, 1)  # (N, C, H - w + 1, W - w + 1, w, w), no copy
    picked = view.permute(0, 2, 3, 1, 4, 5)[:, rows[:, None], cols[None, :]]  # (N, R, K, C, w, w), laid out as x
    windows = picked.reshape(-1, x.shape[1], window, window)
    return windows.contiguous(memory_format=torch.channels_last) if channels_last else windows  # a copy never made


def taper_weights(name: str, window: int, *, sigma: float = GAUSSIAN_SIGMA) -> np.ndarray:
    """The 1-D taper h (window,) of a separable window ``w(a, b) = h(a) h(b)``, sampled at pixel centres.

    - ``hann``: ``h(k) = sin^2(pi (k + 1/2) / window)``: 1 in the middle, small but never 0 at
      the border, so a window's edge still counts where nothing else covers it;
    - ``flat``: ones, a plain mean;
    - ``gaussian``: ``h(k) = exp(-(k + 1/2 - window / 2)^2 / (2 sigma^2))``, centred.

    >>> taper_weights("flat", 3)
    array([1., 1., 1.])
    """
    centres = np.arange(window, dtype=np.float64) + 0.5
    if name == "hann":
        return np.sin(np.pi * centres / window) ** 2
    if name == "flat":
        return np.ones(window)
    if name == "gaussian":
        return np.exp(-(centres - window / 2) ** 2 / (2 * sigma ** 2))
    raise BadInput(f"unknown taper {name!r}: use one of {', '.join(TAPERS)}")


def placement_matrix(starts: Sequence[int], size: int, block: torch.Tensor) -> torch.Tensor:
    """(size, n k): ``block`` (window, k) placed at each of the n ``starts``, the separable form of overlap-add.

    Column block p (columns p k .. p k + k - 1) holds ``block`` in rows ``starts[p]`` ..
    ``starts[p] + window - 1``; rows past ``size`` (windows over a padded input) are cropped.
    For windows on a grid ``rows`` x ``cols`` with a separable taper ``h``:

    - with ``block = h[:, None]``, ``P_r V P_c^T`` (``P_r = placement_matrix(rows, H, h[:, None])``,
      ``P_c`` likewise for ``cols``) sums ``w(s - corner_p) V[p]`` over the windows: the
      weighted sums of :class:`OverlapAdd` for window maps that are constants V (R, K);
    - with ``block = h[:, None] * U``, U (window, m) a matrix that brings m cells to the
      window (an upsampling), ``P_r M P_c^T`` adds maps given at the coarse resolution,
      M holding them side by side (R m_r, K m_c): the same sums as upsampling each map
      to the window and adding it, without ever making a map at the window's resolution.
    """
    window, k = block.shape
    n = len(starts)
    matrix = torch.zeros(max(size, int(max(starts)) + window), n * k, dtype=block.dtype, device=block.device)
    rows = torch.as_tensor(np.asarray(starts, dtype=np.int64), device=block.device)[:, None, None] \
        + torch.arange(window, device=block.device)[None, :, None]
    cols = torch.arange(n, device=block.device)[:, None, None] * k + torch.arange(k, device=block.device)[None, None, :]
    matrix[rows, cols] = block.expand(n, window, k)
    return matrix[:size]


class OverlapAdd:
    """Weighted overlap-add of window maps into maps of the whole input.

    For each sample ``s``, over the windows ``p`` added so far that cover it::

        out[c, s] = sum_p w(s - corner_p) maps_p[c, s - corner_p] / sum_p w(s - corner_p)

    a weighted mean: a constant map gives that constant, a single window gives itself on
    its footprint. Samples no window covers are ``fill``. Windows arrive in the row-major
    order of the grid, any number at a time (``add``); sums run in float64, memory is the
    (channels, H, W) totals plus one batch of windows. ``taper`` is a name of
    :data:`TAPERS` or a 1-D array (window,) of the separable window.

    Rows or columns past ``shape`` (windows over a padded input) are cropped off.
    """

    def __init__(self, shape: tuple[int, int], rows: Sequence[int], cols: Sequence[int], window: int, *,
                 taper: Union[str, np.ndarray] = "hann", channels: int = 1,
                 device: Union[str, torch.device] = "cpu"):
        height, width = (int(size) for size in shape)
        self.rows = torch.as_tensor(np.asarray(rows, dtype=np.int64), device=device)
        self.cols = torch.as_tensor(np.asarray(cols, dtype=np.int64), device=device)
        self.shape, self.window, self.channels = (height, width), window, channels
        weights = taper_weights(taper, window) if isinstance(taper, str) else np.asarray(taper, np.float64)
        if weights.shape != (window,):
            raise BadInput(f"a taper for {window}-sample windows has {window} values, got shape {weights.shape}")
        h = torch.as_tensor(weights, dtype=torch.float64, device=device)
        self.weight_map = h[:, None] * h[None, :]
        canvas = (max(height, int(self.rows.max()) + window), max(width, int(self.cols.max()) + window))
        self.total = torch.zeros(channels + 1, *canvas, dtype=torch.float64, device=device)  # last: weight sums
        self.added = 0

    @property
    def windows(self) -> int:
        return len(self.rows) * len(self.cols)

    def add(self, maps: torch.Tensor) -> None:
        """Add the next ``len(maps)`` windows' maps (B, channels, window, window) or (B, window, window)."""
        maps = _checked_maps(maps, (self.channels, self.window, self.window), self.added, self.windows)
        count = maps.shape[0]
        index = torch.arange(self.added, self.added + count, device=self.total.device)
        offsets = torch.arange(self.window, device=self.total.device)
        top = self.rows[index // len(self.cols)][:, None, None] + offsets[None, :, None]  # (B, w, 1)
        left = self.cols[index % len(self.cols)][:, None, None] + offsets[None, None, :]  # (B, 1, w)
        weighted = torch.cat([maps.to(self.total.device, torch.float64) * self.weight_map,
                              self.weight_map.expand(count, 1, -1, -1)], dim=1)  # (B, channels + 1, w, w)
        channel = torch.arange(self.channels + 1, device=self.total.device)[None, :, None, None]
        self.total.index_put_((channel, top[:, None], left[:, None]), weighted, accumulate=True)
        self.added += count

    def result(self, *, fill: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(channels, H, W): the weighted sums over the weight sums; ``fill`` where nothing was added."""
        height, width = self.shape
        return _weighted_mean(self.total[:-1, :height, :width], self.total[-1, :height, :width], fill, dtype)


class CoarseOverlapAdd:
    """:class:`OverlapAdd` of window maps given at a coarse resolution (B, channels, h, w), each as if first resized
    bilinearly to the window (``maps.upsample``, align_corners=False): the same weighted mean, never made at the
    window's resolution.

    Resizing a map m is ``U_r m U_c^T`` (``maps.interpolation_matrix``) and the taper is separable,
    so the weighted sums of all windows are ``P_r M P_c^T``: M holds the coarse maps side by side
    (R h, K w) per channel, and ``P_r`` places the tapered matrix ``h[:, None] * U_r`` at every
    window row (:func:`placement_matrix`; ``P_c`` likewise). The weight sums are the same products
    with the taper alone and a 1 for every window added. Memory: the coarse maps in float64; the
    products run once, in :meth:`result`. Windows arrive in row-major order, any number at a time.
    """

    def __init__(self, shape: tuple[int, int], rows: Sequence[int], cols: Sequence[int], window: int,
                 cells: tuple[int, int], *, taper: Union[str, np.ndarray] = "hann", channels: int = 1):
        self.shape = tuple(int(size) for size in shape)
        self.rows, self.cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        self.window, self.cells, self.channels = window, tuple(int(size) for size in cells), channels
        self.taper = taper_weights(taper, window) if isinstance(taper, str) else np.asarray(taper, np.float64)
        if self.taper.shape != (window,):
            raise BadInput(f"a taper for {window}-sample windows has {window} values, got shape {self.taper.shape}")
        self.maps = torch.zeros(self.windows, channels, *self.cells, dtype=torch.float64)
        self.added = 0

    @property
    def windows(self) -> int:
        return len(self.rows) * len(self.cols)

    def add(self, maps: torch.Tensor) -> None:
        """Add the next ``len(maps)`` windows' coarse maps (B, channels, h, w) or (B, h, w)."""
        maps = _checked_maps(maps, (self.channels, *self.cells), self.added, self.windows)
        self.maps[self.added:self.added + maps.shape[0]] = maps.to(self.maps.dtype)
        self.added += maps.shape[0]

    def result(self, *, fill: float = 0.0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """(channels, H, W): the weighted sums over the weight sums; ``fill`` where nothing was added."""
        (height, width), (h, w), n_rows, n_cols = self.shape, self.cells, len(self.rows), len(self.cols)
        taper = torch.from_numpy(self.taper)[:, None]
        spread_rows = placement_matrix(self.rows, height, taper * interpolation_matrix(self.window, h))
        spread_cols = placement_matrix(self.cols, width, taper * interpolation_matrix(self.window, w))
        side_by_side = self.maps.view(n_rows, n_cols, self.channels, h, w).permute(2, 0, 3, 1, 4)
        total = spread_rows @ side_by_side.reshape(self.channels, n_rows * h, n_cols * w) @ spread_cols.T
        added = (torch.arange(self.windows) < self.added).double().view(n_rows, n_cols)
        weight = placement_matrix(self.rows, height, taper) @ added @ placement_matrix(self.cols, width, taper).T
        return _weighted_mean(total, weight, fill, dtype)


def _checked_maps(maps: torch.Tensor, shape: tuple[int, ...], added: int, windows: int) -> torch.Tensor:
    """Window maps (B, *shape) for a blend that holds ``added`` of ``windows`` windows; (B, h, w) for one channel."""
    if maps.ndim == len(shape) and shape[0] == 1:
        maps = maps[:, None]
    if tuple(maps.shape[1:]) != tuple(shape):
        raise BadInput(f"window maps must be (B, {', '.join(map(str, shape))}), got {tuple(maps.shape)}")
    if added + maps.shape[0] > windows:
        raise BadInput(f"{added + maps.shape[0]} window maps added to a grid of {windows} windows")
    return maps


def _weighted_mean(total: torch.Tensor, weight: torch.Tensor, fill: float, dtype: torch.dtype) -> torch.Tensor:
    """(channels, H, W) sums over (H, W) weight sums; ``fill`` where the weight is 0."""
    covered = weight > 0
    return torch.where(covered, total / torch.where(covered, weight, 1.0), fill).to(dtype)


def blend_windows(maps: torch.Tensor, shape: tuple[int, int], rows: Sequence[int], cols: Sequence[int], *,
                  taper: Union[str, np.ndarray] = "hann", fill: float = 0.0,
                  dtype: Optional[torch.dtype] = None) -> torch.Tensor:
    """All window maps (R K, channels, w, w) at once through :class:`OverlapAdd`: (channels, H, W)."""
    blend = OverlapAdd(shape, rows, cols, maps.shape[-1], taper=taper, channels=maps.shape[1], device=maps.device)
    blend.add(maps)
    return blend.result(fill=fill, dtype=dtype or (maps.dtype if maps.is_floating_point() else torch.float32))
