"""``rather iqa``: train, evaluate and run a full-reference quality model; explain its scores by contrast.

Parses, calls one function of ``rather.iqa`` and prints. The heavy modules (torch and the
pipelines) are imported inside the run functions, so ``rather iqa --help`` shows at once;
the defaults come from ``rather.iqa.options``.
"""
from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

from rather.iqa import options

NAME = "iqa"
HELP = "full-reference image quality: train, evaluate, score, explain (why s, rather than q?)"
EXAMPLE = "rather iqa explain distorted.png reference.png --rather-than 0.75 --out explained"
SUB_EXAMPLES = {
    "train": "rather iqa train --out quality.pt",
    "evaluate": "rather iqa evaluate --localisation --json",
    "score": "rather iqa score distorted.png reference.png --json",
    "explain": "rather iqa explain distorted.png reference.png --rather-than 0.75 0.9 --out explained",
}


def _model_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default=str(options.DEFAULT_CHECKPOINT), help="quality model checkpoint")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="iqa commands", dest="iqa_command", required=True,
                                     parser_class=type(parser))
    train = commands.add_parser("train", help="train the slim WaDIQaM-FR on the synthetic set (reproducible)")
    train.add_argument("--out", default=str(options.DEFAULT_CHECKPOINT), help="checkpoint to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--epochs", type=int, default=options.EPOCHS)
    train.add_argument("--width", type=int, default=options.ARCHITECTURE["width"],
                       help="channels of the first convolution (32 in the paper)")
    train.add_argument("--crops", type=int, default=options.CROPS_PER_PHOTO, help="reference crops per photo")

    evaluate = commands.add_parser("evaluate", help="SRCC, KRCC, PLCC, RMSE overall and per distortion type")
    _model_option(evaluate)
    evaluate.add_argument("--data", help="root folder of a data set; without it, the held-out synthetic set")
    evaluate.add_argument("--format", choices=options.FORMATS + (options.SYNTHETIC,), default=options.SYNTHETIC,
                          help="layout of --data")
    evaluate.add_argument("--seed", type=int, default=options.TEST_SEED, help="seed of the held-out synthetic set")
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
    explain.add_argument("--mode", choices=options.MODES, default=options.ExplainOptions.mode,
                         help="patchwise: 32 x 32 windows (the paper); image: one question about the image score")
    explain.add_argument("--stride", type=int, default=options.ExplainOptions.stride,
                         help="patchwise: window stride in pixels")
    explain.add_argument("--out", required=True, help="output folder")
    _model_option(explain)
    explain.add_argument("--device", default=options.ExplainOptions.device, help="torch device")
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "evaluate": run_evaluate, "score": run_score,
            "explain": run_explain}[args.iqa_command](args)


def _progress(args: argparse.Namespace):
    """The command's progress (bars and notes on stderr), by the rule of ``rather.common.progress``."""
    from rather.common.progress import Progress

    return Progress.for_command(json=getattr(args, "json", False), asked=args.progress)


def run_train(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.iqa.quality_model import train_checkpoint

    claim_outputs(files={"--out": args.out})
    started = time.perf_counter()
    losses = train_checkpoint(args.out, seed=args.seed, epochs=args.epochs, width=args.width,
                              crops_per_photo=args.crops, progress=_progress(args))
    print(f"final L1 loss {losses[-1]:.4f}; wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from rather.common.summaries import plain_tree
    from rather.iqa.evaluation import evaluation

    report = evaluation(args.model, data=args.data, form=args.format, seed=args.seed,
                        with_localisation=args.localisation, progress=_progress(args))
    if args.json:
        print(json.dumps(plain_tree(report), indent=2))
        return 0
    print(report["data"])
    print(f"SRCC {report['srcc']:.3f}  KRCC {report['krcc']:.3f}  PLCC {report['plcc']:.3f}  RMSE {report['rmse']:.3f}"
          f"  ({report['fit']})")
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


def run_score(args: argparse.Namespace) -> int:
    from rather.iqa.quality_model import score_files

    score = score_files(args.distorted, args.reference, model=args.model, device=args.device)
    print(json.dumps({"score": score}) if args.json else f"{score:.4f}")
    return 0


def contrasts_of(tokens: list[str], mos: float | None) -> list[options.Contrast]:
    """--rather-than tokens (scores, or 'human' for --mos, people's score) -> the contrasts to ask about."""
    from rather.common.errors import BadInput

    contrasts = []
    for token in tokens:
        if token == "human":
            if mos is None:
                raise BadInput("--rather-than human needs --mos M, people's score on the model's scale [0, 1]")
            contrasts.append(options.Contrast(mos, people=True))
            continue
        try:
            contrasts.append(options.Contrast(float(token)))
        except ValueError:
            raise BadInput(f"--rather-than takes scores or 'human'; got '{token}'") from None
    if not all(math.isfinite(contrast.score) for contrast in contrasts):
        raise BadInput(f"--rather-than scores must be finite; got {tokens}")
    return contrasts


def run_explain(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.iqa.explanations import explain_pair

    claim_outputs(folders={"--out": args.out}, inputs={"distorted image": args.distorted,
                                                       "reference image": args.reference, "--model": args.model})
    how = options.ExplainOptions(mode=args.mode, stride=args.stride, model=args.model, device=args.device)
    summary, _ = explain_pair(args.distorted, args.reference, contrasts_of(args.rather_than, args.mos), args.out, how,
                              progress=_progress(args))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["questions"]:
            print(record["title"])
        print(f"wrote {Path(args.out)}: summary.json, explanations.h5, figure.png")
    return 0
