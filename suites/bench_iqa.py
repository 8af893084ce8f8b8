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

Fast mode (``--mode fast``: the patchwise question on every third column of windows, stride 4
down and 12 across) runs in the same rounds: ``fast_speedup`` is the loop's time over fast mode's
(median, min and max over the pairs), ``fast_correlation`` the Pearson r of the fast maps with
the exact ones, averaged over the questions whose maps vary (``map_agreement``: a constant map
is named, not averaged in). The benchmark pair (astronaut, JPEG) is the measurement set: fast
mode's grid was chosen on other photographs (``options.FAST_STRIDE``). A 1920 x 1080 pair is then
explained exactly (patchwise, stride 4) in a fresh process: its time and peak resident memory.
"""
from __future__ import annotations

import subprocess
import sys
from typing import Any, Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from rather.common import Explainer, load_model
from rather.common.windows import extract_windows, window_grid
from rather.iqa import quality_model
from rather.iqa.contrasts import LAYER, explain_patchwise, questions_for, stride_text
from rather.iqa.distortions import distort
from rather.iqa.networks import PATCH
from rather.iqa.options import DEFAULT_CHECKPOINT, FAST_STRIDE
from rather.iqa.synthetic import photo

from .bench_method import SLOW_PAIRS, Side, Spread, clock_for, interleave

CONTRAST = 0.75
STRIDE = 4
FULL_HD = (1080, 1920)
FULL_HD_PROBE = """
import sys, time
import torch
from rather.common import load_model
from rather.common.memory import peak_resident
from rather.iqa.contrasts import explain_patchwise
from rather.suites.bench_iqa import benchmark_pair
model, _ = load_model(weights=sys.argv[1])
x = benchmark_pair(int(sys.argv[2]), int(sys.argv[3]))
start = time.perf_counter()
explain_patchwise(model, x, [0.75], stride=4)
seconds = time.perf_counter() - start
print(seconds, peak_resident())
"""


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


def benchmark_pair(height: int = 384, width: int = 512) -> torch.Tensor:
    """A height x width pair (384 x 512 by default): the astronaut photo scaled to the width, its middle rows, and
    its JPEG version."""
    from skimage.transform import resize

    top = (width - height) // 2
    reference = resize(photo("astronaut"), (width, width), anti_aliasing=True).astype(np.float32)[top:top + height]
    distorted = distort(reference, "jpeg", 3, seed=0)
    return quality_model.pairs(distorted.transpose(2, 0, 1)[None], reference.transpose(2, 0, 1)[None])


def iqa_row(model, x: torch.Tensor, name: str, loop_windows: int = 48, pairs: int = SLOW_PAIRS,
            device: str = "cpu") -> dict[str, Any]:
    """One pair ``x`` (1, 6, H, W): ours (exact and fast) on every window against the loop on a sample, in pairs."""
    rows, cols = window_grid(x.shape[2], x.shape[3], PATCH, STRIDE)
    n_windows = len(rows) * len(cols)
    exact = explain_patchwise(model, x, [CONTRAST], stride=STRIDE)[0]
    fast = explain_patchwise(model, x, [CONTRAST], stride=FAST_STRIDE)[0]
    agreement = map_agreement(fast.maps[0].numpy(), exact.maps[0].numpy(),
                              [exact.title(0, k) for k in range(exact.n_questions)])
    rng = np.random.default_rng(0)
    sample = extract_windows(x, rows[rng.integers(0, len(rows), 1)], cols, PATCH)[:loop_windows].to(device)
    sides = {"ours": Side(lambda: explain_patchwise(model, x, [CONTRAST], stride=STRIDE)),
             "fast": Side(lambda: explain_patchwise(model, x, [CONTRAST], stride=FAST_STRIDE)),
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
        "fast_stride": FAST_STRIDE, "fast_seconds": timings.time("fast").median,
        "fast_speedup": timings.ratio("loop", "fast").as_json(), **agreement,
    }


def map_agreement(fast: np.ndarray, exact: np.ndarray, titles: Sequence[str]) -> dict[str, Any]:
    """How well fast maps (Q, H, W) follow the exact ones: ``fast_correlation``, the Pearson r of each question's
    pair of maps averaged over the ``fast_correlated`` questions where both maps vary (None when none does).

    A constant map (a question with no positive evidence anywhere) has no correlation with anything: it is named in
    ``fast_constant_maps`` ('Why 0.5, rather than 0.75? (fast and exact)'), not averaged in.
    """
    correlations, constant = [], []
    for fast_map, exact_map, title in zip(fast, exact, titles):
        flat = {"fast": fast_map.ravel().astype(np.float64), "exact": exact_map.ravel().astype(np.float64)}
        still = [name for name, values in flat.items() if np.ptp(values) == 0]
        if still:
            constant.append(f"{title} ({' and '.join(still)})")
        else:
            correlations.append(float(np.corrcoef(flat["fast"], flat["exact"])[0, 1]))
    return {"fast_correlation": float(np.mean(correlations)) if correlations else None,
            "fast_correlated": len(correlations), "fast_constant_maps": constant}


def run_iqa(loop_windows: int = 48, pairs: int = SLOW_PAIRS, device: str = "cpu", full_hd: bool = True,
            progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The committed quality model on the benchmark pair (:func:`iqa_row`); with ``full_hd``, then a
    1920 x 1080 pair explained exactly in a fresh process (minutes on two cores)."""
    model, _ = load_model(weights=DEFAULT_CHECKPOINT)
    model.to(device).requires_grad_(True)  # the loop takes parameter gradients, as the paper's code does
    x = benchmark_pair()
    progress(f"a {x.shape[3]} x {x.shape[2]} pair, stride {STRIDE}, two questions: ours on every window and the "
             f"paper's loop on {loop_windows}, in pairs")
    report = {"suite": "iqa", "target_speedup": 15, "target_fast_speedup": 100, "target_fast_correlation": 0.95,
              "rows": [iqa_row(model, x, "512x384", loop_windows, pairs, device)]}
    if not full_hd:
        return report
    progress(f"a {FULL_HD[1]} x {FULL_HD[0]} pair explained exactly (stride {STRIDE}) in a fresh process")
    probe = subprocess.run([sys.executable, "-c", FULL_HD_PROBE, str(DEFAULT_CHECKPOINT), *map(str, FULL_HD)],
                           capture_output=True, text=True, check=True)
    full_hd_seconds, full_hd_peak = probe.stdout.split()[-2:]
    report["full_hd"] = {"pair": list(FULL_HD), "seconds": float(full_hd_seconds), "peak_rss_bytes": int(full_hd_peak)}
    return report


