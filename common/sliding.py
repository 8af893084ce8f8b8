"""Explaining every window of a large image from shared trunk computations (shift-and-stitch).

A patch classifier slid over an image repeats most of its work: 99 x 99 windows at
stride 10 overlap by 90 % in each direction. When the model's explained layer is a
trunk T (image -> activation) built of valid stride-1 convolutions, pointwise layers
and non-overlapping pools of total step s, T is shift-equivariant: the activation of
the window at (r, c) is a crop of T applied to the image shifted by the window's phase
(a, b) = (r mod s, c mod s),

    T(x[r:r+P, c:c+P]) = T(x[a:, b:])[:, (r-a)/s : (r-a)/s + h, (c-b)/s : (c-b)/s + w],

exactly, up to the order of floating-point sums. The phases share work too: before the
first pool every phase sees the same activation (shifted), and each pool of step p
splits a branch into the p x p offsets that the phases below it need — a tree whose
root is computed once (Long, Shelhamer and Darrell's "shift-and-stitch", CVPR 2015).
It is walked depth first, so memory holds one branch per level. Only the head (the
model after the layer: global pool and linear for ``SmallCNN``) and the questions then
run per window, on the crops, through an ordinary ``Explainer``: the maps are
ReLU(sum_k alpha_k A_k) of the same A as patch by patch.

A model opts in by having its trunk as the explained submodule ``features`` (an
``nn.Sequential``) and a method ``classify(features) -> outputs``; ``SlidingWindows.of``
checks the trunk's modules (``trunks.trunk_segments``) and returns None for anything
it cannot prove equivariant (padding, strided convolutions, unknown modules).

>>> windows = SlidingWindows.of(explainer)                # None: explain window by window
>>> for row_index, col_index, result in windows.explain(image, rows, cols, 99, [Why(), Rather.all()]):
...     result.raw.shape    # (len(row_index) * len(col_index), questions, h, w), rows major
"""
from __future__ import annotations

from typing import Iterator, Optional, Sequence

import numpy as np
import torch
from torch import nn

from .capture import explaining
from .errors import BadInput
from .explainer import Explainer
from .questions import Question
from .results import ExplanationResult
from .trunks import Segments, activation_size, model_trunk


