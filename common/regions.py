"""The usual regions of a dense output, as masks for ``Why(region=R)``, ``Rather(q, region=R)``, ...

A dense output (segmentation logits) has one set of logits per pixel, y (N, C, *S) with
S = (H, W), or (D, H, W) for a volume. A question about a region sums the per-pixel loss
over the region's pixels (see ``questions``). These helpers make boolean masks of shape S
(the same region for every input) or (N, *S) (one per input, from the logits):

>>> Why(region=pixel((64, 64), (10, 20)))             # why this pixel's class?
>>> Rather(2, region=box((64, 64), (0, 0), (16, 32)))  # why this box, rather than class 2?
>>> Rather(2, region=predicted(logits, 1))            # why the zone of class 1, rather than 2?
>>> Rather(2, p=1, region=border(logits, 1, 2))       # why the border runs where it does
"""
from __future__ import annotations

from typing import Sequence, Union

import torch
import torch.nn.functional as F

from .errors import BadQuestion

ClassOrClasses = Union[int, torch.Tensor]
"""One class for every input, or a tensor (N,) of one class per input."""


def pixel(size: Sequence[int], at: Sequence[int]) -> torch.Tensor:
    """A boolean mask of shape ``size`` with the one pixel ``at`` set."""
    return box(size, at, [index + 1 for index in at])


def box(size: Sequence[int], start: Sequence[int], stop: Sequence[int]) -> torch.Tensor:
    """A boolean mask of shape ``size`` set on ``start[a] <= index[a] < stop[a]`` along every axis a."""
    size, start, stop = (tuple(int(value) for value in values) for values in (size, start, stop))
    if not len(size) == len(start) == len(stop):
        raise BadQuestion(f"a box needs one start and one stop per axis of the pixels {size}; "
                          f"got start {start} and stop {stop}")
    if not all(0 <= low < high <= length for low, high, length in zip(start, stop, size)):
        raise BadQuestion(f"the box from {start} to {stop} (stop excluded) is empty or leaves the pixels {size}")
    mask = torch.zeros(size, dtype=torch.bool)
    mask[tuple(slice(low, high) for low, high in zip(start, stop))] = True
    return mask


def predicted(logits: torch.Tensor, p: ClassOrClasses) -> torch.Tensor:
    """(N, *S) boolean: the pixels whose prediction (argmax over the C logits) is P."""
    return _zone(logits, p, "P")


def border(logits: torch.Tensor, p: ClassOrClasses, q: ClassOrClasses, width: int = 1) -> torch.Tensor:
    """(N, *S) boolean: the pixels predicted P within ``width`` pixels of one predicted Q, and the reverse.

    "Within" counts every neighbour, diagonals included (a (2 width + 1)-wide square or cube):
    the band where the P zone meets the Q zone, ``width`` pixels deep on each side.
    """
    if not isinstance(width, int) or isinstance(width, bool) or width < 1:
        raise BadQuestion(f"the border's width must be a whole number of pixels >= 1; got {width!r}")
    zone_p, zone_q = _zone(logits, p, "P"), _zone(logits, q, "Q")
    return zone_p & _grown(zone_q, width) | zone_q & _grown(zone_p, width)


def _zone(logits: torch.Tensor, classes: ClassOrClasses, name: str) -> torch.Tensor:
    """(N, *S) boolean: the pixels predicted ``classes`` (called ``name`` in messages)."""
    classes = _checked_classes(logits, classes, name)
    return logits.detach().argmax(dim=1) == classes.reshape(-1, *(1,) * (logits.dim() - 2))


def _grown(mask: torch.Tensor, width: int) -> torch.Tensor:
    """The mask (N, *S) grown by ``width`` pixels along every axis (a maximum over the neighbourhood)."""
    pool = F.max_pool2d if mask.dim() == 3 else F.max_pool3d
    return pool(mask[:, None].float(), 2 * width + 1, stride=1, padding=width)[:, 0] > 0


def _checked_classes(logits: torch.Tensor, classes: ClassOrClasses, name: str) -> torch.Tensor:
    """``classes`` as an int64 tensor (N,) or (1,) within the C classes of dense logits (N, C, *S)."""
    if not isinstance(logits, torch.Tensor) or logits.dim() not in (4, 5):
        what = f"shape {tuple(logits.shape)}" if isinstance(logits, torch.Tensor) else type(logits).__name__
        raise BadQuestion(f"regions are read from dense logits (N, C, H, W) or (N, C, D, H, W); got {what}")
    values = torch.as_tensor(classes).reshape(-1)
    n, c = logits.shape[:2]
    if values.is_floating_point() or values.dtype == torch.bool or len(values) not in (1, n):
        raise BadQuestion(f"{name} must be a class index or a tensor of {n} class indices; got {classes!r}")
    if ((values < 0) | (values >= c)).any():
        raise BadQuestion(f"{name}={values.tolist()} is out of range: the logits have {c} classes (0..{c - 1})")
    return values.long().to(logits.device)
