"""Trunks of valid convolutions and pools: what they do to coordinates.

A model's trunk is its submodule ``features`` when the model also has a method
``classify(features) -> outputs`` (``forward(x) = classify(features(x))``, as
``networks.SmallCNN``). When that trunk is an ``nn.Sequential`` of valid (unpadded)
stride-1 convolutions, pointwise modules and non-overlapping pools, two facts follow
from its modules alone:

- it is shift-equivariant with step s = the product of the pools' steps
  (``rather.common.sliding`` computes every window of an image from it at once);
- cell j of its activation is centred on input position ``first + s j`` (pixel i's
  centre at i), where ``first`` sums half of every kernel's reach: (d (k - 1) / 2) times
  the step so far for a k-tap convolution of dilation d, (p - 1) / 2 times it for a pool
  of step p. The activation of a 99 x 99 window through ``SmallCNN(padding=0)`` has
  8 x 8 cells centred on 18.5, 26.5, ..., 74.5: maps are placed there
  (``maps.FeatureGrid``), not stretched over the window.
"""
from __future__ import annotations

from typing import Optional

from torch import nn

from .maps import FeatureGrid

Segments = list[tuple[list[nn.Module], int]]
"""A trunk as segments: the modules up to and including a pool, and that pool's step (1 for the last)."""

POINTWISE = (nn.BatchNorm2d, nn.ReLU, nn.LeakyReLU, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh, nn.Sigmoid, nn.Identity,
             nn.Dropout, nn.Dropout2d)
"""Modules that act on each position alone (in eval mode): they commute with any shift."""


def pool_step(module: nn.Module) -> Optional[int]:
    """p for a max or average pool with kernel = stride = p (square) and no padding, else None."""
    if not isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)) or getattr(module, "ceil_mode", False):
        return None
    kernel, stride, padding = (v if isinstance(v, int) else tuple(v)
                               for v in (module.kernel_size, module.stride, module.padding))
    if isinstance(kernel, int) and kernel == stride and padding == 0 and getattr(module, "dilation", 1) == 1:
        return kernel
    return None


def _shift_equivariant(module: nn.Module) -> bool:
    """True for valid (unpadded) stride-1 convolutions and pointwise modules."""
    if isinstance(module, nn.Conv2d):
        return module.stride == (1, 1) and module.padding in ((0, 0), "valid")
    return isinstance(module, POINTWISE)


def trunk_segments(trunk: nn.Module) -> Optional[Segments]:
    """The trunk's segments (nested Sequentials flattened), or None unless every module is provably equivariant."""
    modules = [m for m in trunk.modules() if not isinstance(m, nn.Sequential)] if isinstance(trunk, nn.Sequential) \
        else []
    if not modules:
        return None
    segments, current = [], []
    for module in modules:
        step = pool_step(module)
        if step is not None:
            segments.append((current + [module], step))
            current = []
        elif _shift_equivariant(module):
            current.append(module)
        else:
            return None
    return segments + [(current, 1)]


def model_trunk(model: nn.Module, layer: Optional[nn.Module]) -> Optional[Segments]:
    """The segments of the model's trunk when ``layer`` is that trunk (``features``, with ``classify``), else None."""
    trunk = getattr(model, "features", None)
    if layer is None or layer is not trunk or not callable(getattr(model, "classify", None)):
        return None
    return trunk_segments(trunk)


def activation_size(segments: Segments, size: int, axis: int) -> int:
    """The activation's length along ``axis`` (0 rows, 1 columns) for an input of ``size``: convs lose their reach."""
    for modules, step in segments:
        for module in modules:
            if isinstance(module, nn.Conv2d):
                size -= module.dilation[axis] * (module.kernel_size[axis] - 1)
        size //= step
    return size


def feature_grid(segments: Segments) -> FeatureGrid:
    """Where the trunk's activation cells sit on its input (see the module docstring)."""
    first, spacing = [0.0, 0.0], 1
    for modules, step in segments:
        for module in modules:
            if isinstance(module, nn.Conv2d):
                for axis in (0, 1):
                    first[axis] += spacing * module.dilation[axis] * (module.kernel_size[axis] - 1) / 2
        for axis in (0, 1):
            first[axis] += spacing * (step - 1) / 2
        spacing *= step
    return FeatureGrid(first=(first[0], first[1]), spacing=float(spacing))
