"""The core benchmark: explanation time against forward-only time and the paper's loop.

Networks shaped like ResNet-50 (explained at ``layer4``, 2048 x 7 x 7, GAP +
linear head: gradient path "analytic") and VGG-16 (at ``features.29``, 512 x 14 x 14,
max-pool + three FC layers: path "first-linear", back to the first FC only), random
weights, 224 x 224 inputs. Results keep their full-size maps unmade until read, as a
caller who saves or shows a few of them would. For each batch size:

- forward: ``model(x)`` under ``no_grad``, the physical limit;
- one map: ``Explainer(x, Rather())``;
- all C: ``Explainer(x, Rather.all())`` for heads of C = 200 and 1000 classes;
- loop: the straightforward procedure of the authors' code, one contrast at a
  time: forward, ``cross_entropy(y, Q).backward()`` through the whole network,
  GAP, ReLU, upsampling, min-max, with the same head as the question set. It is
  timed on a few contrasts inside every pair and scaled to C (every iteration
  does the same work); one map's loop is one contrast.

Every side of a row runs in the same rounds (``bench_method.interleave``), so
each ratio is a median over pairs, with its min and max.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import torch
import torch.nn.functional as F
from torch import nn

from rather.common import Explainer, Rather
from rather.common.networks import resnet50_like, vgg16_like

from .bench_method import SLOW_PAIRS, Side, Spread, clock_for, interleave

TARGETS = {"one_map": 1.3, "all_200": {"resnet50": 1.3, "vgg16": 1.5}, "all_1000": {"resnet50": 1.3},
           "loop_over_ours": 300.0}
NETWORKS = {"resnet50": (resnet50_like, "layer4", "fc"), "vgg16": (vgg16_like, "features.29", "classifier.6")}


def with_classes(model: nn.Module, head: str, classes: int) -> nn.Module:
    """A copy of the network with a fresh last linear layer of ``classes`` outputs (``model`` is untouched)."""
    model = copy.deepcopy(model)
    parent_name, _, child = head.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    old = getattr(parent, child)
    torch.manual_seed(classes)
    setattr(parent, child, nn.Linear(old.in_features, classes, device=old.weight.device))
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
            F.cross_entropy(logits, torch.full((len(x),), q, device=x.device)).backward()
        finally:
            handle.remove()
        weights = activation.grad.mean(dim=(2, 3), keepdim=True)
        cam = F.relu((weights * activation).sum(1, keepdim=True)).detach()
        cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)
        low = cam.amin(dim=(2, 3), keepdim=True)
        span = cam.amax(dim=(2, 3), keepdim=True) - low
        maps.append(torch.where(span > 0, (cam - low) / span.clamp_min(1e-30), 0.0))
    return maps


def core_row(name: str, batch: int, classes=(200, 1000), loop_iterations: int = 4, pairs: int = SLOW_PAIRS,
             device: str = "cpu", size: int = 224) -> dict[str, Any]:
    """One network at one batch size: forward, one map, all C contrasts and the loop for every C, in pairs."""
    factory, layer, head = NETWORKS[name]
    torch.manual_seed(0)
    base = factory(num_classes=classes[-1]).eval().to(device)
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(batch)).to(device)
    models = {count: with_classes(base, head, count) for count in classes}
    explainers = {count: Explainer(model, layer=layer) for count, model in models.items()}

    def forward():
        with torch.no_grad():
            base(x)

    sides = {"forward": Side(forward), "one_map": Side(lambda: explainers[classes[-1]](x, Rather()))}
    for count in classes:
        sides[f"all_{count}"] = Side(lambda e=explainers[count]: e(x, Rather.all()))
        sides[f"loop_{count}"] = Side(lambda m=models[count]: paper_loop(m, layer, x, range(loop_iterations)),
                                      scale=count / loop_iterations,
                                      subset=f"{loop_iterations} of {count} contrasts timed in every pair, scaled")
    timings = interleave(sides, pairs=pairs, clock=clock_for(device))
    return {
        "network": name, "layer": layer, "batch": batch,
        "gradient_path": explainers[classes[0]](x[:1], Rather()).gradient_path,
        "seconds": {side: timings.time(side).median for side in sides},
        "ratios": {
            "one_map_over_forward": timings.ratio("one_map", "forward").as_json(),
            **{f"all_{c}_over_forward": timings.ratio(f"all_{c}", "forward").as_json() for c in classes},
            "loop_over_one_map": timings.ratio(f"loop_{classes[-1]}", "one_map", times=1 / classes[-1]).as_json(),
            **{f"loop_{c}_over_ours": timings.ratio(f"loop_{c}", f"all_{c}").as_json() for c in classes},
        },
        "pairs": timings.pairs, "loop_iterations_timed": loop_iterations, "subsets": timings.subsets,
    }


def run_core(batches=(1, 16), classes=(200, 1000), loop_iterations: int = 4, pairs: int = SLOW_PAIRS,
             device: str = "cpu", size: int = 224, progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Every network at every batch size (:func:`core_row`)."""
    rows = []
    for name in NETWORKS:
        for batch in batches:
            progress(f"{name}, batch {batch}: forward, one map, all {' and all '.join(map(str, classes))} contrasts "
                     f"and the paper's loop ({loop_iterations} of them), in pairs")
            rows.append(core_row(name, batch, classes, loop_iterations, pairs, device, size))
    return {"suite": "core", "input": [3, size, size], "classes": list(classes), "targets": TARGETS, "rows": rows}


