"""``rather bench``: speed and memory targets as ratios measured in one run.

Each benchmark lives in ``bench_SUITE.py`` and is imported when it runs: the command's
help needs none of torch. A benchmark reports its steps through ``progress(message)``:
notes on stderr, shown by the command-line rule of ``rather.common.progress``.
"""
from __future__ import annotations

import argparse
import json

from rather.common.progress import Progress

NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in one run"
EXAMPLE = "rather bench core --json"


def whole_number(low: int, high: int):
    """An argparse ``type``: a whole number in [low, high]; anything else is a one-line usage error (exit 2)."""
    def parse(text: str) -> int:
        if not (text.isascii() and text.lstrip("-").isdigit()) or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"expected a whole number from {low} to {high}, got {text!r}")
        return int(text)

    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core", "seismic", "iqa", "recognition"], help="which benchmark")
    parser.add_argument("--batches", type=whole_number(1, 4096), nargs="+", default=[1, 16],
                        help="core: batch sizes")
    parser.add_argument("--loop-iterations", type=whole_number(1, 200), default=4,
                        help="core: contrasts of the paper's loop actually timed (then scaled to 200)")
    parser.add_argument("--repeats", type=whole_number(1, 100), default=3,
                        help="core: timed runs per figure at batch 1 (median)")
    parser.add_argument("--workers", help="seismic: Dask worker counts to compare, e.g. 1,2 (blocks per second, "
                        "speed-up, peak memory per worker)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    progress = Progress.for_command(json=args.json, asked=args.progress).note
    if args.suite == "core":
        from .bench_core import render_table, run_core

        report = run_core(batches=tuple(args.batches), loop_iterations=args.loop_iterations, repeats=args.repeats,
                          progress=progress)
        text = render_table(report)
    elif args.suite == "iqa":
        from .bench_iqa import render_iqa, run_iqa

        report = run_iqa(progress=progress)
        text = render_iqa(report)
    elif args.suite == "recognition":
        from .bench_recognition import render_recognition, run_recognition

        report = run_recognition(progress=progress)
        text = render_recognition(report)
    elif args.workers is not None:
        from .bench_seismic import render_seismic_workers, run_seismic_workers, worker_counts

        report = run_seismic_workers(worker_counts(args.workers), progress=progress)
        text = render_seismic_workers(report)
    else:
        from .bench_seismic import render_seismic, run_seismic

        report = run_seismic(progress=progress)
        text = render_seismic(report)
    print(json.dumps(report, indent=2) if args.json else text)
    return 0
