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

from .cluster_args import add_cluster_arguments, cluster_choice
from .model_args import add_model_arguments, model_choice, read_class_names

NAME = "recognition"
HELP = "fine-grained classifiers: train the default bird model, audit a classifier's confusions"
EXAMPLE = "rather recognition audit --format synthetic --out audit"
SUB_EXAMPLES = {
    "train": "rather recognition train --out birds.pt",
    "audit": "rather recognition audit --format imagefolder ~/birds --model torchvision.models:resnet50 "
             "--model-kwargs '{\"num_classes\": 200}' --weights birds.pth --layer layer4 --out audit",
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
    audit.add_argument("source", nargs="?", metavar="DATA", help="the data: a folder, or a CSV file for --format csv "
                       "(the same as --data)")
    audit.add_argument("--data", help="the data set's folder, or a CSV file for --format csv (optional for synthetic)")
    audit.add_argument("--format", required=True, choices=FORMATS,
                       help="layout of the data: synthetic birds, a published data set, imagefolder (a folder per "
                       "class, optionally under train/ and test/) or csv (path,label[,split][,x0,y0,x1,y1])")
    audit.add_argument("--split", default="test", choices=SPLITS, help="which images of the data set")
    audit.add_argument("--classes", help="imagefolder, csv: text file of the class names in the model's order, one "
                       "a line (default: sorted)")
    audit.add_argument("--images", type=int, default=DataChoice.images, help="synthetic: images rendered per split")
    audit.add_argument("--seed", type=int, default=0, help="synthetic: seed of the training set (held out: +10000)")
    add_model_arguments(audit, model_help="architecture as module:factory (default: the committed bird classifier)",
                        batch_size=AuditOptions.batch_size)
    defaults = AuditOptions()
    audit.add_argument("--pairs", type=int, default=defaults.pairs, help="most confused pairs to explain")
    audit.add_argument("--per-pair", type=int, default=defaults.per_pair, help="images explained per pair")
    audit.add_argument("--truth-images", type=int, default=defaults.truth_images,
                       help="images for the ground-truth and deletion metrics")
    audit.add_argument("--steps", type=int, default=defaults.steps, help="steps of the deletion curves")
    audit.add_argument("--sanity-images", type=int, default=defaults.sanity_images,
                       help="images of the sanity checks (randomised weights, random logit)")
    audit.add_argument("--sanity-steps", type=int, default=defaults.sanity_steps,
                       help="steps of the cascading and independent randomisation: the layers from the top "
                       "in at most this many groups")
    audit.add_argument("--trust-ranked", type=int, default=defaults.trust_ranked,
                       help="images listed as the least trustworthy correct predictions and the most trustworthy "
                       "mistakes (GradTrust)")
    add_cluster_arguments(audit, blocks="the per-image pass (logits, VOICE, GradTrust) in batches of --batch-size "
                          "images", needs="the data, the weights")
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


def data_source(args: argparse.Namespace) -> str | None:
    """The data, given as DATA or as --data (not both)."""
    if args.source is not None and args.data is not None and args.source != args.data:
        raise BadInput(f"the data is given twice ('{args.source}' and --data '{args.data}'); give it once")
    return args.source if args.source is not None else args.data


def audit_choices(args: argparse.Namespace) -> tuple[DataChoice, ModelChoice, AuditOptions]:
    """The audit's data, model and options, as ``rather recognition audit`` was asked."""
    data = DataChoice(format=args.format, folder=data_source(args), split=args.split, images=args.images,
                      seed=args.seed, classes=read_class_names(args.classes))
    options = AuditOptions(pairs=args.pairs, per_pair=args.per_pair, truth_images=args.truth_images,
                           steps=args.steps, batch_size=args.batch_size, sanity_images=args.sanity_images,
                           sanity_steps=args.sanity_steps, trust_ranked=args.trust_ranked, seed=args.seed)
    return data, model_choice(args), options


def run_audit(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out},
                  inputs={"--data": data_source(args), "--weights": args.weights or DEFAULT_CHECKPOINT,
                          "--classes": args.classes})
    data, model, options = audit_choices(args)
    cluster = cluster_choice(args)
    from rather.recognition.pipeline import audit

    summary = audit(args.out, data, model, options, Progress.for_command(json=args.json, asked=args.progress),
                    cluster)
    print(json.dumps(summary, indent=2) if args.json else render_summary(summary))
    return 0


