"""The IQA benchmark: the patchwise map of a 512 x 384 pair, the paper's loop against ours, in one run.

The paper's procedure (Prabhushankar et al. explaining WaDIQaM-FR): every 32 x 32
window at stride 4, one at a time and one question at a time, a forward pass and
a full backward pass (``loss.backward()``, parameter gradients included), Grad-CAM
at conv10 of the distorted branch. It is timed over a sample of windows and scaled
to all of them (every window costs the same). Ours: ``explain_patchwise``, windows
in large batches, both questions (Why s? and Why s, rather than 0.75?) from one
forward pass, gradients through the heads only. Both run in the same rounds
(``bench_method.interleave``), the loop's sample inside every pair, so the
speed-up is a median over pairs with its min and max. The maps of the sampled
windows are compared: the largest absolute difference between the loop's raw
window maps and ours.
"""
from __future__ import annotations

from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from rather.common import Explainer, load_model
from rather.common.windows import extract_windows, window_grid
from rather.iqa import quality_model
from rather.iqa.contrasts import LAYER, explain_patchwise, questions_for
from rather.iqa.distortions import distort
from rather.iqa.networks import PATCH
from rather.iqa.synthetic import photo

from .bench_method import SLOW_PAIRS, Side, Spread, clock_for, interleave

CONTRAST = 0.75
STRIDE = 4


def paper_loop(model, windows: torch.Tensor, contrast: float) -> torch.Tensor:
    """(B, 2, h, w) raw maps of Why s? and Why s, rather than q?, one window and one question at a time."""
    maps = []
    for window in windows:
        for question in range(2):
            seen = []
            handle = model.features.register_forward_hook(lambda module, inputs, output: seen.append(output))
            model.zero_grad()
            score = model(window[None])
            handle.remove()
            activation = seen[0]  # the distorted branch: the first call of the shared trunk
            activation.retain_grad()
            loss = score.sum() if question == 0 else (score - contrast).pow(2).sum()
            loss.backward()
            weights = activation.grad.mean(dim=(2, 3), keepdim=True)
            maps.append(F.relu((weights * activation).sum(1)).detach()[0])
    return torch.stack(maps).view(len(windows), 2, *maps[0].shape)


def benchmark_pair() -> torch.Tensor:
    """A 384 x 512 pair: a crop of the astronaut photo (scaled up) and its JPEG version."""
    from skimage.transform import resize

    reference = resize(photo("astronaut"), (512, 512), anti_aliasing=True).astype(np.float32)[64:448]
    distorted = distort(reference, "jpeg", 3, seed=0)
    return quality_model.pairs(distorted.transpose(2, 0, 1)[None], reference.transpose(2, 0, 1)[None])


def iqa_row(model, x: torch.Tensor, name: str, loop_windows: int = 48, pairs: int = SLOW_PAIRS,
            device: str = "cpu") -> dict[str, Any]:
    """One pair ``x`` (1, 6, H, W): ours on every window against the loop on a sample, in pairs."""
    rows, cols = window_grid(x.shape[2], x.shape[3], PATCH, STRIDE)
    n_windows = len(rows) * len(cols)
    rng = np.random.default_rng(0)
    sample = extract_windows(x, rows[rng.integers(0, len(rows), 1)], cols, PATCH)[:loop_windows].to(device)
    sides = {"ours": Side(lambda: explain_patchwise(model, x, [CONTRAST], stride=STRIDE)),
             "loop": Side(lambda: paper_loop(model, sample, CONTRAST), scale=n_windows / len(sample),
                          subset=f"{len(sample)} of {n_windows} windows timed in every pair, scaled")}
    timings = interleave(sides, pairs=pairs, clock=clock_for(device))
    loop_maps = paper_loop(model, sample, CONTRAST)
    ours_maps = Explainer(model, layer=LAYER, call=0, head="autograd")(sample, questions_for([CONTRAST])).raw
    return {
        "name": name, "pair": [int(x.shape[2]), int(x.shape[3])], "windows": n_windows, "stride": STRIDE,
        "questions": 2, "ours_seconds": timings.time("ours").median,
        "loop_seconds_scaled": timings.time("loop").median, "loop_windows_timed": len(sample),
        "speedup": timings.ratio("loop", "ours").as_json(), "pairs": timings.pairs, "subsets": timings.subsets,
        "max_abs_diff": float((loop_maps - ours_maps.to(loop_maps.device)).abs().max()),
        "max_abs_map": float(loop_maps.abs().max()),
    }


def run_iqa(loop_windows: int = 48, pairs: int = SLOW_PAIRS, device: str = "cpu",
            progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The committed quality model on the benchmark pair (:func:`iqa_row`)."""
    model, _ = load_model(weights=quality_model.DEFAULT_CHECKPOINT)
    model.to(device).requires_grad_(True)  # the loop takes parameter gradients, as the paper's code does
    x = benchmark_pair()
    progress(f"a {x.shape[3]} x {x.shape[2]} pair, stride {STRIDE}, two questions: ours on every window and the "
             f"paper's loop on {loop_windows}, in pairs")
    return {"suite": "iqa", "target_speedup": 15, "rows": [iqa_row(model, x, "512x384", loop_windows, pairs, device)]}


def render_iqa(report: dict[str, Any]) -> str:
    """Every pair's figures; the speed-up as median (min-max) over the pairs."""
    lines = []
    for row in report["rows"]:
        lines += [
            f"rather bench iqa: patchwise map of a {row['pair'][1]} x {row['pair'][0]} pair, {row['windows']} "
            f"windows (stride {row['stride']}), {row['questions']} questions, {row['pairs']} pairs",
            f"  ours       {row['ours_seconds']:8.2f} s",
            f"  loop*      {row['loop_seconds_scaled']:8.2f} s",
            f"  speed-up   {Spread(**row['speedup']).text(1)} x   (target >= {report['target_speedup']} x)",
            f"  max abs difference of the window maps {row['max_abs_diff']:.2e} "
            f"(largest map value {row['max_abs_map']:.2e})",
            f"  * loop: {row['subsets']['loop']} to all windows (forward + full backward per window per question)",
        ]
    return "\n".join(lines)
