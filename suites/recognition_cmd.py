"""``rather recognition``: train the default bird classifier; audit a fine-grained classifier."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path


from rather.common import BadInput, Explainer, load_model, save_checkpoint
from rather.common.figures import plot_explanation
from rather.common.storage import claim_outputs, staged_folder
from rather.recognition import classifier
from rather.recognition.audit import AuditOptions, all_logits, classification_report, explain_pairs, truth_report
from rather.recognition.data import FileData, Preprocess, SyntheticData
from rather.recognition.figures import plot_confusion, plot_curves, plot_truth
from rather.recognition.loaders import LOADERS

from .summaries import write_json

NAME = "recognition"
HELP = "fine-grained classifiers: train the default bird model, audit a classifier's confusions"
EXAMPLE = "rather recognition audit --format synthetic --out audit"
SUB_EXAMPLES = {
    "train": "rather recognition train --out birds.pt",
    "audit": "rather recognition audit --format cub200 --data ~/CUB_200_2011 --model torchvision.models:resnet50 "
             "--weights cub.pth --layer layer4 --out audit",
}
FORMATS = ("synthetic", *LOADERS)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(title="recognition commands", dest="recognition_command", required=True,
                                     parser_class=type(parser))
    train = commands.add_parser("train", help="train the default classifier on synthetic birds of every class")
    train.add_argument("--out", default=str(classifier.DEFAULT_CHECKPOINT), help="checkpoint to write")
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--images", type=int, default=classifier.TRAIN_IMAGES, help="training images")
    train.add_argument("--epochs", type=int, default=classifier.EPOCHS)

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
    audit.add_argument("--split", default="test", choices=("test", "train", "all"))
    audit.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="model input size")
    audit.add_argument("--mean", type=float, nargs="+", help="per-channel mean, inputs in [0, 1]")
    audit.add_argument("--std", type=float, nargs="+", help="per-channel standard deviation")
    audit.add_argument("--images", type=int, default=600, help="synthetic: images rendered per split")
    audit.add_argument("--seed", type=int, default=0, help="synthetic: seed of the training set (held out: +10000)")
    defaults = AuditOptions()
    audit.add_argument("--pairs", type=int, default=defaults.pairs, help="most confused pairs to explain")
    audit.add_argument("--per-pair", type=int, default=defaults.per_pair, help="images explained per pair")
    audit.add_argument("--truth-images", type=int, default=defaults.truth_images,
                       help="images for the ground-truth and deletion metrics")
    audit.add_argument("--steps", type=int, default=defaults.steps, help="steps of the deletion curves")
    audit.add_argument("--batch-size", type=int, default=defaults.batch_size)
    audit.add_argument("--device", default="cpu")
    audit.add_argument("--out", required=True, help="output folder")
    audit.add_argument("--json", action="store_true", help="print the summary as JSON")


def run(args: argparse.Namespace) -> int:
    return {"train": run_train, "audit": run_audit}[args.recognition_command](args)


def run_train(args: argparse.Namespace) -> int:
    claim_outputs(files={"--out": args.out})
    for name, least in (("images", 20), ("epochs", 1)):
        if getattr(args, name) < least:
            raise BadInput(f"--{name} must be at least {least}; got {getattr(args, name)}")
    started = time.perf_counter()
    print(f"training the bird classifier (seed {args.seed}, {args.images} images, {args.epochs} epochs)")
    model, log, meta = classifier.train(seed=args.seed, images=args.images, epochs=args.epochs)
    save_checkpoint(args.out, model, classifier.FACTORY, classifier.ARCHITECTURE, meta)
    print(f"training accuracy {log.accuracy[-1]:.3f}; wrote {args.out} in {time.perf_counter() - started:.0f} s")
    return 0


def audit_model(args: argparse.Namespace):
    """(model, layer, preprocess, description) from the options or the committed checkpoint."""
    if args.model and not args.weights:
        raise BadInput(f"--model {args.model} needs --weights (a state dict); rather downloads nothing")
    try:
        kwargs = json.loads(args.model_kwargs)
    except json.JSONDecodeError as error:
        raise BadInput(f"--model-kwargs is not JSON ({error.msg}); give e.g. '{{\"num_classes\": 200}}'") from None
    if not isinstance(kwargs, dict):
        raise BadInput("--model-kwargs must be a JSON object, e.g. '{\"num_classes\": 200}'")
    weights = args.weights or classifier.DEFAULT_CHECKPOINT
    model, meta = load_model(args.model, weights, kwargs=kwargs, device=args.device)
    layer = args.layer or meta.get("layer")
    if layer is None:
        raise BadInput("--layer is needed for this model (e.g. layer4 for a ResNet)")
    preprocess = meta.get("preprocess", {})
    size = args.size or preprocess.get("size") or [224, 224]
    mean, std = args.mean or preprocess.get("mean"), args.std or preprocess.get("std")
    for values, name in ((mean, "mean"), (std, "std")):
        if values is not None and len(values) not in (1, 3):
            raise BadInput(f"--{name} has {len(values)} values; give 1 or 3 (one per colour channel)")
    if std is not None and min(std) <= 0:
        raise BadInput(f"--std must be positive; got {list(std)}")
    if min(size) < 8:
        raise BadInput(f"--size {size[0]} {size[1]} is too small; give at least 8 x 8 pixels")
    description = {"model": args.model or meta.get("factory", ""), "weights": str(weights), "layer": layer}
    return model, layer, Preprocess(tuple(size), tuple(mean) if mean else None, tuple(std) if std else None), \
        description


def audit_data(args: argparse.Namespace, size: tuple[int, int]):
    if args.format == "synthetic":
        if args.images < 20:
            raise BadInput(f"--images must be at least 20 (one per class); got {args.images}")
        held_out = args.seed + classifier.HELD_OUT_OFFSET
        seeds = {"test": (held_out,), "train": (args.seed,), "all": (args.seed, held_out)}[args.split]
        return SyntheticData(args.images, seeds, size)
    if args.data is None:
        raise BadInput(f"--format {args.format} needs --data DIR, the data set's folder")
    if not Path(args.data).is_dir():
        raise BadInput(f"--data '{args.data}' is not a folder")
    return FileData(LOADERS[args.format](args.data, args.split), size)


def run_audit(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out},
                  inputs={"--data": args.data, "--weights": args.weights or classifier.DEFAULT_CHECKPOINT})
    summary = audit(args, print if not args.json else (lambda message: print(message, file=sys.stderr)))
    print(json.dumps(summary, indent=2) if args.json else render_summary(summary))
    return 0


def audit(args: argparse.Namespace, progress=print) -> dict:
    """The audit of ``args`` (the options of ``rather recognition audit``) into ``args.out``; its summary."""
    started = time.perf_counter()
    options = AuditOptions(pairs=args.pairs, per_pair=args.per_pair, truth_images=args.truth_images,
                           steps=args.steps, batch_size=args.batch_size, seed=args.seed)
    for name in ("pairs", "per_pair", "truth_images", "steps", "batch_size"):
        if getattr(options, name) < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1; got {getattr(options, name)}")
    model, layer, preprocess, description = audit_model(args)
    explainer = Explainer(model, layer=layer)
    progress(f"[1/4] reading the {args.format} data ({args.split} split)")
    data = audit_data(args, preprocess.size)
    progress(f"[2/4] classifying {len(data.labels)} images")
    logits = all_logits(model, data, preprocess, options.batch_size, args.device, progress)
    if logits.shape[1] != len(data.class_names):
        raise BadInput(f"the model gives {logits.shape[1]} classes but the {args.format} data has "
                       f"{len(data.class_names)}; give a model trained on these classes (or --model-kwargs)")
    summary = {"command": "recognition audit", "format": args.format, "data": args.data, "split": args.split,
               **description, "model_checksum": explainer.model_checksum, "class_names": list(data.class_names)}
    summary.update(classification_report(logits, data.labels, data.class_names, options))
    progress(f"      accuracy {summary['accuracy']:.3f}; explaining the {len(summary['most_confused'])} most "
             "confused pairs")
    progress("[3/4] Why A? Why A, rather than B? Why B, rather than A? on each pair's hesitations")
    result, shown, rows = explain_pairs(explainer, data, preprocess, logits, summary["most_confused"], options)
    progress("[4/4] do the maps point at the ground truth?")
    truth, figure_data = truth_report(model, explainer, data, preprocess, logits, options,
                                      args.format == "synthetic", progress)
    truth["truth_images"] = truth.pop("images")
    summary.update(truth)
    outputs = {"confusion": "confusion.png"}
    with staged_folder(args.out) as stage:
        plot_confusion(summary["confusion"], data.class_names, stage / "confusion.png")
        if result is not None:
            result.save(stage / "explanations.h5")
            outputs["explanations"] = "explanations.h5"
            for number, pair_rows in enumerate(rows, start=1):
                if pair_rows:
                    name = f"pair{number}.png"
                    plot_explanation(result, shown, stage / name, indices=pair_rows[:4])
                    summary["most_confused"][number - 1]["figure"] = name
        if figure_data:
            plot_curves(figure_data["curves"], stage / "curves.png")
            plot_truth(figure_data, data.class_names, stage / "truth.png")
            outputs.update(curves="curves.png", truth="truth.png")
        summary["outputs"] = outputs
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(stage / "summary.json", summary)
    return summary


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
