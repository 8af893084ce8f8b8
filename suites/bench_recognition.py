"""The recognition benchmark: audit throughput, and all-pairs contrasts batched against the per-pair loop.

Throughput: the audit's own pieces on held-out synthetic birds with the committed
classifier, timed in one run: classifying every image, explaining every image
(Why P? and Why P, rather than the runner-up?), and the ground-truth metrics of
the audit (energy shares, deletion and insertion curves of three rankings,
part swap, sanity check). All-pairs contrasts: the P x Q atlas of Why P, rather
than Q? for every class Q, once as ``Rather.all()`` (one forward pass, one
batched product through the head) and once as a loop of one ``Rather(Q)`` call
per class, as a straightforward implementation asks; both give the same maps.
Every piece runs in the same rounds (``bench_method.interleave``): the ratios are
medians over pairs with their min and max, the rates come from median times.
"""
from __future__ import annotations

from typing import Any, Callable

import torch

from rather.common import Explainer, Rather, Why
from rather.recognition import classifier
from rather.recognition.audit import AuditOptions, all_logits, truth_report
from rather.recognition.data import Preprocess, SyntheticData

from .bench_method import SLOW_PAIRS, Side, Spread, clock_for, interleave


def run_recognition(images: int = 200, pairs: int = SLOW_PAIRS, device: str = "cpu",
                    progress: Callable[[str], None] = print) -> dict[str, Any]:
    """The audit's pieces on ``images`` held-out birds and the all-pairs atlas of 64 of them, in pairs."""
    model, meta = classifier.load_default()
    model.to(device)
    explainer = Explainer(model, layer=meta["layer"])
    preprocess = Preprocess(tuple(meta["preprocess"]["size"]))
    progress(f"rendering {images} held-out synthetic birds")
    data = SyntheticData(images, (classifier.HELD_OUT_OFFSET,), preprocess.size)
    x = preprocess.normalise(data.load(range(images))[0]).to(device)
    logits = all_logits(model, data, preprocess, 128, device)
    options = AuditOptions(truth_images=images)
    batch = x[:64]
    classes = logits.shape[1]
    progress("classifying, explaining, the audit's ground-truth metrics, and all-pairs contrasts (Rather.all() "
             "against one call per class), in pairs")
    sides = {
        "forward": Side(lambda: all_logits(model, data, preprocess, 128, device)),
        "explain": Side(lambda: [explainer(x[i:i + 128], [Why(), Rather()]) for i in range(0, images, 128)]),
        "truth_metrics": Side(lambda: truth_report(model, explainer, data, preprocess, logits, options, True)),
        "batched": Side(lambda: explainer(batch, Rather.all())),
        "loop": Side(lambda: [explainer(batch, Rather(q)) for q in range(classes)]),
    }
    timings = interleave(sides, pairs=pairs, clock=clock_for(device))
    forward, explained, metrics = (timings.time(side).median for side in ("forward", "explain", "truth_metrics"))
    truth, _ = truth_report(model, explainer, data, preprocess, logits, options, True)
    atlas = explainer(batch, Rather.all())
    difference = max(float((atlas.maps[:, q] - explainer(batch, Rather(q)).maps[:, 0]).abs().max())
                     for q in range(classes))
    return {
        "suite": "recognition", "images": images, "input": list(preprocess.size), "classes": classes,
        "forward_seconds": forward, "explain_seconds": explained, "truth_metrics_seconds": metrics,
        "truth_images": truth["images"], "pairs": timings.pairs,
        "classify_images_per_second": images / forward,
        "audit_images_per_second": images / (forward + explained),
        "audit_with_truth_metrics_images_per_second": images / (forward + explained + metrics),
        "explain_over_forward": timings.ratio("explain", "forward").as_json(),
        "all_pairs": {"images": len(batch), "contrasts": classes, "batched_seconds": timings.time("batched").median,
                      "loop_seconds": timings.time("loop").median,
                      "loop_over_batched": timings.ratio("loop", "batched").as_json(),
                      "max_map_difference": difference},
    }


def render_recognition(report: dict[str, Any]) -> str:
    """The rates and ratios, one line each."""
    pairs = report["all_pairs"]
    return "\n".join([
        f"recognition benchmark: {report['images']} synthetic birds of {report['input'][0]} x {report['input'][1]}, "
        f"{report['classes']} classes, {report['pairs']} pairs; rates from median times, ratios median (min-max)",
        f"  classify only                      {report['classify_images_per_second']:8.1f} images/s",
        f"  classify + Why P? + Why P, not Q?  {report['audit_images_per_second']:8.1f} images/s "
        f"(explanation / forward time {Spread(**report['explain_over_forward']).text()})",
        f"  + ground-truth metrics ({report['truth_images']} images)  "
        f"{report['audit_with_truth_metrics_images_per_second']:8.1f} images/s",
        f"  all-pairs contrasts, {pairs['images']} images x {pairs['contrasts']} classes: Rather.all() "
        f"{pairs['batched_seconds']:.3f} s, loop {pairs['loop_seconds']:.3f} s -> loop / batched "
        f"{Spread(**pairs['loop_over_batched']).text(1)} (max map difference {pairs['max_map_difference']:.1e})",
    ])
