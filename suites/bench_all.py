"""``rather bench all``: every suite's benchmark at a size that takes a few minutes, as one table.

The table follows published CAM latency tables: per network and question set (one map,
all contrasts of a 200-class head, all contrasts of a 1000-class head), the time of a
forward pass, the time of the explanation, their ratio, and the speed-up over the
straightforward loop (a full backward pass per contrast, as the authors' code does);
then the seismic, IQA, recognition and Dask rows in the same columns. Every ratio is the
median over interleaved pairs with its min and max (``bench_method``); the suites' own
reports are kept whole under ``reports`` in ``--json``.
"""
from __future__ import annotations

import datetime
from typing import Any, Callable, Optional

from .bench_core import run_core
from .bench_iqa import run_iqa
from .bench_method import SLOW_PAIRS, Spread
from .bench_recognition import run_recognition
from .bench_seismic import run_seismic, run_seismic_workers

SIZES = {
    "core": {"batches": (1,)},
    "seismic": {"section": (200, 240), "loop_patches": 2, "patchwise": False, "memory_inlines": ()},
    "iqa": {"loop_windows": 16, "full_hd": False},
    "recognition": {"images": 64},
    "dask": {"counts": [1, 2], "sizes": (4,), "crosslines": 80, "samples": 100, "block_lines": 1},
}
"""What ``bench all`` runs: smaller than each suite's own default, so the whole table takes a few minutes."""


def run_all(pairs: int = SLOW_PAIRS, device: str = "cpu", loop_iterations: int = 4,
            progress: Callable[[str], None] = print) -> dict[str, Any]:
    """Every suite at :data:`SIZES`; the table's rows (:func:`table_rows`) and each suite's whole report."""
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    progress("core: ResNet-50- and VGG-16-shaped networks")
    reports = {"core": run_core(**SIZES["core"], loop_iterations=loop_iterations, pairs=pairs, device=device,
                                progress=progress)}
    progress("seismic: one synthetic inline")
    reports["seismic"] = run_seismic(**SIZES["seismic"], pairs=pairs, device=device, progress=progress)
    progress("iqa: one pair, patchwise")
    reports["iqa"] = run_iqa(**SIZES["iqa"], pairs=pairs, device=device, progress=progress)
    progress("recognition: held-out synthetic birds")
    reports["recognition"] = run_recognition(**SIZES["recognition"], pairs=pairs, device=device, progress=progress)
    progress("dask: a synthetic survey in blocks, on the CPU")
    reports["dask"] = run_seismic_workers(pairs=pairs, progress=progress, **SIZES["dask"])
    return {"suite": "all", "date": date, "device": device, "rows": table_rows(reports), "reports": reports}


def row(network: str, questions: str, seconds: float, pairs: int, forward: Optional[float] = None,
        over_forward: Optional[dict] = None, speed_up: Optional[dict] = None, loop: str = "") -> dict[str, Any]:
    """One line of the table; ``over_forward`` and ``speed_up`` are ``Spread.as_json()`` dicts or None."""
    return {"network": network, "questions": questions, "forward_seconds": forward, "seconds": seconds,
            "over_forward": over_forward, "speed_up": speed_up, "loop": loop, "pairs": pairs}


