"""``rather recognition``: train the default bird classifier; audit a fine-grained classifier."""
from __future__ import annotations

import argparse
import json
import time

from rather.common import BadInput
from rather.common.progress import Progress
from rather.common.storage import claim_outputs
from rather.recognition.options import (DEFAULT_CHECKPOINT, EPOCHS, FORMATS, SPLITS, TRAIN_IMAGES, AuditOptions,
                                        DataChoice, ModelChoice)

NAME = "recognition"
HELP = "fine-grained classifiers: train the default bird model, audit a classifier's confusions"
EXAMPLE = "rather recognition audit --format synthetic --out audit"
SUB_EXAMPLES = {
    "train": "rather recognition train --out birds.pt",
    "audit": "rather recognition audit --format cub200 --data ~/CUB_200_2011 --model torchvision.models:resnet50 "
             "--weights cub.pth --layer layer4 --out audit",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="recognition commands", dest="recognition_command", required=True,
                                     parser_class=type(parser))
    train = commands.add_parser("train", help="train the default classifier on synthetic birds of every class")
    train.add_argument("--out", default=str(DEFAULT_CHECKPOINT), help="checkpoint to write")
    train.add_argument("--seed", type=int, default=0, help="seed of the training birds and of the weights")
    train.add_argument("--images", type=int, default=TRAIN_IMAGES, help="training images")
    train.add_argument("--epochs", type=int, default=EPOCHS, help="passes over the training images")

    audit = commands.add_parser(
        "audit", help="accuracy, confusions and contrastive explanations of the most confused pairs",
        description="Accuracy, per-class accuracy, top-k, ECE, confusion, the most confused pairs; for each top pair "
        "Why A? Why A, rather than B? Why B, rather than A?; and whether the maps point at the ground truth.")
    audit.add_argument("--data", help="data set folder (optional for --format synthetic)")
    audit.add_argument("--format", required=True, choices=FORMATS, help="layout of --data")
    audit.add_argument("--model", help="architecture as module:factory (default: the committed bird classifier)")
    audit.add_argument("--weights", help="state dict read with weights_only=True")
    audit.add_argument("--model-kwargs", default="{}", help="JSON keyword arguments of the factory")
    audit.add_argument("--layer", help="dotted name of the layer to explain")
    audit.add_argument("--split", default="test", choices=SPLITS, help="which images of the data set")
    audit.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="model input size")
    audit.add_argument("--mean", type=float, nargs="+", help="per-channel mean, inputs in [0, 1]")
    audit.add_argument("--std", type=float, nargs="+", help="per-channel standard deviation")
    audit.add_argument("--images", type=int, default=DataChoice.images, help="synthetic: images rendered per split")
    audit.add_argument("--seed", type=int, default=0, help="synthetic: seed of the training set (held out: +10000)")
    defaults = AuditOptions()
    audit.add_argument("--pairs", type=int, default=defaults.pairs, help="most confused pairs to explain")
    audit.add_argument("--per-pair", type=int, default=defaults.per_pair, help="images explained per pair")
    audit.add_argument("--truth-images", type=int, default=defaults.truth_images,
                       help="images for the ground-truth and deletion metrics")
    audit.add_argument("--steps", type=int, default=defaults.steps, help="steps of the deletion curves")
    audit.add_argument("--batch-size", type=int, default=defaults.batch_size, help="images per forward pass")
    audit.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    audit.add_argument("--out", required=True, help="output folder")
    audit.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "audit": run_audit}[args.recognition_command](args)


def run_train(args: argparse.Namespace) -> int:
    claim_outputs(files={"--out": args.out})
    for name, least in (("images", 20), ("epochs", 1)):
        if getattr(args, name) < least:
            raise BadInput(f"--{name} must be at least {least}; got {getattr(args, name)}")
    from rather.common import save_checkpoint
    from rather.recognition import classifier

    started = time.perf_counter()
    progress = Progress.for_command(json=False, asked=args.progress)
    progress.note(f"training the bird classifier (seed {args.seed}, {args.images} images, {args.epochs} epochs)")
    model, log, meta = classifier.train(seed=args.seed, images=args.images, epochs=args.epochs, progress=progress)
    save_checkpoint(args.out, model, classifier.FACTORY, classifier.ARCHITECTURE, meta)
    print(f"training accuracy {log.accuracy[-1]:.3f}; wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def model_kwargs(text: str) -> dict:
    """``--model-kwargs``: a JSON object."""
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"--model-kwargs is not JSON ({error.msg}); give e.g. '{{\"num_classes\": 200}}'") from None
    if not isinstance(kwargs, dict):
        raise BadInput("--model-kwargs must be a JSON object, e.g. '{\"num_classes\": 200}'")
    return kwargs


def audit_choices(args: argparse.Namespace) -> tuple[DataChoice, ModelChoice, AuditOptions]:
    """The audit's data, model and options, as ``rather recognition audit`` was asked."""
    data = DataChoice(format=args.format, folder=args.data, split=args.split, images=args.images, seed=args.seed)
    model = ModelChoice(factory=args.model, weights=args.weights, kwargs=model_kwargs(args.model_kwargs),
                        layer=args.layer, size=tuple(args.size) if args.size else None,
                        mean=tuple(args.mean) if args.mean else None, std=tuple(args.std) if args.std else None,
                        device=args.device)
    options = AuditOptions(pairs=args.pairs, per_pair=args.per_pair, truth_images=args.truth_images,
                           steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    return data, model, options


def run_audit(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out},
                  inputs={"--data": args.data, "--weights": args.weights or DEFAULT_CHECKPOINT})
    data, model, options = audit_choices(args)
    from rather.recognition.pipeline import audit

    summary = audit(args.out, data, model, options, Progress.for_command(json=args.json, asked=args.progress))
    print(json.dumps(summary, indent=2) if args.json else render_summary(summary))
    return 0


def render_summary(summary: dict) -> str:
    """The audit's headline numbers as text."""
    lines = [f"accuracy {summary['accuracy']:.3f}, " + ", ".join(f"{k} {v:.3f}" for k, v in summary["top_k"].items())
             + f", ECE {summary['ece']:.3f} on {summary['images']} images"]
    for pair in summary["most_confused"]:
        lines.append(f"  confused: {pair['a_name']} <-> {pair['b_name']}: {pair['a_as_b']} + {pair['b_as_a']} "
                     f"errors, {len(pair['images'])} explained")
    for key in ("energy_share", "energy_share_in_box", "pointing_game", "margin_deletion_auc",
                "margin_insertion_auc"):
        if key in summary:
            lines.append(f"{key}: " + ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} -"
                                                for k, v in summary[key].items()))
    for part, shares in summary.get("energy_share_by_part", {}).items():
        lines.append(f"  energy share where the {part} differs ({shares['images']} images): "
                     f"contrast {shares['contrast']:.3f}, gradcam {shares['gradcam']:.3f}")
    if "energy_share_ratio" in summary:
        lines.append(f"energy share ratio contrast / gradcam: {summary['energy_share_ratio']:.2f}")
    if "part_swap" in summary:
        lines.append(f"part swap moves the model from A to B on {summary['part_swap']['moved_to_b']:.3f} "
                     f"of {summary['part_swap']['images']} images")
    for step in summary.get("sanity", []):
        lines.append(f"sanity: randomised {', '.join(step['randomised'])}: rank correlation "
                     + ", ".join(f"{k} {v:.3f}" if v is not None else f"{k} -"
                                 for k, v in step["rank_correlation"].items()))
    lines.append(f"done in {summary['seconds']} s")
    return "\n".join(lines)
