"""The core benchmark: explanation time against forward-only time and the paper's loop.

Networks shaped like ResNet-50 (explained at ``layer4``, 2048 x 7 x 7, GAP +
linear head: gradient path "analytic") and VGG-16 (at ``features.29``, 512 x 14 x 14,
max-pool + three FC layers: path "first-linear", back to the first FC only), random
weights, 224 x 224 inputs. Results keep their full-size maps unmade until read, as a
caller who saves or shows a few of them would. For each batch size:

- forward: ``model(x)`` under ``no_grad``, the physical limit;
- one map: ``Explainer(x, Rather())``;
- all C: ``Explainer(x, Rather.all())`` for heads of C = 200 and 1000 classes;
- loop: the straightforward procedure of the authors' code for C = 200, one
  contrast at a time: forward, ``cross_entropy(y, Q).backward()`` through the
  whole network, GAP, ReLU, upsampling, min-max. It is timed over a few of the
  200 contrasts and scaled to 200 (every iteration does the same work).
"""
from __future__ import annotations

import statistics
import time
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from rather.common import Explainer, Rather
from rather.common.networks import resnet50_like, vgg16_like

TARGETS = {"one_map": 1.3, "all_200": {"resnet50": 1.3, "vgg16": 1.5}, "all_1000": {"resnet50": 1.3},
           "loop_over_ours": 300.0}
NETWORKS = {"resnet50": (resnet50_like, "layer4", "fc"), "vgg16": (vgg16_like, "features.29", "classifier.6")}


def timed(work: Callable[[], Any], repeats: int) -> float:
    """Median wall time of ``repeats`` runs, after one warm-up run."""
    work()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def with_classes(model: nn.Module, head: str, classes: int) -> nn.Module:
    """The same network with a fresh last linear layer of ``classes`` outputs."""
    parent_name, _, child = head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child)
    torch.manual_seed(classes)
    setattr(parent, child, nn.Linear(old.in_features, classes))
    return model.eval()


def paper_loop(model: nn.Module, layer: str, x: torch.Tensor, contrasts) -> list[torch.Tensor]:
    """One contrast at a time, as the authors' code does: full forward and backward per Q."""
    module = model.get_submodule(layer)
    maps = []
    for q in contrasts:
        saved = {}
        handle = module.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
        model.zero_grad()
        activation = None
        try:
            logits = model(x)
            activation = saved["a"]
            activation.retain_grad()
            F.cross_entropy(logits, torch.full((len(x),), q)).backward()
        finally:
            handle.remove()
        weights = activation.grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activation).sum(1, keepdim=True)).detach()
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        low = cam.amin(dim=(2, 3), keepdim=True)
        span = cam.amax(dim=(2, 3), keepdim=True) - low
        maps.append(torch.where(span > 0, (cam - low) / span.clamp_min(1e-30), 0.0))
    return maps


def run_core(batches=(1, 16), classes=(200, 1000), loop_iterations: int = 4, repeats: int = 3,
             progress: Callable[[str], None] = print) -> dict[str, Any]:
    rows = []
    for name, (factory, layer, head) in NETWORKS.items():
        torch.manual_seed(0)
        base = factory(num_classes=classes[-1]).eval()
        for batch in batches:
            x = torch.randn(batch, 3, 224, 224, generator=torch.Generator().manual_seed(batch))
            times: dict[str, float] = {}
            reps = repeats if batch == 1 else 1
            progress(f"{name}, batch {batch}: forward")
            with torch.no_grad():
                times["forward"] = timed(lambda: base(x), reps)
            times["one_map"] = timed(lambda e=Explainer(base, layer=layer): e(x, Rather()), reps)
            for count in classes:
                progress(f"{name}, batch {batch}: all {count} contrasts")
                model = with_classes(base, head, count)
                explainer = Explainer(model, layer=layer)
                times[f"all_{count}"] = timed(lambda: explainer(x, Rather.all()), reps)
            progress(f"{name}, batch {batch}: the paper's loop ({loop_iterations} of {classes[0]} contrasts)")
            model = with_classes(base, head, classes[0])
            for param in model.parameters():
                param.requires_grad_(True)
            per_contrast = timed(lambda: paper_loop(model, layer, x, range(loop_iterations)), 1) / loop_iterations
            times[f"loop_{classes[0]}"] = per_contrast * classes[0]
            path = Explainer(model, layer=layer)(x[:1], Rather()).gradient_path
            rows.append({
                "network": name, "layer": layer, "batch": batch, "gradient_path": path,
                "seconds": {key: round(value, 4) for key, value in times.items()},
                "ratios": {
                    "one_map_over_forward": times["one_map"] / times["forward"],
                    **{f"all_{c}_over_forward": times[f"all_{c}"] / times["forward"] for c in classes},
                    f"loop_{classes[0]}_over_ours": times[f"loop_{classes[0]}"] / times[f"all_{classes[0]}"],
                },
                "loop_iterations_timed": loop_iterations,
            })
    return {
        "suite": "core",
        "device": "cpu",
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "input": [3, 224, 224],
        "targets": TARGETS,
        "rows": rows,
    }


def render_table(report: dict[str, Any]) -> str:
    """The figures as a plain-text table, ratios last."""
    lines = [f"rather bench core: CPU, {report['threads']} threads, torch {report['torch']}, inputs 224x224, "
             "random weights; times in seconds (median)"]
    header = (f"{'network':9} {'batch':>5} {'path':>12} {'forward':>8} {'one map':>8} {'all 200':>8} "
              f"{'all 1000':>9} {'loop 200*':>10} | {'one/fwd':>7} {'200/fwd':>7} {'1000/fwd':>8} {'loop/ours':>9}")
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        s, r = row["seconds"], row["ratios"]
        lines.append(
            f"{row['network']:9} {row['batch']:>5} {row['gradient_path']:>12} {s['forward']:>8.3f} "
            f"{s['one_map']:>8.3f} {s['all_200']:>8.3f} {s['all_1000']:>9.3f} {s['loop_200']:>10.1f} | "
            f"{r['one_map_over_forward']:>7.2f} {r['all_200_over_forward']:>7.2f} "
            f"{r['all_1000_over_forward']:>8.2f} {r['loop_200_over_ours']:>9.0f}"
        )
    targets = report["targets"]
    lines.append(f"* loop 200: {report['rows'][0]['loop_iterations_timed']} contrasts timed, scaled to 200.")
    lines.append(f"targets: one/fwd <= {targets['one_map']}; 200/fwd <= {targets['all_200']['resnet50']} "
                 f"(resnet50), <= {targets['all_200']['vgg16']} (vgg16); 1000/fwd <= {targets['all_1000']['resnet50']} "
                 f"(resnet50); loop/ours >= {targets['loop_over_ours']:.0f}")
    return "\n".join(lines)
