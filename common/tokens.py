"""Token activations (a transformer's (N, T, D)) laid out on a grid, so that maps can be drawn.

A vision transformer cuts the image into g x g patches and carries one token per patch,
often after a class token: T = g^2 or 1 + g^2. ``square_grid`` puts the patch tokens back
in their places, (N, T, D) -> (N, D, g, g), dropping the class token. The explainer applies
the same layout to the activation and to its gradients (the class token's gradient is not
on the grid and is left out of the map, as in Grad-CAM for transformers).
"""
from __future__ import annotations

import math
from typing import Callable, Union

import torch

from .errors import BadModel

Reshape = Union[None, str, Callable[[torch.Tensor], torch.Tensor]]
"""How an activation becomes a grid: None (it is one), "auto" (``square_grid``), or a function."""


def square_grid(tokens: torch.Tensor, layer: str = "the layer") -> torch.Tensor:
    """(N, T, D) tokens with T = g^2, or 1 + g^2 (a class token first), as a grid (N, D, g, g).

    A grid already, (N, K, h, w) or (N, K, d, h, w), is returned as it is.
    """
    if tokens.dim() in (4, 5):
        return tokens
    if tokens.dim() != 3:
        raise BadModel(f"{layer} gives shape {tuple(tokens.shape)}; reshape='auto' lays out tokens (N, T, D): pass "
                       "reshape=callable that makes (N, K, h, w)")
    count = tokens.shape[1]
    for extra in (0, 1):
        side = math.isqrt(max(count - extra, 0))
        if side > 0 and side * side == count - extra:
            return tokens[:, extra:].transpose(1, 2).unflatten(2, (side, side))
    raise BadModel(f"{layer} gives {count} tokens, shape {tuple(tokens.shape)} (N, T, D): neither a square grid "
                   "(g x g) nor a class token and one; pass reshape=callable that makes (N, D, h, w)")


def on_grid(tensor: torch.Tensor, reshape: Reshape, layer: str) -> torch.Tensor:
    """``tensor`` (B, ...) laid out by ``reshape`` as (B, K, h, w) or (B, K, d, h, w), checked."""
    if reshape is None:
        return tensor
    if reshape == "auto":
        return square_grid(tensor, layer)
    try:
        grid = reshape(tensor)
    except (RuntimeError, TypeError, ValueError, IndexError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise BadModel(f"reshape failed on the activation of {layer}, shape {tuple(tensor.shape)}: {first_line}; "
                       "pass a function of a batch of any size") from None
    if not isinstance(grid, torch.Tensor) or grid.dim() not in (4, 5) or grid.shape[0] != tensor.shape[0]:
        what = f"shape {tuple(grid.shape)}" if isinstance(grid, torch.Tensor) else type(grid).__name__
        raise BadModel(f"reshape made {what} of the activation of {layer}, shape {tuple(tensor.shape)}; it must "
                       f"return ({tensor.shape[0]}, K, h, w) (or (N, K, d, h, w)), the batch first")
    return grid
