"""``rather bench``: speed and memory targets as ratios measured in one run."""
from __future__ import annotations

import argparse
import json
import sys

from .bench_core import render_table, run_core
from .bench_iqa import render_iqa, run_iqa
from .bench_recognition import render_recognition, run_recognition
from .bench_seismic import render_seismic, render_seismic_workers, run_seismic, run_seismic_workers, worker_counts

NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in one run"
EXAMPLE = "rather bench core --json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core", "seismic", "iqa", "recognition"], help="which benchmark")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], help="core: batch sizes")
    parser.add_argument("--loop-iterations", type=int, default=4,
                        help="core: contrasts of the paper's loop actually timed (then scaled to 200)")
    parser.add_argument("--repeats", type=int, default=3, help="core: timed runs per figure at batch 1 (median)")
    parser.add_argument("--workers", help="seismic: Dask worker counts to compare, e.g. 1,2 (blocks per second, "
                        "speed-up, peak memory per worker)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    progress = (lambda message: print(message, file=sys.stderr)) if args.json else print
    if args.suite == "core":
        report = run_core(batches=tuple(args.batches), loop_iterations=args.loop_iterations, repeats=args.repeats,
                          progress=progress)
        text = render_table(report)
    elif args.suite == "iqa":
        report = run_iqa(progress=progress)
        text = render_iqa(report)
    elif args.suite == "recognition":
        report = run_recognition(progress=progress)
        text = render_recognition(report)
    elif args.workers is not None:
        report = run_seismic_workers(worker_counts(args.workers), progress=progress)
        text = render_seismic_workers(report)
    else:
        report = run_seismic(progress=progress)
        text = render_seismic(report)
    print(json.dumps(report, indent=2) if args.json else text)
    return 0