def render_iqa(report: dict[str, Any]) -> str:
    """Every pair's figures; the speed-ups as median (min-max) over the pairs."""
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
            f"  fast mode ({stride_text(tuple(row['fast_stride']))}) {row['fast_seconds']:8.2f} s: "
            f"{Spread(**row['fast_speedup']).text(1)} x the loop (target >= {report['target_fast_speedup']} x), "
            f"{_agreement_text(row)} (target r >= {report['target_fast_correlation']})",
        ]
    full_hd = report.get("full_hd")
    if full_hd:
        lines.append(f"  {full_hd['pair'][1]} x {full_hd['pair'][0]} pair, exact: {full_hd['seconds']:.1f} s, "
                     f"peak memory {full_hd['peak_rss_bytes'] / 2**20:.0f} MiB")
    return "\n".join(lines)


def _agreement_text(row: dict[str, Any]) -> str:
    """The fast maps' correlation with the exact ones in words, the constant maps named."""
    if row["fast_correlation"] is None:
        text = "r undefined: every map is constant"
    else:
        text = f"r = {row['fast_correlation']:.3f} with the exact maps over {row['fast_correlated']} question(s)"
    if row["fast_constant_maps"]:
        text += f"; constant maps left out: {', '.join(row['fast_constant_maps'])}"
    return text