def table_rows(reports: dict[str, Any]) -> list[dict[str, Any]]:
    """The table's rows from the suites' reports, in the order printed."""
    rows = []
    small, large = reports["core"]["classes"]
    for core in reports["core"]["rows"]:
        network = f"{core['network']} ({core['layer']})"
        s, r, pairs = core["seconds"], core["ratios"], core["pairs"]
        rows += [
            row(network, "one map", s["one_map"], pairs, s["forward"], r["one_map_over_forward"],
                r["loop_over_one_map"], "one contrast"),
            row(network, f"all contrasts, {small} classes", s[f"all_{small}"], pairs, s["forward"],
                r[f"all_{small}_over_forward"], r[f"loop_{small}_over_ours"], f"{small} contrasts*"),
            row(network, f"all contrasts, {large} classes", s[f"all_{large}"], pairs, s["forward"],
                r[f"all_{large}_over_forward"], r[f"loop_{large}_over_ours"], f"{large} contrasts*"),
        ]
    seismic = reports["seismic"]
    inline = f"seismic ({seismic['section'][0]}x{seismic['section'][1]} inline)"
    rows += [
        row(inline, f"{seismic['patches']} patches x 5 questions, stride 10", seismic["ours_seconds"],
            seismic["pairs"], seismic["forward_seconds"], seismic["ours_over_forward"], seismic["speed_up"],
            "per patch*"),
        row(inline, f"{seismic['aligned']['patches']} patches x 5 questions, stride {seismic['aligned']['stride']}",
            seismic["aligned"]["ours_seconds"], seismic["pairs"], speed_up=seismic["aligned"]["speed_up"],
            loop="per patch*"),
    ]
    for iqa in reports["iqa"]["rows"]:
        rows.append(row(f"iqa ({iqa['pair'][1]}x{iqa['pair'][0]} pair)",
                        f"{iqa['windows']} windows x 2 questions, stride {iqa['stride']}", iqa["ours_seconds"],
                        iqa["pairs"], speed_up=iqa["speedup"], loop="per window*"))
    birds = reports["recognition"]
    network = f"recognition ({birds['images']} birds)"
    rows += [
        row(network, "Why P? + Why P, rather than the runner-up?", birds["explain_seconds"], birds["pairs"],
            birds["forward_seconds"], birds["explain_over_forward"]),
        row(network, f"all {birds['classes']} contrasts of {birds['all_pairs']['images']} birds",
            birds["all_pairs"]["batched_seconds"], birds["pairs"], speed_up=birds["all_pairs"]["loop_over_batched"],
            loop="one call per class"),
    ]
    first = reports["dask"]["runs"][0]["workers"]
    for run in reports["dask"]["runs"]:
        if run["workers"] != first:
            rows.append(row(f"dask ({run['inlines']} inlines, CPU)",
                            f"{run['blocks']} blocks, {run['workers']} workers", run["seconds"], run["pairs"],
                            speed_up=run["speed_up"], loop=f"{first} worker"))
    return rows


def duration(seconds: Optional[float]) -> str:
    """``"66 ms"`` under a second, ``"2.41 s"`` above; ``"-"`` for none."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def spread(figures: Optional[dict], digits: int) -> str:
    return Spread(**figures).text(digits) if figures else "-"


def render_all(report: dict[str, Any]) -> str:
    """The table, then what a starred loop timed (the subsets) and how to read the columns."""
    header = (f"{'network / domain':34} {'question set':44} {'forward':>8} {'time':>9} {'x forward':>17} "
              f"{'speed-up over the loop':>24}  {'loop':19} {'pairs':>5}")
    lines = [f"rather bench all, {report['date']}, device {report['device']}: times are medians over the pairs; "
             "ratios are median (min-max) over the pairs", header, "-" * len(header)]
    for line in report["rows"]:
        speed = spread(line["speed_up"], 1 if line["speed_up"] and line["speed_up"]["median"] < 10 else 0)
        lines.append(f"{line['network']:34} {line['questions']:44} {duration(line['forward_seconds']):>8} "
                     f"{duration(line['seconds']):>9} {spread(line['over_forward'], 2):>17} {speed:>24}  "
                     f"{line['loop']:19} {line['pairs']:>5}")
    reports = report["reports"]
    subsets = [*reports["core"]["rows"][0]["subsets"].values(), reports["seismic"]["subsets"]["loop"],
               *(iqa["subsets"]["loop"] for iqa in reports["iqa"]["rows"])]
    lines.append("* timed on a subset inside every pair, then scaled: " + "; ".join(
        text.replace(" timed in every pair, scaled", "") for text in subsets))
    lines.append("loop: the straightforward procedure, a forward and a full backward pass per contrast (per window, "
                 "per patch and question); dask: the same blocks on a local cluster, speed-up over one worker")
    return "\n".join(lines)
