"""``rather seismic``: describe SEG-Y files, make synthetic surveys, train, evaluate and explain sections."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from rather.common import BadInput, load_model, save_checkpoint
from rather.seismic import classifier
from rather.seismic.character import character, format_character
from rather.seismic.blocks import DEFAULT_TIMEOUT
from rather.seismic.landmass import load_landmass
from rather.seismic.sections import QUESTIONS
from rather.seismic.segy import describe, format_description, open_survey
from rather.seismic.survey_explanation import explain_survey
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

NAME = "seismic"
HELP = "seismic sections: info, character, synth, train, evaluate, explain"
EXAMPLE = "rather seismic synth survey.sgy && rather seismic explain survey.sgy --out explained"
SUB_EXAMPLES = {
    "info": "rather seismic info survey.sgy --json",
    "character": "rather seismic character survey.sgy field.sgy",
    "synth": "rather seismic synth survey.sgy --seed 7 --inlines 24 --crosslines 240 --samples 240",
    "train": "rather seismic train --out classifier.pt",
    "evaluate": "rather seismic evaluate --json",
    "explain": "rather seismic explain survey.sgy --inline 112 --out explained",
}


def _geometry_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--iline", type=int, default=189, help="byte location of the inline number")
    parser.add_argument("--xline", type=int, default=193, help="byte location of the crossline number")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="seismic commands", dest="seismic_command", required=True,
                                     parser_class=type(parser))
    info = commands.add_parser("info", help="describe a SEG-Y file", description="Describe a SEG-Y file: geometry, "
                               "line ranges, traces, samples, format, byte order, sorting.")
    info.add_argument("file")
    _geometry_options(info)
    info.add_argument("--unstructured", action="store_true", help="read traces without geometry")
    info.add_argument("--json", action="store_true", help="print the description as JSON")

    character = commands.add_parser(
        "character", help="lateral continuity, bandwidth and amplitude statistics of surveys, side by side",
        description="The statistics that tell synthetic sections from field data, per survey: correlation of "
        "neighbouring traces, peak and centroid frequency, vertical autocorrelation, and the spread, kurtosis and "
        "clipping of [-1, 1]-scaled amplitudes. Inlines are streamed.")
    character.add_argument("files", nargs="+", metavar="FILE")
    _geometry_options(character)
    character.add_argument("--json", action="store_true", help="print the statistics as a JSON list")

    synth = commands.add_parser("synth", help="write a synthetic survey (SEG-Y + labels HDF5)",
                                description="Write a seeded synthetic 3D survey as SEG-Y, with its labels in HDF5.")
    synth.add_argument("out", help="output SEG-Y path; labels go to the same stem + .labels.h5")
    synth.add_argument("--seed", type=int, default=0)
    defaults = SurveyParameters()
    for name in ("inlines", "crosslines", "samples", "faults", "salt_domes", "chaotic_zones"):
        synth.add_argument(f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name))

    train = commands.add_parser("train", help="train the four-class patch classifier on synthetic surveys")
    train.add_argument("--out", default=str(classifier.DEFAULT_CHECKPOINT), help="checkpoint to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--surveys", type=int, default=36, help="synthetic surveys to draw patches from")
    train.add_argument("--per-class", type=int, default=5000, help="training patches per class")
    train.add_argument("--epochs", type=int, default=10)

    evaluate = commands.add_parser("evaluate", help="balanced accuracy, confusion and energy shares, held out")
    evaluate.add_argument("--model", default=str(classifier.DEFAULT_CHECKPOINT), help="classifier checkpoint")
    evaluate.add_argument("--seed", type=int, default=1000, help="seed of the held-out synthetic survey")
    evaluate.add_argument("--landmass", help="evaluate on a LANDMASS-1 or -2 copy (class folders of .mat files)")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    explain = commands.add_parser("explain", help="explain sections of a survey",
                                  description="Per patch: the prediction, Why P? and Why P, rather than Q? for "
                                  "every other class, stitched into section maps, SEG-Y attributes and figures.")
    explain.add_argument("survey", help="SEG-Y file")
    where = explain.add_mutually_exclusive_group()
    where.add_argument("--inline", type=int, help="inline number (default: the middle inline)")
    where.add_argument("--crossline", type=int, help="crossline number")
    where.add_argument("--all", action="store_true", help="every inline")
    explain.add_argument("--model", default=str(classifier.DEFAULT_CHECKPOINT), help="classifier checkpoint")
    explain.add_argument("--stride", type=int, default=10,
                         help="patch stride in samples (default 10; with the default classifier, a multiple of 8 "
                         "needs a single pass of its trunk)")
    explain.add_argument("--out", required=True, help="output folder")
    explain.add_argument("--device", default="cpu")
    _geometry_options(explain)
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")
    cluster = explain.add_mutually_exclusive_group()
    cluster.add_argument("--workers", type=int, help="with --all: explain blocks of inlines on a local Dask cluster "
                         "of this many worker processes (resumable: run the same command again after a crash)")
    cluster.add_argument("--scheduler", metavar="ADDRESS", help="with --all: use the Dask cluster whose scheduler is "
                         "at ADDRESS (its workers must see the survey, the model and the output folder's parent)")
    explain.add_argument("--block-lines", type=int, default=8, help="with --workers/--scheduler: inlines per block")
    explain.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="S",
                         help="with --workers/--scheduler: seconds to wait for the scheduler to answer, and for "
                         "progress: the job stops (exit 2, finished blocks kept) once for S seconds no block "
                         "finished and the scheduler had no worker or did not answer; a long block on a live "
                         "worker is never cut short")


def run(args: argparse.Namespace) -> int:
    return {"info": run_info, "character": run_character, "synth": run_synth, "train": run_train,
            "evaluate": run_evaluate, "explain": run_explain}[args.seismic_command](args)


def run_info(args: argparse.Namespace) -> int:
    description = describe(args.file, iline=args.iline, xline=args.xline, ignore_geometry=args.unstructured)
    print(json.dumps(description, indent=2) if args.json else format_description(description))
    return 0


def run_character(args: argparse.Namespace) -> int:
    reports = []
    for path in args.files:
        with open_survey(path, iline=args.iline, xline=args.xline) as survey:
            reports.append(character(survey))
    print(json.dumps(reports, indent=2) if args.json else format_character(reports))
    return 0


def run_synth(args: argparse.Namespace) -> int:
    parameters = SurveyParameters(inlines=args.inlines, crosslines=args.crosslines, samples=args.samples,
                                  faults=args.faults, salt_domes=args.salt_domes, chaotic_zones=args.chaotic_zones)
    segy_path, labels_path = write_survey(make_survey(args.seed, parameters), args.out)
    print(f"wrote {segy_path} and {labels_path}")
    return 0


def run_train(args: argparse.Namespace) -> int:
    started = time.perf_counter()
    print(f"training the seismic classifier (seed {args.seed}, {args.surveys} surveys, "
          f"{args.per_class} patches per class, {args.epochs} epochs)")
    model, log, meta = classifier.train(seed=args.seed, surveys=args.surveys, per_class=args.per_class,
                                        epochs=args.epochs)
    save_checkpoint(args.out, model, classifier.FACTORY, classifier.ARCHITECTURE, meta)
    print(f"training accuracy {log.accuracy[-1]:.3f}; wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    model, _ = load_model(weights=args.model)
    if args.landmass:
        patch_set = load_landmass(args.landmass)
        report, _ = classifier.accuracy_report(model, patch_set.patches, patch_set.labels)
        report["data"] = f"LANDMASS-{patch_set.version} at {args.landmass}"
    else:
        report = classifier.evaluate(model, args.seed)
        last = args.seed + classifier.HELD_OUT_SURVEYS - 1
        report["data"] = (f"{classifier.HELD_OUT_SURVEYS} held-out synthetic surveys (seeds {args.seed}..{last}), "
                          "clear patches")
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{report['data']}, {report['patches']} patches")
    print(f"balanced accuracy {report['balanced_accuracy']:.3f} (accuracy {report['accuracy']:.3f})")
    print("confusion (rows true, columns predicted): " + ", ".join(classifier.CLASS_NAMES))
    for name, row in zip(classifier.CLASS_NAMES, report["confusion"]):
        print(f"  {name:>10} " + " ".join(f"{count:6d}" for count in row))
    for name, shares in report.get("energy_share", {}).items():
        print(f"energy inside the true {name} ({shares['patches']} patches): "
              f"Why {name}? {shares['gradcam']:.3f}; Why {name}, rather than horizon? {shares['contrast']:.3f}")
    return 0


def run_explain(args: argparse.Namespace) -> int:
    if args.stride < 1:
        raise BadInput(f"--stride must be a positive number of samples; got {args.stride}")
    in_blocks = args.workers is not None or args.scheduler is not None
    if in_blocks and not args.all:
        raise BadInput("--workers and --scheduler explain a whole survey in blocks of inlines; add --all")
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers must be a positive number of worker processes; got {args.workers}")
    if args.block_lines < 1:
        raise BadInput(f"--block-lines must be a positive number of inlines; got {args.block_lines}")
    if not 0 < args.timeout < float("inf"):
        raise BadInput(f"--timeout must be a positive number of seconds; got {args.timeout:g}")
    kind = "crossline" if args.crossline is not None else "inline"
    chosen = None if args.all else (args.inline if kind == "inline" else args.crossline)
    progress = print if not args.json else (lambda message: print(message, file=sys.stderr))
    summary = explain_survey(args.survey, args.out, kind=kind, number=chosen, every_line=args.all,
                             model=args.model, stride=args.stride, device=args.device, iline=args.iline,
                             xline=args.xline, workers=args.workers, scheduler=args.scheduler,
                             block_lines=args.block_lines, timeout=args.timeout, progress=progress)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        print(f"wrote {Path(args.out)}: summary.json, explanations.h5, {len(QUESTIONS)} SEG-Y attributes, "
              f"{len(summary['sections'])} figure(s)")
    return 0
