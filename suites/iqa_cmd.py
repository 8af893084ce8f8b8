"""``rather iqa``: train, evaluate and run a quality model (rather's or any full- or no-reference model); explain
its scores by contrast.

Parses, calls one function of ``rather.iqa`` and prints. The heavy modules (torch and the
pipelines) are imported inside the run functions, so ``rather iqa --help`` shows at once;
the defaults come from ``rather.iqa.options``.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from rather.iqa import options

NAME = "iqa"
HELP = "image quality: train, evaluate, score, explain any quality model (why s, rather than q?)"
EXAMPLE = "rather iqa explain distorted.png reference.png --rather-than 0.75 --out explained"
SUB_EXAMPLES = {
    "train": "rather iqa train --data tid2013 ~/data/tid2013 --out tid2013.pt",
    "evaluate": "rather iqa evaluate --weights tid2013.pt --data kadid10k ~/data/kadid10k --json",
    "score": "rather iqa score distorted.png reference.png --json",
    "explain": "rather iqa explain distorted.png reference.png --rather-than 0.75 0.9 --out explained",
}


def _model_options(parser: argparse.ArgumentParser, *, explained: bool) -> None:
    """The options that name a quality model: rather's checkpoint, or any model as module:factory with weights."""
    group = parser.add_argument_group("model", "rather's committed checkpoint, or your own model: "
                                      "--model module:factory --weights W, called as model(dist, ref) "
                                      "(or model(dist) with --no-reference), giving one score per image")
    group.add_argument("--model", metavar="MODULE:FACTORY",
                       help="architecture of your own model (not needed for rather's checkpoints)")
    group.add_argument("--weights", default=str(options.DEFAULT_CHECKPOINT),
                       help="checkpoint or state dict, read with weights_only=True")
    group.add_argument("--model-kwargs", default="{}", metavar="JSON", help="keyword arguments of the factory")
    if explained:
        group.add_argument("--layer", help="dotted name of the layer to explain (rather's checkpoints: their own)")
        group.add_argument("--call", type=int, default=0,
                           help="which call of a layer that runs more than once (0: the distorted image's)")
    group.add_argument("--no-reference", action="store_true", help="the model reads the distorted image alone")
    group.add_argument("--lower-better", action="store_true", help="lower scores are better (a distance)")
    group.add_argument("--score-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                       help="the scores the model gives (rather's checkpoints and the fallback: 0 1)")
    group.add_argument("--device", default="cpu", help="torch device")


def _data_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--data", nargs=2, metavar=("NAME", "DIR"),
                        help=f"{what}: a data set in its published layout, NAME one of {', '.join(options.FORMATS)}")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="iqa commands", dest="iqa_command", required=True,
                                     parser_class=type(parser))
    train = commands.add_parser("train", help="train the slim WaDIQaM-FR on the synthetic set or on people's scores")
    _data_option(train, "train on people's scores, split by reference image (without it: the synthetic set)")
    train.add_argument("--out", help="checkpoint to write (without --data: the committed model, which training reproduces)")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights, the crops and the reference split")
    train.add_argument("--epochs", type=int, default=options.EPOCHS)
    train.add_argument("--width", type=int, default=options.ARCHITECTURE["width"],
                       help="channels of the first convolution (32 in the paper)")
    train.add_argument("--crops", type=int, default=options.CROPS_PER_PHOTO,
                       help="64 x 64 crops per reference photo (synthetic) or per image (--data)")

    evaluate = commands.add_parser("evaluate", help="SRCC, KRCC, PLCC, RMSE overall and per distortion type")
    _data_option(evaluate, "evaluate on people's scores (without it: the held-out synthetic set)")
    _model_options(evaluate, explained=True)
    evaluate.add_argument("--seed", type=int, default=options.TEST_SEED, help="seed of the held-out synthetic set")
    evaluate.add_argument("--localisation", action="store_true",
                          help="also: share of contrast-map energy inside locally damaged regions, per distortion")
    evaluate.add_argument("--json", action="store_true", help="print the report as JSON")

    score = commands.add_parser("score", help="the model's quality score of a distorted image (given its reference)")
    score.add_argument("distorted")
    score.add_argument("reference", nargs="?", help="the reference image (not with --no-reference)")
    _model_options(score, explained=False)
    score.add_argument("--json", action="store_true", help='print {"score": s}')

    explain = commands.add_parser("explain", help="Why s? and Why s, rather than q? as maps over the image",
                                  description="Maps answering Why s? and Why s, rather than q? for each q (a score, "
                                  "or 'human' with --mos: people's score).")
    explain.add_argument("distorted")
    explain.add_argument("reference", nargs="?", help="the reference image (not with --no-reference)")
    explain.add_argument("--rather-than", nargs="+", required=True, metavar="Q",
                         help="contrast scores on the model's scale, or 'human' with --mos")
    explain.add_argument("--mos", type=float, help="people's score for 'human': on the model's scale, or as "
                         "published with --mos-scale")
    explain.add_argument("--mos-scale", metavar="|".join(options.MOS_SCALES),
                         help="the scale --mos is published on, mapped as evaluation maps it")
    explain.add_argument("--mode", choices=options.MODES, default=options.ExplainOptions.mode,
                         help="patchwise: 32 x 32 windows (the paper); image: one question about the image score; "
                         "fast: the patchwise question on a third of its windows "
                         f"(stride {options.FAST_STRIDE[0]} down, {options.FAST_STRIDE[1]} across), an approximation")
    explain.add_argument("--stride", type=int, default=options.ExplainOptions.stride,
                         help=f"patchwise only: window stride in pixels ({options.STRIDE} when not given)")
    explain.add_argument("--out", required=True, help="output folder")
    _model_options(explain, explained=True)
    explain.add_argument("--json", action="store_true", help="print the summary as JSON")


