"""``rather iqa``: train, evaluate and run a full-reference quality model; explain its scores by contrast."""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from rather.common import BadInput, ExplanationResult, load_model, save_checkpoint
from rather.common.storage import claim_outputs, staged_folder
from rather.iqa import quality_model
from rather.iqa.contrasts import MODES, explain_image, explain_patchwise
from rather.iqa.datasets import FORMATS, load_rated_set
from rather.iqa.figures import plot_pair
from rather.iqa.localisation import localisation
from rather.iqa.metrics import agreement, agreement_by_kind
from rather.iqa.networks import WaDIQaM

from .summaries import plain, question_records, write_json

NAME = "iqa"
HELP = "full-reference image quality: train, evaluate, score, explain (why s, rather than q?)"
EXAMPLE = "rather iqa explain distorted.png reference.png --rather-than 0.75 --out explained"
SUB_EXAMPLES = {
    "train": "rather iqa train --out quality.pt",
    "evaluate": "rather iqa evaluate --localisation --json",
    "score": "rather iqa score distorted.png reference.png --json",
    "explain": "rather iqa explain distorted.png reference.png --rather-than 0.75 0.9 --out explained",
}
FIT_NOTE = "PLCC and RMSE after a 4-parameter logistic fit of the scores to the ground truth"


def _model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=str(quality_model.DEFAULT_CHECKPOINT), help="quality model checkpoint")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="iqa commands", dest="iqa_command", required=True,
                                     parser_class=type(parser))
    train = commands.add_parser("train", help="train the slim WaDIQaM-FR on the synthetic set (reproducible)")
    train.add_argument("--out", default=str(quality_model.DEFAULT_CHECKPOINT), help="checkpoint to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=quality_model.EPOCHS)
    train.add_argument("--width", type=int, default=quality_model.ARCHITECTURE["width"],
                       help="channels of the first convolution (32 in the paper)")
    train.add_argument("--crops", type=int, default=quality_model.CROPS_PER_PHOTO, help="reference crops per photo")

    evaluate = commands.add_parser("evaluate", help="SRCC, KRCC, PLCC, RMSE overall and per distortion type")
    _model_option(evaluate)
    evaluate.add_argument("--data", help="root folder of a data set (default: the held-out synthetic set)")
    evaluate.add_argument("--format", choices=FORMATS + ("synthetic",), default="synthetic",
                          help="layout of --data")
    evaluate.add_argument("--seed", type=int, default=1000, help="seed of the held-out synthetic set")
    evaluate.add_argument("--localisation", action="store_true",
                          help="also: share of contrast-map energy inside locally damaged regions, per distortion")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    score = commands.add_parser("score", help="the model's quality score of a distorted image given its reference")
    score.add_argument("distorted")
    score.add_argument("reference")
    _model_option(score)
    score.add_argument("--device", default="cpu", help="torch device")
    score.add_argument("--json", action="store_true", help='print {"score": s}')

    explain = commands.add_parser("explain", help="Why s? and Why s, rather than q? as maps over the image",
                                  description="Maps answering Why s? and Why s, rather than q? for each q (a score, "
                                  "or 'human' with --mos: people's score).")
    explain.add_argument("distorted")
    explain.add_argument("reference")
    explain.add_argument("--rather-than", nargs="+", required=True, metavar="Q",
                         help="contrast scores in [0, 1] (higher is better), or 'human' with --mos")
    explain.add_argument("--mos", type=float, help="people's score for 'human', on the model's scale [0, 1]")
    explain.add_argument("--mode", choices=MODES, default="patchwise",
                         help="patchwise: 32 x 32 windows (the paper); image: one question about the image score")
    explain.add_argument("--stride", type=int, default=4, help="patchwise: window stride in pixels")
    explain.add_argument("--out", required=True, help="output folder")
    _model_option(explain)
    explain.add_argument("--device", default="cpu", help="torch device")
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "evaluate": run_evaluate, "score": run_score,
            "explain": run_explain}[args.iqa_command](args)


