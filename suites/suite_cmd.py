"""``rather suite``: one domain's suite (explanations, evaluation, truth of the maps) on your data and model.

Each suite is a function ``(out, data, model, seed, device, progress) -> (report section,
summary)`` in ``SUITES``; ``rather demo`` runs them all on the embedded default data.
The output folder holds the suite's files under a folder named after the domain,
``summary.json`` and ``index.html``; it is staged, so it is complete or absent.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rather.common import __version__
from rather.common.storage import claim_outputs, staged_folder
from rather.iqa import quality_model
from rather.recognition import classifier as bird_classifier
from rather.seismic import classifier as seismic_classifier
from rather.seismic.synthetic import labels_beside

from .report import write_report
from .suite_iqa import run_iqa_suite
from .suite_recognition import run_recognition_suite
from .suite_seismic import run_seismic_suite
from .summaries import write_json

NAME = "suite"
HELP = "run one domain's suite on your data and model: explanations, evaluation, truth of the maps"
EXAMPLE = "rather suite seismic --data survey.sgy --out seismic-suite"

SUITES = {"seismic": run_seismic_suite, "iqa": run_iqa_suite, "recognition": run_recognition_suite}
DATA_HELP = {"seismic": "a 3D SEG-Y survey (labels are read from STEM.labels.h5 beside it when present)",
             "iqa": "DISTORTED,REFERENCE image paths",
             "recognition": "FORMAT:FOLDER, FORMAT one of synthetic, cub200, stanford-cars, fgvc-aircraft, "
             "imagenet-val"}
DEFAULT_MODELS = {"seismic": seismic_classifier.DEFAULT_CHECKPOINT, "iqa": quality_model.DEFAULT_CHECKPOINT,
                  "recognition": bird_classifier.DEFAULT_CHECKPOINT}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("domain", choices=list(SUITES), help="which suite")
    parser.add_argument("--data", help="; ".join(f"{name}: {text}" for name, text in DATA_HELP.items())
                        + " (default: the embedded synthetic data)")
    parser.add_argument("--model", help="the model's checkpoint (default: the committed one)")
    parser.add_argument("--out", default="suite-out", help="output folder")
    parser.add_argument("--seed", type=int, default=None, help="seed of any data the suite makes")
    parser.add_argument("--device", default="cpu", help="torch device")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


def data_paths(domain: str, data: str | None) -> list[Path]:
    """The files and folders a suite's ``--data`` names (see DATA_HELP), to keep outputs off them."""
    if data is None:
        return []
    if domain == "seismic":
        return [Path(data), labels_beside(data)]
    if domain == "iqa":
        return [Path(path) for path in data.split(",") if path]
    folder = data.partition(":")[2]
    return [Path(folder).expanduser()] if folder else []


def run_suites(out: str | Path, domains: list[str], *, data: dict | None = None, model: dict | None = None,
               seed: int | None = None, device: str = "cpu", title: str, progress=print) -> dict:
    """Run ``domains`` into ``out`` (staged); write summary.json and index.html; return the summary."""
    started = time.perf_counter()
    data, model = data or {}, model or {}
    summary = {"version": __version__, "suites": {}}
    with staged_folder(out) as stage:
        sections = []
        for number, domain in enumerate(domains, start=1):
            progress(f"[{number}/{len(domains)}] {domain}")
            options = {} if seed is None else {"seed": seed}
            section, summary["suites"][domain] = SUITES[domain](
                stage / domain, data.get(domain), model.get(domain), device=device, progress=progress, **options)
            sections.append(section)
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(stage / "summary.json", summary)
        write_report(stage / "index.html", title, sections,
                     meta=f"rather {__version__}; {summary['seconds']} s; summary.json holds every number")
    return summary


def run(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out}, inputs={"--data": data_paths(args.domain, args.data),
                                                       "--model": args.model or DEFAULT_MODELS[args.domain]})
    progress = print if not args.json else (lambda message: print(message, file=sys.stderr))
    summary = run_suites(args.out, [args.domain], data={args.domain: args.data}, model={args.domain: args.model},
                         seed=args.seed, device=args.device, title=f"rather suite {args.domain}", progress=progress)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {Path(args.out) / 'index.html'} in {summary['seconds']} s")
    return 0
