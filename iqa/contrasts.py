"""Score contrasts of a full-reference quality network: "Why s?" and "Why s, rather than q?" as maps.

For a scalar score s the question "Why s, rather than q?" has the loss J = (s - q)^2,
so dJ/dA = 2 (s - q) ds/dA. Grad-CAM's weights are linear in the gradient and the map
is ReLU(sum_k alpha_k A_k), hence, with M_why = Grad-CAM of s and M_not that of -s
(the counterfactual, What if not s?):

    M_{s rather than q} = 2 (s - q) M_why        when s > q,
                        = 2 (q - s) M_not        when s < q,
                        = 0                      when s = q.

The contrast map is the evidence for the score when the score is too high for q,
and the evidence against it when too low, scaled by the gap. The scale matters
when the maps of many windows are stitched, so window maps are never normalised
on their own (tests/iqa/test_contrasts.py checks this algebra).

Two modes (``options.MODES``), both explaining the last convolution (``features``) on
the distorted branch (call 0 of the shared trunk, which runs twice per forward):

- ``patchwise`` (Bosse et al. as explained by Prabhushankar et al., 2020): every 32 x 32
  window at ``stride`` is scored on its own and asked each question; its raw map,
  upsampled to the window, is weighted by a smooth window (a Gaussian, sigma = 8
  pixels, centred: ``rather.common.windows`` taper "gaussian") and added into the
  image; the sums are divided by the summed weights, then normalised per question.
  Windows go through the network in large batches, all questions of a batch from one
  forward pass (the reference branch runs once per window, without a graph: only the head
  after the explained layer is differentiated). The raw maps stay at the layer's resolution
  (2 x 2 for WaDIQaM) and are added as matrix products (``rather.common.windows.CoarseOverlapAdd``):
  the same sums as upsampling each map and adding it, without a map per window at 32 x 32.
  The blended maps become the result through ``Explainer.stitched``: P of every question
  is the image's own score. Fast mode (``explanations``) asks it of every
  third column of these windows (``options.FAST_STRIDE``: stride 4 down, 12 across).
- ``image``: one question about the image score through the weighted average over
  the model's non-overlapping patches, J = (s_image - q)^2: each patch's map carries
  its weight a_i / sum_j a_j and its own gradient.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Callable, Optional, Sequence, Union

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, Explainer, ExplanationResult, Question, ScoreRather, Why
from rather.common.maps import upsample
from rather.common.progress import SILENT, Progress
from rather.common.windows import CoarseOverlapAdd, axis_grid, blend_windows, extract_windows

from .networks import PATCH, WaDIQaM
from .options import STRIDE
from .sides import Sides, normalised, window_signs

LAYER = "features"
BATCH = 1024
"""Windows per pass through the network in patchwise mode (whole rows of the grid: fewer when a row is longer).
Once each batch cost only its network pass (``Explainer.answers``, ``CoarseOverlapAdd``), 768 to 2048 windows took
the same CPU time within 5 % (a 512 x 384 pair, WaDIQaM of width 4, one thread, 2026-11-30), and 1024 up to 20 %
less than 2048 while other processes shared the caches; 1024 also holds half the activations (about 50 MB)."""


def tile_assembler(model: WaDIQaM):
    """``Explainer(assemble=...)`` for the model's own tiling: tile maps upsampled and averaged where tiles overlap."""

    def assemble(raw: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        rows, cols = model.tiles(*shape[-2:])
        tiles = upsample(raw.cpu(), (PATCH, PATCH)).view(shape[0], len(rows) * len(cols), raw.shape[1], PATCH, PATCH)
        return torch.stack([blend_windows(maps, shape[-2:], rows, cols, taper="flat") for maps in tiles]).to(raw.device)

    return assemble


def questions_for(contrasts: Sequence[float]) -> list[Question]:
    """Why s? then Why s, rather than q? for every q."""
    scores = torch.tensor([float(q) for q in contrasts], dtype=torch.float64)  # q kept exactly as given
    return [Why()] + ([ScoreRather(scores)] if len(contrasts) else [])


Stride = Union[int, tuple[int, int]]
"""A window stride in pixels: one for both axes, or (down, across) (fast mode's ``options.FAST_STRIDE``)."""


def check_stride(stride: Stride) -> tuple[int, int]:
    """The patchwise window strides (down, across), each 1 to 32 pixels (a larger one would leave pixels no window
    covers); one number serves both axes."""
    strides = stride if isinstance(stride, tuple) and len(stride) == 2 else (stride, stride)
    for value in strides:
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not 1 <= value <= PATCH:
            raise BadInput(f"--stride must be a positive number of pixels, at most the window's {PATCH}; "
                           f"got {stride!r}")
    return int(strides[0]), int(strides[1])


def stride_text(stride: Stride) -> str:
    """A stride in words: 'stride 4', or 'stride 4 down, 8 across'."""
    down, across = check_stride(stride)
    return f"stride {down}" if down == across else f"stride {down} down, {across} across"


def as_is(x: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """The stacked input as the model's only input (WaDIQaM reads the pair stacked along the channels)."""
    return (x,)


def explain_image(model: nn.Module, x: torch.Tensor, contrasts: Sequence[float],
                  ids: Optional[Sequence[str]] = None, *, layer: str = LAYER, call: int = 0,
                  inputs: Callable[[torch.Tensor], tuple] = as_is) -> ExplanationResult:
    """Image mode: x (N, 6 or 3, H, W) stacked, ``inputs(x)`` the model's positional inputs (the maps are drawn
    over the first); questions about the image scores (WaDIQaM: through its weighted average)."""
    assemble = tile_assembler(model) if isinstance(model, WaDIQaM) else None
    explainer = Explainer(model, layer=layer, call=call, head="autograd", assemble=assemble)
    result = explainer(inputs(x), questions_for(contrasts), ids=ids)
    how = "the weighted average of the patch scores" if assemble else "the whole image at once"
    return replace(result, notes=result.notes + (f"mode image: one question about the image score through {how}",))


def explain_patchwise(model: nn.Module, x: torch.Tensor, contrasts: Sequence[float], *, stride: Stride = STRIDE,
                      batch: int = BATCH, ids: Optional[Sequence[str]] = None, progress: Progress = SILENT,
                      layer: str = LAYER, call: int = 0, inputs: Callable[[torch.Tensor], tuple] = as_is,
                      ) -> tuple[ExplanationResult, np.ndarray, Sides]:
    """Patchwise mode for one input x (1, 6 or 3, H, W) stacked: the result, the window scores (R, K) and the side
    maps of the contrasts (``sides``: each window's contrast map signed by the side of q its score lies on).

    Any quality model works: the windows are cut from x (a window of a pair is a pair) and the
    model is called on ``inputs(windows)``, its positional inputs. ``stride`` (down, across) may differ along
    the two axes (fast mode: every third column of windows). ``batch`` windows (whole rows
    of the grid) go through the network at a time; ``progress`` shows a bar over the windows,
    with its ETA. rather's WaDIQaM gets its windows channels last (the same numbers, laid out so
    that its small convolutions run about 1.8 times faster on the CPU); any other model gets them
    as they are, since a model may ``view`` its input. Only the raw maps and scores of each batch are
    kept (``Explainer.answers``: no result, notes or full-size maps per batch).
    """
    if x.shape[0] != 1:
        raise BadInput(f"patchwise explanations take one pair at a time; got a batch of {x.shape[0]}")
    down, across = check_stride(stride)
    explainer = Explainer(model, layer=layer, call=call, head="autograd")
    with torch.no_grad():
        score = model(*inputs(x.to(explainer.device))).reshape(1, -1).cpu()  # the image's own score
    questions = questions_for(contrasts)
    rows, cols = axis_grid(x.shape[-2], PATCH, down), axis_grid(x.shape[-1], PATCH, across)
    asked = 1 + len(contrasts)
    blend = None
    scores, evidence = [], []
    rows_per_batch = max(1, batch // len(cols))
    with progress.bar(total=len(rows) * len(cols), desc="patchwise", unit="window") as bar:
        for first in range(0, len(rows), rows_per_batch):
            windows = extract_windows(x, rows[first:first + rows_per_batch], cols, PATCH,
                                      channels_last=isinstance(model, WaDIQaM))
            answer = explainer.answers(inputs(windows), questions)
            raw, batch_scores = answer.raw.cpu(), answer.outputs.reshape(-1).cpu()  # one score per window
            if blend is None:  # the layer's cells per window are known once the first windows have run
                blend = CoarseOverlapAdd(x.shape[-2:], rows, cols, PATCH, raw.shape[-2:], taper="gaussian",
                                         channels=asked + len(contrasts))
            signed = raw[:, 1:] * window_signs(batch_scores, contrasts)[:, :, None, None].to(raw.dtype)
            blend.add(torch.cat([raw, signed], dim=1))
            scores.append(batch_scores)
            evidence.append(raw[:, 1:].flatten(2).ne(0).any(2))  # (B, Q): the window's contrast map is not all zero
            bar.update(len(batch_scores))
    note = (f"mode patchwise: {blend.windows} windows of {PATCH} x {PATCH} at {stride_text(stride)}, each asked about "
            "its own score, raw maps blended with a Gaussian window; P is the image score")
    blended = blend.result()
    result = explainer.stitched(blended[None, :asked], score, questions, gradient_path=answer.gradient_path, ids=ids,
                                notes=(note,))
    window_scores = torch.cat(scores).view(len(rows), len(cols)).numpy()
    sides = Sides(normalised(blended[asked:]), window_scores.ravel().astype(np.float64), np.ones(window_scores.size),
                  "window", torch.cat(evidence).numpy())
    return result, window_scores, sides
