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

Two modes, both explaining the last convolution (``features``) on the distorted
branch (call 0 of the shared trunk, which runs twice per forward):

- ``patchwise`` (Bosse et al. as explained by Prabhushankar et al., 2020): every 32 x 32
  window at ``stride`` is scored on its own and asked each question; its raw map,
  upsampled to the window, is weighted by a smooth window (a Gaussian, sigma = 8
  pixels, centred) and added into the image; the sums are divided by the summed
  weights, then normalised per question. Windows go through the network in large
  batches, all questions of a batch from one forward pass.
- ``image``: one question about the image score through the weighted average over
  the model's non-overlapping patches, J = (s_image - q)^2: each patch's map carries
  its weight a_i / sum_j a_j and its own gradient.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import torch

from rather.common import BadInput, Explainer, ExplanationResult, ScoreRather, Why
from rather.common.maps import normalise, upsample

from .networks import PATCH, WaDIQaM, extract_windows, tile_positions

MODES = ("patchwise", "image")
LAYER = "features"
WINDOW_SIGMA = 8.0


def smooth_window(patch: int = PATCH, sigma: float = WINDOW_SIGMA) -> torch.Tensor:
    """(patch, patch) weights g(i) g(j), g(k) = exp(-(k + 1/2 - patch / 2)^2 / (2 sigma^2))."""
    offsets = torch.arange(patch, dtype=torch.float64) + 0.5 - patch / 2
    g = torch.exp(-offsets ** 2 / (2 * sigma ** 2))
    return g[:, None] * g[None, :]


class OverlapAdd:
    """Accumulates weighted window maps (B, Q, p, p) at window positions into (Q, H, W) averages.

    Windows come row-major over ``rows`` x ``cols`` (as ``extract_windows`` gives them); ``add``
    takes any consecutive run of them. Each pixel's value is sum_i w_i m_i / sum_i w_i over the
    windows covering it.
    """

    def __init__(self, questions: int, height: int, width: int, rows: np.ndarray, cols: np.ndarray,
                 window: torch.Tensor):
        patch = window.shape[0]
        offsets = torch.arange(patch)
        pixels = ((torch.as_tensor(rows)[:, None] + offsets)[:, None, :, None] * width
                  + (torch.as_tensor(cols)[:, None] + offsets)[None, :, None, :])  # (R, K, p, p)
        self.pixels = pixels.reshape(-1, patch * patch)
        self.window = window.reshape(-1)
        self.total = torch.zeros(questions, height * width, dtype=torch.float64)
        self.weight = torch.zeros(height * width, dtype=torch.float64).index_add_(
            0, self.pixels.reshape(-1), self.window.repeat(len(self.pixels)))
        self.shape = (questions, height, width)
        self.added = 0

    def add(self, maps: torch.Tensor) -> None:
        """Add the next ``len(maps)`` windows' maps (B, Q, p, p)."""
        count = maps.shape[0]
        index = self.pixels[self.added:self.added + count].reshape(-1)
        values = (maps.double().flatten(2) * self.window).permute(1, 0, 2).reshape(maps.shape[1], -1)
        self.total.index_add_(1, index, values)
        self.added += count

    def result(self) -> torch.Tensor:
        """(Q, H, W) float32 averages."""
        return (self.total / self.weight).view(self.shape).float()