def model_choice(args: argparse.Namespace) -> options.ModelChoice:
    """The quality model the command's options name (``--model-kwargs`` read as ``rather recognition`` reads it)."""
    from rather.suites.model_args import model_kwargs

    return options.ModelChoice(
        factory=args.model, weights=args.weights, kwargs=model_kwargs(args.model_kwargs),
        layer=getattr(args, "layer", None), call=getattr(args, "call", 0), no_reference=args.no_reference,
        lower_better=args.lower_better, score_range=tuple(args.score_range) if args.score_range else None,
        device=args.device)


def data_choice(args: argparse.Namespace) -> tuple[str, str] | None:
    """``--data NAME DIR`` checked for its NAME (the folder is read by the loader), or None."""
    from rather.common.errors import BadInput

    if args.data is None:
        return None
    name, folder = args.data
    if name not in options.FORMATS:
        raise BadInput(f"--data {name!r} {folder!r}: name the data set first, one of {', '.join(options.FORMATS)}, "
                       "then its folder")
    return name, folder


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "evaluate": run_evaluate, "score": run_score,
            "explain": run_explain}[args.iqa_command](args)


def _progress(args: argparse.Namespace):
    """The command's progress (bars and notes on stderr), by the rule of ``rather.common.progress``."""
    from rather.common.progress import Progress

    return Progress.for_command(json=getattr(args, "json", False), asked=args.progress)


def run_train(args: argparse.Namespace) -> int:
    from rather.common.errors import BadInput
    from rather.common.storage import claim_outputs
    from rather.iqa.human_scores import train_human
    from rather.iqa.quality_model import train_checkpoint

    data = data_choice(args)
    if data is not None and args.out is None:
        raise BadInput("--data needs --out CKPT, the checkpoint to write (the default is the committed synthetic model)")
    out = args.out or str(options.DEFAULT_CHECKPOINT)
    claim_outputs(files={"--out": out}, inputs={"--data": data[1]} if data else None)
    started = time.perf_counter()
    settings = {"seed": args.seed, "epochs": args.epochs, "width": args.width, "crops_per_photo": args.crops,
                "progress": _progress(args)}
    losses = train_checkpoint(out, **settings) if data is None else train_human(data, out, **settings)
    print(f"final L1 loss {losses[-1]:.4f}; wrote {out} in {time.perf_counter() - started:.0f} s")
    return 0


def run_evaluate(args: argparse.Namespace) -> int:
    from rather.common.summaries import plain_tree
    from rather.iqa.evaluation import evaluation

    report = evaluation(model_choice(args), data=data_choice(args), seed=args.seed,
                        with_localisation=args.localisation, progress=_progress(args))
    if args.json:
        print(json.dumps(plain_tree(report), indent=2))
        return 0
    print(report["data"])
    print(f"split: {report['split']}")
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
    from rather.iqa.scorers import score_files

    score = score_files(model_choice(args), args.distorted, args.reference)
    print(json.dumps({"score": score}) if args.json else f"{score:.4f}")
    return 0


def contrasts_of(tokens: list[str], mos: float | None, mos_scale: str | None = None) -> list[options.Contrast]:
    """--rather-than tokens (scores, or 'human' for --mos, people's score, published on ``mos_scale`` if named)
    -> the contrasts to ask about (parsed only: ``explain_pair`` checks their range before any work)."""
    from rather.common.errors import BadInput

    if mos_scale is not None and mos is None:
        raise BadInput("--mos-scale names the scale of --mos M; give --mos too (and --rather-than human)")
    if mos is not None and "human" not in tokens:
        raise BadInput("--mos is people's score for --rather-than human; add 'human' to --rather-than")
    contrasts = []
    for token in tokens:
        if token == "human":
            if mos is None:
                raise BadInput("--rather-than human needs --mos M, people's score on the model's scale (or as "
                               "published, with --mos-scale)")
            contrasts.append(options.Contrast(mos, people=True, scale=mos_scale))
            continue
        try:
            if not token.isascii():  # float() reads other scripts' digits ('\uff15' is 5): take what is typed only
                raise ValueError(token)
            contrasts.append(options.Contrast(float(token)))
        except ValueError:
            raise BadInput(f"--rather-than takes scores or 'human'; got {token!a}") from None
    return contrasts  # their range is checked by explain_pair


def run_explain(args: argparse.Namespace) -> int:
    from rather.common.storage import claim_outputs
    from rather.iqa.explanations import explain_pair

    claim_outputs(folders={"--out": args.out}, inputs={"distorted image": args.distorted,
                                                       "reference image": args.reference, "--weights": args.weights})
    how = options.ExplainOptions(mode=args.mode, stride=args.stride, model=model_choice(args))
    summary, _ = explain_pair(args.distorted, args.reference, contrasts_of(args.rather_than, args.mos, args.mos_scale),
                              args.out, how, progress=_progress(args))
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["questions"]:
            print(record["title"])
        print(f"wrote {Path(args.out)}: summary.json, explanations.h5, figure.png")
    return 0
