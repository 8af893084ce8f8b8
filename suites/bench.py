"""``rather bench``: speed and memory targets as ratios measured in one run."""
from __future__ import annotations

import argparse
import json
import sys

from .bench_core import render_table, run_core
from .bench_iqa import render_iqa, run_iqa
from .bench_seismic import render_seismic, run_seismic

NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in one run"
EXAMPLE = "rather bench core --json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core", "seismic", "iqa"], help="which benchmark")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], help="core: batch sizes")
    parser.add_argument("--loop-iterations", type=int, default=4,
                        help="core: contrasts of the paper's loop actually timed (then scaled to 200)")
    parser.add_argument("--repeats", type=int, default=3, help="core: timed runs per figure at batch 1 (median)")
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
    else:
        report = run_seismic(progress=progress)
        text = render_seismic(report)
    print(json.dumps(report, indent=2) if args.json else text)
    return 0