def load_quality_model(path: str, device: str = "cpu") -> tuple[WaDIQaM, dict]:
    model, meta = load_model(weights=path, device=device)
    if not isinstance(model, WaDIQaM):
        raise BadInput(f"'{path}' is not a WaDIQaM/DIQaM checkpoint (it builds a {type(model).__name__})")
    return model, meta


def run_train(args: argparse.Namespace) -> int:
    claim_outputs(files={"--out": args.out})
    started = time.perf_counter()
    architecture = {**quality_model.ARCHITECTURE, "width": args.width}
    print(f"training WaDIQaM-FR (width {args.width}) on the synthetic set (seed {args.seed}, {args.epochs} epochs)")
    model, losses, meta = quality_model.train_default(seed=args.seed, epochs=args.epochs, architecture=architecture,
                                                      crops_per_photo=args.crops)
    save_checkpoint(args.out, model, quality_model.FACTORY, architecture, meta)
    print(f"final L1 loss {losses[-1]:.4f}; wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    report = evaluation(args.model, data=args.data, form=args.format, seed=args.seed,
                        with_localisation=args.localisation)
    if args.json:
        print(json.dumps(_finite(report), indent=2))
        return 0
    print(report["data"])
    print(f"SRCC {report['srcc']:.3f}  KRCC {report['krcc']:.3f}  PLCC {report['plcc']:.3f}  RMSE {report['rmse']:.3f}"
          f"  ({FIT_NOTE})")
    print(f"  {'distortion':<34} {'n':>5} {'SRCC':>7} {'KRCC':>7} {'PLCC':>7} {'RMSE':>7}")
    for kind, figures in report["per_distortion"].items():
        print(f"  {kind:<34} {figures['count']:>5} " + " ".join(f"{figures[k]:7.3f}" for k in ("srcc", "krcc",
                                                                                                   "plcc", "rmse")))
    if args.localisation:
        print("localisation: share of the energy of 'Why s, rather than the pristine score?' inside the damaged "
              "region, held-out references (a map blind to the damage scores about the area share)")
        print(f"  {'distortion':<34} {'patchwise':>16} {'image':>7} {'area':>7}")
        for kind, figures in report["localisation"].items():
            print(f"  {kind:<34} {figures['energy_share']:7.3f} +- {figures['std']:.3f} "
                  f"{figures['energy_share_image']:7.3f} {figures['area_share']:7.3f}")
    return 0


def evaluation(model_path: str, *, data: str | None = None, form: str = "synthetic", seed: int = 1000,
               with_localisation: bool = False) -> dict:
    """SRCC, KRCC, PLCC, RMSE overall and per distortion (and the localisation table) of a quality model."""
    model, _ = load_quality_model(model_path)
    if form != "synthetic" and not data:
        raise BadInput(f"--format {form} needs --data ROOT, the data set's folder")
    if data and form == "synthetic":
        raise BadInput("--data needs --format tid2013|kadid10k|live|csiq (the synthetic set is made, not read)")
    held_out = quality_model.test_set(seed) if form == "synthetic" or with_localisation else None
    if form == "synthetic":
        report = quality_model.evaluate_synthetic(model, held_out)
        report["data"] = (f"held-out synthetic set (seed {seed}): {len(held_out.references)} references from "
                          f"photos {', '.join(dict.fromkeys(held_out.photos))}, labels SSIM in [0, 1]")
    else:
        rated = load_rated_set(data, form)
        predicted = quality_model.score_rated(model, rated)
        report = agreement(predicted, rated.scores)
        report["per_distortion"] = agreement_by_kind(predicted, rated.scores, rated.kinds)
        report["data"] = f"{rated.name} at {data} ({len(rated.ratings)} images; {rated.original_scale})"
    report["fit"] = FIT_NOTE
    if with_localisation:
        report["localisation"] = localisation(model, held_out.references)
    return report


def _finite(value):
    """NaN and Inf as null, recursively, for JSON."""
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, float):
        return plain(value)
    return value


def run_score(args: argparse.Namespace) -> int:
    model, _ = load_quality_model(args.model, args.device)
    distorted, reference = quality_model.read_pair(args.distorted, args.reference)
    with torch.no_grad():
        score = float(model(quality_model.model_input(model, distorted[None], reference[None]).to(args.device))[0])
    print(json.dumps({"score": score}) if args.json else f"{score:.4f}")
    return 0