class _Head(nn.Module):
    """The model after its trunk, as a module of the trunk's activation (the explained layer ``features``)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.features = nn.Identity()
        self.model = model

    def forward(self, activation: torch.Tensor) -> torch.Tensor:
        return self.model.classify(self.features(activation))


class SlidingWindows:
    """Every window of an image explained from one shift-and-stitch pass of the model's trunk.

    Args:
        explainer: the Explainer of the whole model (its method and head settings are kept).
        segments: ``trunks.trunk_segments`` of the model's ``features``.
        max_windows: windows answered per head pass; their activations (K h w floats each) and, per
            question, their gradients are held at once (256: about 8 MiB of activations for 99 x 99 windows
            of the seismic classifier, whose head pass then costs little next to the trunk).
    """

    def __init__(self, explainer: Explainer, segments: Segments, *, max_windows: int = 256):
        self.trunk = explainer.model.features
        self.segments = segments
        self.step = int(np.prod([step for _, step in segments]))
        self.max_windows = max_windows
        self.head = Explainer(_Head(explainer.model), layer="features", method=explainer.method,
                              head=explainer.head, memory_budget=explainer.memory_budget)
        self.device = explainer.device

    @classmethod
    def of(cls, explainer: Explainer, *, max_windows: int = 256) -> Optional["SlidingWindows"]:
        """The shared-trunk explainer when the explained layer is a provably shift-equivariant trunk, else None."""
        if explainer.call != 0 or explainer.assemble is not None:
            return None
        segments = model_trunk(explainer.model, explainer.layer)
        return cls(explainer, segments, max_windows=max_windows) if segments is not None else None

    def explain(
        self, image: torch.Tensor, rows: np.ndarray, cols: np.ndarray, window: int, questions: Sequence[Question]
    ) -> Iterator[tuple[np.ndarray, np.ndarray, ExplanationResult]]:
        """Answers for the ``window`` x ``window`` crops of ``image`` (C, H, W) at rows x cols (top-left corners).

        Yields (row indices, column indices, result for those windows, row-major), one phase
        at a time, ``max_windows`` windows at most per result. A result's ``raw``, ``p``, ``q`` and
        ``outputs`` are the windows' own; its ``maps`` lie over the activation, not the window:
        place ``raw`` on the window with ``upsample(raw, (window, window), explainer.grid)``.
        The image is never modified.
        """
        rows, cols = np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)
        height, width = image.shape[-2:]
        if rows.min() < 0 or cols.min() < 0 or rows.max() + window > height or cols.max() + window > width:
            raise BadInput(f"windows of {window} at rows {rows.min()}..{rows.max()} and columns {cols.min()}.."
                           f"{cols.max()} run past the image ({height} x {width}); give top-left corners inside it")
        pending: list[tuple[np.ndarray, np.ndarray, torch.Tensor]] = []
        for block in self._blocks(image, rows, cols, window):
            pending.append(block)
            if sum(len(crops) for *_, crops in pending) >= self.max_windows:
                yield from self._answers(pending, questions)
                pending = []
        yield from self._answers(pending, questions)

    def _answers(self, blocks: list[tuple[np.ndarray, np.ndarray, torch.Tensor]], questions: Sequence[Question]
                 ) -> Iterator[tuple[np.ndarray, np.ndarray, ExplanationResult]]:
        """One head pass over the crops of several blocks, handed back block by block."""
        if not blocks:
            return
        result = self.head(torch.cat([crops for *_, crops in blocks]), questions)
        start = 0
        for rows, cols, crops in blocks:
            yield rows, cols, result.subset(slice(start, start + len(crops)))
            start += len(crops)

    def _blocks(self, image: torch.Tensor, rows: np.ndarray, cols: np.ndarray, window: int
                ) -> Iterator[tuple[np.ndarray, np.ndarray, torch.Tensor]]:
        """(row indices, column indices, their windows' activations, row-major), a phase at a time."""
        leaves = self._phases(image.to(self.device, copy=True)[None], 0, np.unique(rows % self.step),
                              np.unique(cols % self.step), 1)
        for (row_phase, col_phase), features in leaves:
            row_index = np.flatnonzero(rows % self.step == row_phase)
            col_index = np.flatnonzero(cols % self.step == col_phase)
            rows_per_group = max(1, self.max_windows // len(col_index))
            for start in range(0, len(row_index), rows_per_group):
                group = row_index[start:start + rows_per_group]
                yield group, col_index, self._crops(features, (rows[group] - row_phase) // self.step,
                                                    (cols[col_index] - col_phase) // self.step, window)

    def _run(self, modules: list[nn.Module], x: torch.Tensor) -> torch.Tensor:
        """The modules applied in turn, in eval mode, without a graph (no yield inside: the modes stay local)."""
        with explaining(self.trunk), torch.no_grad():
            for module in modules:
                x = module(x)
        return x

    def _phases(self, x: torch.Tensor, level: int, row_phases: np.ndarray, col_phases: np.ndarray, unit: int
                ) -> Iterator[tuple[tuple[int, int], torch.Tensor]]:
        """((row phase, column phase), trunk activation of the image shifted by them), depth first.

        ``x`` is the activation before segment ``level`` of the image shifted by the phases' common
        part (their residues modulo ``unit``, the step so far); each pool splits it by the next digit.
        """
        modules, step = self.segments[level]
        if step == 1:
            yield (int(row_phases[0]), int(col_phases[0])), self._run(modules, x)[0]
            return
        x = self._run(modules[:-1], x)
        row_digits, col_digits = row_phases // unit % step, col_phases // unit % step
        for r in np.unique(row_digits):
            for c in np.unique(col_digits):
                yield from self._phases(self._run(modules[-1:], x[..., r:, c:].contiguous()), level + 1,
                                        row_phases[row_digits == r], col_phases[col_digits == c], unit * step)

    def _crops(self, features: torch.Tensor, top: np.ndarray, left: np.ndarray, window: int) -> torch.Tensor:
        """(len(top) * len(left), K, h, w): the activation of each window, cut from ``features`` (K, H', W')."""
        h, w = (activation_size(self.segments, window, axis) for axis in (0, 1))
        device = features.device
        grid_r = (torch.as_tensor(top, device=device)[:, None] + torch.arange(h, device=device))[:, None, :, None]
        grid_c = (torch.as_tensor(left, device=device)[:, None] + torch.arange(w, device=device))[None, :, None, :]
        crops = features[:, grid_r, grid_c]  # (K, rows, cols, h, w)
        return crops.permute(1, 2, 0, 3, 4).reshape(len(top) * len(left), features.shape[0], h, w)
