"""The recognition benchmark: audit throughput, and all-pairs contrasts batched against the per-pair loop.

Throughput: the audit's own pieces on held-out synthetic birds with the committed
classifier, timed in one run: classifying every image, explaining every image
(Why P? and Why P, rather than the runner-up?), and the ground-truth metrics of
the audit (energy shares, deletion and insertion curves of three rankings,
part swap, sanity check). All-pairs contrasts: the P x Q atlas of Why P, rather
than Q? for every class Q, once as ``Rather.all()`` (one forward pass, one
batched product through the head) and once as a loop of one ``Rather(Q)`` call
per class, as a straightforward implementation asks; both give the same maps.
"""
from __future__ import annotations

import time
from typing import Any, Callable

import torch

from rather.common import Explainer, Rather, Why
from rather.recognition import classifier
from rather.recognition.audit import AuditOptions, all_logits, truth_report
from rather.recognition.data import Preprocess, SyntheticData


def _timed(function: Callable[[], Any]) -> tuple[Any, float]:
    started = time.perf_counter()
    value = function()
    return value, time.perf_counter() - started


def run_recognition(images: int = 200, progress: Callable[[str], None] = print) -> dict[str, Any]:
    model, meta = classifier.load_default()
    explainer = Explainer(model, layer=meta["layer"])
    preprocess = Preprocess(tuple(meta["preprocess"]["size"]))
    progress(f"rendering {images} held-out synthetic birds")
    data = SyntheticData(images, (classifier.HELD_OUT_OFFSET,), preprocess.size)
    x = preprocess.normalise(data.load(range(images))[0])
    progress("classifying, explaining, and the audit's ground-truth metrics")
    logits, forward = _timed(lambda: all_logits(model, data, preprocess, 128, "cpu"))
    _, explained = _timed(lambda: [explainer(x[i:i + 128], [Why(), Rather()]) for i in range(0, images, 128)])
    options = AuditOptions(truth_images=images)
    (truth, _), metrics = _timed(
        lambda: truth_report(model, explainer, data, preprocess, logits, options, True))
    progress("all-pairs contrasts: Rather.all() against one call per class")
    batch = x[:64]
    classes = logits.shape[1]
    atlas, batched = _timed(lambda: explainer(batch, Rather.all()))
    loop, looped = _timed(lambda: [explainer(batch, Rather(q)) for q in range(classes)])
    difference = max(float((atlas.maps[:, q] - result.maps[:, 0]).abs().max()) for q, result in enumerate(loop))
    return {
        "suite": "recognition", "threads": torch.get_num_threads(), "images": images,
        "input": list(preprocess.size), "classes": classes,
        "forward_seconds": forward, "explain_seconds": explained, "truth_metrics_seconds": metrics,
        "truth_images": truth["images"],
        "classify_images_per_second": images / forward,
        "audit_images_per_second": images / (forward + explained),
        "audit_with_truth_metrics_images_per_second": images / (forward + explained + metrics),
        "explain_over_forward": explained / forward,
        "all_pairs": {"images": len(batch), "contrasts": classes, "batched_seconds": batched,
                      "loop_seconds": looped, "loop_over_batched": looped / batched,
                      "max_map_difference": difference},
    }


def render_recognition(report: dict[str, Any]) -> str:
    pairs = report["all_pairs"]
    return "\n".join([
        f"recognition benchmark: {report['images']} synthetic birds of {report['input'][0]} x {report['input'][1]}, "
        f"{report['classes']} classes, {report['threads']} threads",
        f"  classify only                      {report['classify_images_per_second']:8.1f} images/s",
        f"  classify + Why P? + Why P, not Q?  {report['audit_images_per_second']:8.1f} images/s "
        f"(explanation / forward time {report['explain_over_forward']:.2f})",
        f"  + ground-truth metrics ({report['truth_images']} images)  "
        f"{report['audit_with_truth_metrics_images_per_second']:8.1f} images/s",
        f"  all-pairs contrasts, {pairs['images']} images x {pairs['contrasts']} classes: Rather.all() "
        f"{pairs['batched_seconds']:.3f} s, loop {pairs['loop_seconds']:.3f} s -> loop / batched "
        f"{pairs['loop_over_batched']:.1f} (max map difference {pairs['max_map_difference']:.1e})",
    ])