SHOWN_PER_PAIR = 3
"""Images of each confused pair listed in the text summary (summary.json lists them all)."""


def render_summary(summary: dict) -> str:
    """The audit's headline numbers as text."""
    lines = [f"accuracy {summary['accuracy']:.3f}, " + ", ".join(f"{k} {v:.3f}" for k, v in summary["top_k"].items())
             + f", ECE {summary['ece']:.3f} on {summary['images']} images"]
    for pair in summary["most_confused"]:
        lines.append(f"  confused: {pair['a_name']} <-> {pair['b_name']}: {pair['a_as_b']} + {pair['b_as_a']} "
                     f"errors, {len(pair['images'])} explained" + (f" ({pair['figure']})" if "figure" in pair else ""))
        for name, parts in ((name, pair.get("part_pointing", {}).get(name)) for name in ("contrast", "gradcam")):
            if parts:
                lines.append(f"    {name} points at: " + ", ".join(
                    f"{part} {shares['hit_rate']:.2f} ({shares['images']})" for part, shares in parts.items()
                    if shares["hit_rate"] is not None))
        for image in pair["images"][:SHOWN_PER_PAIR]:
            lines.append(f"    {image['path'] or image['id']}: true {image['true']}, predicted {image['predicted']}"
                         f"; p({pair['a_name']})={image['p_a']:.2f}, p({pair['b_name']})={image['p_b']:.2f}")
    for key in ("energy_share", "energy_share_in_box", "pointing_game", "margin_deletion_auc",
                "margin_insertion_auc"):
        if key in summary:
            lines.append(f"{key}: " + numbers(summary[key]))
    for part, shares in summary.get("energy_share_by_part", {}).items():
        lines.append(f"  energy share where the {part} differs ({shares['images']} images): "
                     f"contrast {shares['contrast']:.3f}, gradcam {shares['gradcam']:.3f}")
    if "energy_share_ratio" in summary:
        lines.append(f"energy share ratio contrast / gradcam: {summary['energy_share_ratio']:.2f}")
    if "part_swap" in summary:
        lines.append(f"part swap moves the model from A to B on {summary['part_swap']['moved_to_b']:.3f} "
                     f"of {summary['part_swap']['images']} images")
    for key, title in (("least_trustworthy_correct", "least trustworthy correct predictions"),
                       ("most_trustworthy_mistakes", "most trustworthy mistakes")):
        listed = summary["trust"][key][:SHOWN_PER_PAIR]
        if listed:
            lines.append(f"{title} (GradTrust): " + "; ".join(
                f"{image['path'] or image['id']} {image['true']} as {image['predicted']} {image['gradtrust']:.2f}"
                for image in listed))
    checks = summary.get("sanity", {})
    for kind in ("cascade", "independent"):
        for step in checks.get(kind, []):
            lines.append(f"sanity {kind}: {', '.join(step['randomised'])}: rank correlation "
                         + numbers(step["rank_correlation"]))
    if "random_logit" in checks:
        lines.append("sanity random logit: rank correlation " + numbers(checks["random_logit"]))
    lines.append(f"done in {summary['seconds']} s: " + run_text(summary["run"]))
    return "\n".join(lines)


def run_text(run: dict) -> str:
    """How the audit ran: its speed, where, and the peak memory of each process (where known)."""
    where = (f"{run['workers']} Dask worker(s)" if run["workers"] else f"the Dask cluster at {run['scheduler']}"
             if run["scheduler"] else "one process")
    peaks = [run["peak_rss_bytes"], *run.get("peak_rss_bytes_per_worker", [])]
    memory = ", ".join("?" if peak is None else f"{peak / 2**20:.0f}" for peak in peaks)
    return (f"{run['images_per_second']} images/s ({run['images']} images in {run['batches']} batches on {where}; "
            f"the per-image pass {run['scoring_seconds']} s); peak memory {memory} MiB"
            + (" (driver, then each worker)" if len(peaks) > 1 else ""))


def numbers(values: dict) -> str:
    """``name value, ...`` with three decimals (``-`` where a value is unknown)."""
    return ", ".join(f"{name} {value:.3f}" if value is not None else f"{name} -" for name, value in values.items())