def contrasts_of(tokens: list[str], mos: float | None) -> tuple[list[float], list[str]]:
    """--rather-than tokens -> contrast scores and their labels ('human' or '')."""
    values, labels = [], []
    for token in tokens:
        if token == "human":
            if mos is None:
                raise BadInput("--rather-than human needs --mos M, people's score on the model's scale [0, 1]")
            values.append(mos)
            labels.append("human")
            continue
        try:
            value = float(token)
        except ValueError:
            raise BadInput(f"--rather-than takes scores or 'human'; got '{token}'") from None
        values.append(value)
        labels.append("")
    if not all(math.isfinite(value) for value in values):
        raise BadInput(f"--rather-than scores must be finite; got {tokens}")
    return values, labels


def run_explain(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out}, inputs={"distorted image": args.distorted,
                                                       "reference image": args.reference, "--model": args.model})
    contrasts, labels = contrasts_of(args.rather_than, args.mos)
    progress = print if not args.json else (lambda message: print(message, file=sys.stderr))
    summary, _ = explain_pair(args.distorted, args.reference, contrasts, labels, out=args.out, mode=args.mode,
                              stride=args.stride, model_path=args.model, device=args.device, progress=progress)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["questions"]:
            print(record["title"])
        print(f"wrote {Path(args.out)}: summary.json, explanations.h5, figure.png")
    return 0


def explain_pair(distorted_path: str, reference_path: str, contrasts: list[float], labels: list[str], *, out,
                 mode: str = "patchwise", stride: int = 4, model_path: str = str(quality_model.DEFAULT_CHECKPOINT),
                 device: str = "cpu",
                 recorded_as: tuple[str, str] | None = None, progress=print) -> tuple[dict, ExplanationResult]:
    """Why s? and Why s, rather than q? for each contrast q, into the folder ``out``; the summary and result.

    ``labels`` names each contrast ("human" for people's score, else ""). Writes
    summary.json, explanations.h5 and figure.png, all or nothing; the summary names the images
    ``recorded_as`` (default: their paths as given).
    """
    recorded_as = recorded_as or (str(distorted_path), str(reference_path))
    if stride < 1:
        raise BadInput(f"--stride must be a positive number of pixels; got {stride}")
    model, _ = load_quality_model(model_path, device)
    distorted, reference = quality_model.read_pair(distorted_path, reference_path)
    x = quality_model.model_input(model, distorted[None], reference[None])
    started = time.perf_counter()
    identifier = Path(distorted_path).stem.replace("/", "_") or "distorted"
    if mode == "patchwise":
        result, window_scores = explain_patchwise(model, x, contrasts, stride=stride, ids=[identifier])
    else:
        result, window_scores = explain_image(model, x, contrasts, ids=[identifier]), None
    progress(f"explained in {time.perf_counter() - started:.1f} s ({mode})")
    questions = question_records(result, 0)
    for record, label in zip(questions[1:], labels):
        if label:
            record["contrast"] = label
            record["title"] += " (people's score)"
    remarks = [""] + ["people's score" if label else "" for label in labels]
    summary = {
        "command": "iqa explain", "distorted": recorded_as[0], "reference": recorded_as[1],
        "model": str(model_path), "model_checksum": result.model_checksum, "layer": result.layer,
        "call": result.call, "method": result.method, "mode": mode, "score": plain(result.scores[0]),
        "questions": questions, "notes": list(result.notes),
        "outputs": {"explanations": "explanations.h5", "figure": "figure.png"},
    }
    if mode == "patchwise":
        summary["stride"] = stride
        summary["windows"] = {"count": int(window_scores.size), "score_min": plain(window_scores.min()),
                              "score_mean": plain(window_scores.mean()), "score_max": plain(window_scores.max())}
    with staged_folder(out) as stage:
        result.save(stage / "explanations.h5")
        plot_pair(result, distorted, reference, stage / "figure.png", remarks=remarks)
        write_json(stage / "summary.json", summary)
    return summary, result