def tile_assembler(model: WaDIQaM):
    """``Explainer(assemble=...)`` for the model's own tiling: tile maps upsampled and averaged where tiles overlap."""

    def assemble(raw: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        height, width = shape[-2:]
        rows, cols = model.tiles(height, width)
        tiles = len(rows) * len(cols)
        window = torch.ones(PATCH, PATCH, dtype=torch.float64)
        out = []
        for maps in upsample(raw.cpu(), (PATCH, PATCH)).view(shape[0], tiles, raw.shape[1], PATCH, PATCH):
            stitched = OverlapAdd(raw.shape[1], height, width, rows, cols, window)
            stitched.add(maps)
            out.append(stitched.result())
        return torch.stack(out).to(raw.device)

    return assemble


def questions_for(contrasts: Sequence[float]) -> list:
    """Why s? then Why s, rather than q? for every q."""
    scores = torch.tensor([float(q) for q in contrasts], dtype=torch.float64)  # q kept exactly as given
    return [Why()] + ([ScoreRather(scores)] if len(contrasts) else [])


def check_pair(distorted: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """(3, H, W) distorted and reference -> the model input (1, 6, H, W); sizes checked."""
    if distorted.shape != reference.shape:
        raise BadInput(f"the distorted image is {tuple(distorted.shape[-2:])} (H, W) but the reference is "
                       f"{tuple(reference.shape[-2:])}; a full-reference score needs two images of the same size")
    if min(distorted.shape[-2:]) < PATCH:
        raise BadInput(f"images of {tuple(distorted.shape[-2:])} pixels are smaller than the model's {PATCH} x {PATCH} "
                       "patch; give images of at least 32 x 32")
    return torch.cat([distorted, reference], dim=0)[None].float()


def explain_image(model: WaDIQaM, x: torch.Tensor, contrasts: Sequence[float], ids=None) -> ExplanationResult:
    """Image mode: x (N, 6, H, W); questions about the image scores through the weighted average."""
    explainer = Explainer(model, layer=LAYER, call=0, head="autograd", assemble=tile_assembler(model))
    result = explainer(x, questions_for(contrasts), ids=ids)
    result.notes = result.notes + ("mode image: one question about the image score through the weighted "
                                   "average of the patch scores",)
    return result


def explain_patchwise(model: WaDIQaM, x: torch.Tensor, contrasts: Sequence[float], *, stride: int = 4,
                      batch: int = 512, ids=None) -> tuple[ExplanationResult, np.ndarray]:
    """Patchwise mode for one pair x (1, 6, H, W); returns the result and the window scores (R, K)."""
    if x.shape[0] != 1:
        raise BadInput(f"patchwise explanations take one pair at a time; got a batch of {x.shape[0]}")
    if isinstance(stride, bool) or not isinstance(stride, (int, np.integer)) or stride < 1:
        raise BadInput(f"--stride must be a positive number of pixels; got {stride!r}")
    explainer = Explainer(model, layer=LAYER, call=0, head="autograd")
    questions = questions_for(contrasts)
    height, width = x.shape[-2:]
    rows, cols = tile_positions(height, PATCH, stride), tile_positions(width, PATCH, stride)
    stitched = OverlapAdd(1 + len(contrasts), height, width, rows, cols, smooth_window())
    scores = []
    rows_per_batch = max(1, batch // len(cols))
    for first in range(0, len(rows), rows_per_batch):
        windows = extract_windows(x, rows[first:first + rows_per_batch], cols)
        answer = explainer(windows, questions)
        stitched.add(upsample(answer.raw.cpu(), (PATCH, PATCH)))
        scores.append(answer.scores.cpu())
    with torch.no_grad():
        score = model(x.to(explainer.device)).cpu().double()
    raw = stitched.result()[None]
    q = torch.tensor([[float("nan")] + [float(value) for value in contrasts]], dtype=torch.float64)
    result = ExplanationResult(
        maps=normalise(raw), raw=raw, p=score.reshape(1, 1).expand_as(q).clone(), q=q,
        kinds=("why",) + ("score_rather",) * len(contrasts), outputs=score.float().reshape(1, 1), task="score",
        layer=LAYER, method=explainer.method.name, call=0, gradient_path="autograd",
        ids=tuple(ids) if ids is not None else (),
        notes=(f"mode patchwise: {len(rows) * len(cols)} windows of {PATCH} x {PATCH} at stride {stride}, each "
               "asked about its own score, raw maps blended with a Gaussian window; P is the image score",),
        model_checksum=explainer.model_checksum,
    )
    return result, torch.cat(scores).view(len(rows), len(cols)).numpy()
