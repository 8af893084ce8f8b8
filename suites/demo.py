"""``rather demo``: the main job on the embedded default data — every domain's suite, one report.

It builds the embedded data (a synthetic SEG-Y survey with its labels, distorted
copies of photographs that scikit-image ships, synthetic look-alike birds), uses
the committed checkpoints, and runs the seismic, image-quality and recognition
suites: explanations (Why P? Why P, rather than Q?), evaluations, and numbers that
show whether the maps point at the known ground truth. After the seismic and the
image-quality suites come their real-data sections (``real_data``: the real F3 inline
244 and 200 hand-labelled F3 patches, a TID2013 pair with people's score), shipped in
the package with their licences, saying where the models are wrong. Everything lands in one
folder, staged so a re-run replaces it as a whole: ``index.html`` (findings first, then
the figures and tables of each domain; one file to share, its figures inside, unless
``--report folder`` links them), ``summary.json`` (every number) and each suite's SEG-Y, HDF5 and
JSON outputs in a folder named after the domain (``DOMAIN-real`` for the real data).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rather.common.progress import Progress
from rather.common.storage import claim_outputs

from .suite_cmd import SUITES, default_model, run_suites

NAME = "demo"
HELP = "the main job: every domain's suite on the embedded default data, into one HTML report"
EXAMPLE = "rather demo --out demo-out && open demo-out/index.html"
REPORTS = ("single-file", "folder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", default="demo-out",
                        help="output folder (one that rather wrote before is replaced as a whole)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the data the suites make (default: each "
                        "suite's own, which the committed models were not trained on)")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--report", choices=REPORTS, default="single-file",
                        help="single-file: index.html holds its figures (share it alone); folder: it links the PNG "
                        "files beside it (a lighter page)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    from .real_data import REAL_SUITES, shipped_files

    claim_outputs(folders={"--out": args.out},
                  inputs={"a committed model": [default_model(domain) for domain in SUITES],
                          "the shipped real data": shipped_files()})
    summary = run_suites(args.out, list(SUITES), seed=args.seed, device=args.device, command="demo",
                         title="rather demo", progress=Progress.for_command(json=args.json, asked=args.progress),
                         embed=args.report == "single-file", real=REAL_SUITES)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"done in {summary['seconds']} s: open {Path(args.out) / 'index.html'}")
    return 0
