"""``rather bench``: speed targets as ratios measured in one run."""
from __future__ import annotations

import argparse
import json
import sys

from .bench_core import render_table, run_core

NAME = "bench"
HELP = "measure explanation cost against forward-only time and the straightforward loop, in one run"
EXAMPLE = "rather bench core --json"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("suite", choices=["core"], help="which benchmark")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 16], help="batch sizes")
    parser.add_argument("--loop-iterations", type=int, default=4,
                        help="contrasts of the paper's loop actually timed (then scaled to 200)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per figure at batch 1 (median)")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")


def run(args: argparse.Namespace) -> int:
    progress = (lambda message: print(message, file=sys.stderr)) if args.json else print
    report = run_core(batches=tuple(args.batches), loop_iterations=args.loop_iterations, repeats=args.repeats,
                      progress=progress)
    print(json.dumps(report, indent=2) if args.json else render_table(report))
    return 0