def render_table(report: dict[str, Any]) -> str:
    """The figures as a plain-text table: median seconds, then ratios as median (min-max) over the pairs."""
    small, large = report["classes"]
    lines = [f"rather bench core: inputs {report['input'][1]}x{report['input'][2]}, random weights; times in seconds "
             "(median of the pairs), ratios median (min-max) over the pairs"]
    header = (f"{'network':9} {'batch':>5} {'path':>12} {'forward':>8} {'one map':>8} {f'all {small}':>8} "
              f"{f'all {large}':>9} {f'loop {small}*':>10} {f'loop {large}*':>11} {'pairs':>5} | {'one/fwd':>16} "
              f"{f'{small}/fwd':>16} {f'{large}/fwd':>16} {f'loop/ours {small}':>19} {f'loop/ours {large}':>19}")
    lines += [header, "-" * len(header)]
    for row in report["rows"]:
        s, r = row["seconds"], {key: Spread(**value) for key, value in row["ratios"].items()}
        lines.append(
            f"{row['network']:9} {row['batch']:>5} {row['gradient_path']:>12} {s['forward']:>8.3f} "
            f"{s['one_map']:>8.3f} {s[f'all_{small}']:>8.3f} {s[f'all_{large}']:>9.3f} {s[f'loop_{small}']:>10.1f} "
            f"{s[f'loop_{large}']:>11.1f} {row['pairs']:>5} | {r['one_map_over_forward'].text():>16} "
            f"{r[f'all_{small}_over_forward'].text():>16} {r[f'all_{large}_over_forward'].text():>16} "
            f"{r[f'loop_{small}_over_ours'].text(0):>19} {r[f'loop_{large}_over_ours'].text(0):>19}"
        )
    targets = report["targets"]
    lines.append(f"* loop: {report['rows'][0]['loop_iterations_timed']} contrast(s) timed in every pair, "
                 "scaled to all of them.")
    lines.append(f"targets: one/fwd <= {targets['one_map']}; {small}/fwd <= {targets['all_200']['resnet50']} "
                 f"(resnet50), <= {targets['all_200']['vgg16']} (vgg16); {large}/fwd <= "
                 f"{targets['all_1000']['resnet50']} (resnet50); loop/ours >= {targets['loop_over_ours']:.0f}")
    return "\n".join(lines)
