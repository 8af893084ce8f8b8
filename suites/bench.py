"""``rather bench``: speed and memory targets as ratios measured in interleaved pairs, with the machine's state.

Each benchmark lives in ``bench_SUITE.py`` and is imported when it runs: the command's
help needs none of torch. Every ratio comes from ``bench_method.interleave`` (paired
timings, median with min and max); every report carries the machine's state
(``bench_method.machine_at_start`` / ``machine_at_end``) and its text starts with it, with
a warning on the first line when the load average exceeded the core count. A benchmark
reports its steps through ``progress(message)``: notes on stderr, shown by the
command-line rule of ``rather.common.progress``.
"""
from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from rather.common.errors import BadInput
from rather.common.progress import Progress

NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in interleaved pairs"
EXAMPLE = "rather bench all --json"


def whole_number(low: int, high: int):
    """An argparse ``type``: a whole number in [low, high]; anything else is a one-line usage error (exit 2)."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.lstrip("-").isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return int(text)

    return parse


def worker_counts(text: str) -> list[int]:
    """``"1,2"`` -> [1, 2]; anything else is refused (BadInput)."""
    try:
        counts = [int(part) for part in text.split(",")]
    except ValueError:
        counts = []
    if not counts or min(counts) < 1:
        raise BadInput(f"--workers takes positive worker counts separated by commas, e.g. 1,2; got '{text}'")
    return counts


def device_choice(text: str) -> str:
    """An argparse ``type``: ``cpu``, ``cuda`` or ``cuda:N``, spelled as torch spells them."""
    number = text[5:] if text.startswith("cuda:") else "0"
    if text not in ("cpu", "cuda") and not (text.startswith("cuda:") and number.isascii() and number.isdigit()):
        raise argparse.ArgumentTypeError(f"expected cpu, cuda or cuda:N, got {text!r}")
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core", "seismic", "iqa", "recognition", "all"],
                        help="which benchmark; all: every suite at a size that takes a few minutes, as one table")
    parser.add_argument("--batches", type=whole_number(1, 4096), nargs="+", default=[1, 16],
                        help="core: batch sizes")
    parser.add_argument("--loop-iterations", type=whole_number(1, 200), default=4,
                        help="core: contrasts of the paper's loop timed in every pair (then scaled to all)")
    parser.add_argument("--pairs", type=whole_number(3, 100), default=3,
                        help="timed pairs per comparison, at least: 5 are run anyway where a pair takes under a "
                             "second (default: 3, the least)")
    parser.add_argument("--device", type=device_choice, default="cpu",
                        help="where the networks run: cpu, cuda or cuda:N (the Dask row runs on the CPU)")
    parser.add_argument("--workers", help="seismic: Dask worker counts to compare, e.g. 1,2 (blocks per second, "
                        "speed-up, peak memory per worker)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def check_device(device: str) -> None:
    """Refuse a GPU that torch cannot see, before any work."""
    if device == "cpu":
        return
    import torch

    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    index = int(device[5:]) if ":" in device else 0
    if index >= count:
        raise BadInput(f"--device {device}: torch sees {count} CUDA GPU(s) here; "
                       "run on a machine with one, or leave --device out to run on the CPU")


def measure(args: argparse.Namespace, progress: Callable[[str], None]) -> tuple[dict[str, Any], str]:
    """(report, text) of the benchmark ``args`` ask for."""
    if args.suite == "all":
        from .bench_all import render_all, run_all

        report = run_all(pairs=args.pairs, device=args.device, loop_iterations=args.loop_iterations,
                         progress=progress)
        return report, render_all(report)
    if args.suite == "core":
        from .bench_core import render_table, run_core

        report = run_core(batches=tuple(args.batches), loop_iterations=args.loop_iterations, pairs=args.pairs,
                          device=args.device, progress=progress)
        return report, render_table(report)
    if args.suite == "iqa":
        from .bench_iqa import render_iqa, run_iqa

        report = run_iqa(pairs=args.pairs, device=args.device, progress=progress)
        return report, render_iqa(report)
    if args.suite == "recognition":
        from .bench_recognition import render_recognition, run_recognition

        report = run_recognition(pairs=args.pairs, device=args.device, progress=progress)
        return report, render_recognition(report)
    if args.workers is not None:
        from .bench_seismic import render_seismic_workers, run_seismic_workers

        report = run_seismic_workers(worker_counts(args.workers), pairs=args.pairs, progress=progress)
        return report, render_seismic_workers(report)
    from .bench_seismic import render_seismic, run_seismic

    report = run_seismic(pairs=args.pairs, device=args.device, progress=progress)
    return report, render_seismic(report)


def run(args: argparse.Namespace) -> int:
    from .bench_method import machine_at_end, machine_at_start, machine_lines

    progress = Progress.for_command(json=args.json, asked=args.progress).note
    if args.workers is not None and args.suite != "seismic":
        raise BadInput(f"--workers compares Dask worker counts of the seismic benchmark, not of '{args.suite}'; "
                       "use it with 'rather bench seismic'")
    if args.workers is not None:
        worker_counts(args.workers)  # refused before any work
    check_device(args.device)
    machine = machine_at_start(args.device)
    report, text = measure(args, progress)
    report["machine"] = machine = machine_at_end(machine)
    print(json.dumps(report, indent=2) if args.json else "\n".join([*machine_lines(machine), text]))
    return 0
