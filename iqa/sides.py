"""Signed answers: on which side of q the local evidence of "Why s, rather than q?" lies.

The map of "Why s, rather than q?" is one-sided (a ReLU): it says where the evidence is,
not whether it makes the score higher or lower than q. Both matter to an engineer asking
"why does my model over-rate this image?". The side map says it, per window or region,
in [-1, 1]: positive where the local evidence pulls the score above q, negative where it
pulls it below q.

- patchwise: each window w is asked about its own score s_w, so its map is evidence for
  s_w when s_w > q and against it when s_w < q. The side map blends sign(s_w - q) times
  the window's contrast map, as the contrast map blends the window maps (same Gaussian
  taper), then divides by the largest magnitude.
- image: the image score is a weighted average of region scores (WaDIQaM: its 32 x 32
  tiles and their weights a_i; any other model: its 32 x 32 regions scored alone, equal
  weights), so s - q = sum_i a_i (s_i - q) / sum_j a_j exactly for WaDIQaM. Each region is
  painted with its share a_i (s_i - q) / sum_j a_j, divided by the largest magnitude.

Two contrast maps that are the same say so (``same_map_notes``): when every window lies on
the same side of both q, both maps are the same window maps scaled by their gaps. A side
whose windows show no evidence at the layer says so too (``silent_side_notes``): a window
above q is asked Why s_w? (scaled), one below q What if not s_w?, and either map can be all
zero after the ReLU, so the side map's shares count evidence, not windows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import torch

from rather.common.windows import blend_windows, extract_windows, window_grid

from .networks import PATCH, WaDIQaM

SAME_MAP_CORRELATION = 0.9
"""Two contrast maps whose Pearson correlation reaches this are reported as (nearly) the same map: they look alike
to an eye, which is what the note warns about."""


@dataclass(frozen=True)
class Sides:
    """Side maps (Q, H, W) in [-1, 1] for the Q contrasts and, per contrast, the local scores (windows or regions).

    unit: "window" (patchwise) or "region" (image mode); scores: (M,) the local scores; weights:
    (M,) their weights in the image score (ones but for WaDIQaM's tiles); evidence: (M, Q) bool,
    whether each window's contrast map has any non-zero value (image mode: whether the region's
    share of s - q is non-zero).
    """

    maps: torch.Tensor
    scores: np.ndarray
    weights: np.ndarray
    unit: str
    evidence: np.ndarray

    def records(self, contrasts: Sequence[float]) -> list[dict]:
        """Per contrast: the share of the side map's magnitude above and below q, the windows on each side, and
        how many of those show no evidence at all (their contrast map is all zero)."""
        records = []
        for index, (side, q) in enumerate(zip(self.maps, contrasts)):
            magnitude = float(side.abs().sum())
            above = float(side.clamp(min=0).sum()) / magnitude if magnitude > 0 else 0.0
            is_above, is_below, silent = self.scores > q, self.scores < q, ~self.evidence[:, index]
            records.append({
                "above_share": above, "below_share": 1.0 - above if magnitude > 0 else 0.0,
                f"{self.unit}s_above": int(is_above.sum()), f"{self.unit}s_below": int(is_below.sum()),
                f"{self.unit}s_above_without_evidence": int((is_above & silent).sum()),
                f"{self.unit}s_below_without_evidence": int((is_below & silent).sum()),
                f"{self.unit}s": int(self.scores.size),
            })
        return records


def normalised(maps: torch.Tensor) -> torch.Tensor:
    """Each map (Q, H, W) divided by its largest magnitude (all-zero maps stay zero)."""
    peak = maps.abs().amax(dim=(1, 2), keepdim=True)
    return torch.where(peak > 0, maps / torch.where(peak > 0, peak, 1.0), 0.0).float()


def window_signs(window_scores: torch.Tensor, contrasts: Sequence[float]) -> torch.Tensor:
    """(B, Q): sign(s_w - q) of each window and contrast, the factor patchwise side maps blend."""
    return torch.sign(window_scores.reshape(-1, 1).double() - torch.tensor(contrasts, dtype=torch.float64)[None])


def region_sides(model: torch.nn.Module, x: torch.Tensor, contrasts: Sequence[float], score) -> Sides:
    """Image mode's side maps of the stacked input x (1, C, H, W): each 32 x 32 region's share of s - q.

    ``score``: stacked windows -> their scores (N,), for a model that is not WaDIQaM.
    """
    height, width = x.shape[-2:]
    rows, cols = window_grid(height, width, PATCH, PATCH)
    windows = extract_windows(x, rows, cols, PATCH)
    with torch.no_grad():
        if isinstance(model, WaDIQaM):
            scores, weights = model.patch_outputs(windows.to(next(model.parameters()).device))
            scores, weights = scores.cpu().double(), weights.cpu().double()
        else:
            scores = score(windows).double()
            weights = torch.ones_like(scores)
    shares = weights[:, None] * (scores[:, None] - torch.tensor(contrasts, dtype=torch.float64)[None]) / weights.sum()
    painted = shares[:, :, None, None].expand(-1, -1, PATCH, PATCH)
    maps = blend_windows(painted, (height, width), rows, cols, taper="flat", dtype=torch.float64)
    return Sides(normalised(maps), scores.numpy(), weights.numpy(), "region", (shares != 0).numpy())


def same_map_notes(maps: torch.Tensor, contrasts: Sequence[float], local_scores: np.ndarray, unit: str) -> list[str]:
    """A sentence for each pair of contrast maps (Q, H, W) that are (nearly) the same map, saying why.

    A window (region) scoring below both q has the counterfactual map (What if not s?) in both,
    one above both has Why s? in both, only scaled by the gap; only one scoring between the two
    q has different maps in the two questions.
    """
    notes = []
    flat = maps.reshape(maps.shape[0], -1).double()
    for i in range(len(contrasts)):
        for j in range(i + 1, len(contrasts)):
            correlation = _correlation(flat[i], flat[j])
            if correlation < SAME_MAP_CORRELATION:
                continue
            low, high = sorted((contrasts[i], contrasts[j]))
            below, above = int((local_scores <= low).sum()), int((local_scores >= high).sum())
            between = local_scores.size - below - above
            pair = (f"Why s, rather than {contrasts[i]:.3g}? and Why s, rather than {contrasts[j]:.3g}? give the same "
                    f"map" + ("" if correlation == 1 else f" (correlation {correlation:.2f})"))
            if below == local_scores.size:
                why = (f"every {unit} scores below both, so each map is What if not s? of every {unit}, scaled by its "
                       f"gap to q: it shows where the image falls short of both, not which q is nearer")
            elif above == local_scores.size:
                why = (f"every {unit} scores above both, so each map is Why s? of every {unit}, scaled by its gap to "
                       f"q: it shows what earns the score, not which q is nearer")
            else:
                why = (f"{below} of the {local_scores.size} {unit}s score below both and {above} above both, where the "
                       f"two maps differ only by the gap's scale; only the {between} scoring between them tell the two "
                       f"questions apart")
            notes.append(f"{pair}: {why}; the side maps say on which side of q each {unit} lies")
    return notes


def silent_side_notes(records: Sequence[dict], contrasts: Sequence[float], unit: str) -> list[str]:
    """A sentence for each contrast where at least half of the windows (regions) on one side of q show no evidence.

    ``records``: ``Sides.records(contrasts)``; ``unit``: ``Sides.unit``. Such windows add nothing to the
    contrast map or the side map, so the side map's shares say where the evidence lies, not where the
    windows lie: e.g. an image whose windows mostly score above q can have an all-blue side map when
    Why s_w? is all zero at the layer for those windows.
    """
    notes = []
    for record, q in zip(records, contrasts):
        for side, wording in (("above", "Why s?"), ("below", "What if not s?")):
            total, silent = record[f"{unit}s_{side}"], record[f"{unit}s_{side}_without_evidence"]
            if total and 2 * silent >= total:
                count = f"all {total}" if silent == total else f"{silent} of the {total}"
                notes.append(f"Why s, rather than {q:.3g}?: {count} {unit}s scoring {side} q "
                             f"show no evidence at this layer (for them the question is {wording} of the "
                             f"{unit}, all zero after the ReLU), so the side map's shares weigh evidence, not "
                             f"{unit}s: {record[f'{unit}s_above']} of {record[f'{unit}s']} score above q")
    return notes


def _correlation(a: torch.Tensor, b: torch.Tensor) -> float:
    """Pearson correlation of two maps (1 for equal maps, 0 when one is constant)."""
    if torch.equal(a, b):
        return 1.0
    a, b = a - a.mean(), b - b.mean()
    scale = float(a.norm() * b.norm())
    return float((a * b).sum()) / scale if scale > 0 else 0.0
