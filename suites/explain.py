"""``rather explain``: Why P, rather than Q? for a user's model and images.

torch and the figures are imported when the command runs, not when its help is built.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rather.common import METHODS, BadInput, BadQuestion
from rather.common.progress import Progress
from rather.common.storage import claim_outputs, staged_folder

NAME = "explain"
HELP = "explain a model's prediction on images: Why P? and Why P, rather than Q?"
EXAMPLE = ("rather explain --model torchvision.models:resnet50 --weights resnet50.pth --layer layer4 "
           "--image cat.jpg --rather-than 281 --out explained")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="architecture as module:factory (optional for rather's own checkpoints)")
    parser.add_argument("--weights", required=True, help="state dict (.pt/.pth), read with weights_only=True")
    parser.add_argument("--layer", help="dotted name of the layer to explain (not needed by input methods)")
    parser.add_argument("--call", type=int, default=0, help="which call of a layer that runs several times")
    parser.add_argument("--image", required=True, nargs="+", help="image files (PNG, JPEG, TIFF, .npy)")
    contrast = parser.add_mutually_exclusive_group()
    contrast.add_argument("--rather-than", nargs="+", metavar="Q",
                          help="contrast classes, as indices or class names (default: the runner-up)")
    contrast.add_argument("--all", action="store_true", help="every class as the contrast")
    parser.add_argument("--method", default="gradcam", choices=sorted(METHODS), help="how gradients become maps")
    parser.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize inputs to H x W")
    parser.add_argument("--mean", type=float, nargs="+", help="per-channel mean subtracted after scaling to [0, 1]")
    parser.add_argument("--std", type=float, nargs="+", help="per-channel standard deviation divided by")
    parser.add_argument("--classes", help="text file with one class name per line")
    parser.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    parser.add_argument("--out", required=True, help="output folder (summary.json, explanations.h5, figure.png)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    parser.add_argument("--uncertainty", action="store_true",
                        help="also VOICE uncertainty maps (uncertainty.png) and GradTrust scores (summary.json), "
                             "from one pass over every contrast")
    parser.add_argument("--uncertainty-threshold", type=float, metavar="P",
                        help="with --uncertainty: VOICE varies the maps of the classes more probable than P "
                             "(default 0.01)")
    parser.add_argument("--trust-top-k", type=int, metavar="K",
                        help="with --uncertainty: GradTrust compares the K most probable classes (default 5, "
                             "or every class when fewer)")


def class_indices(labels: list[str], class_names: list[str]) -> list[int]:
    """Contrast classes given as indices or names."""
    indices = []
    for label in labels:
        if label.lstrip("-").isdigit():
            indices.append(int(label))
        elif label in class_names:
            indices.append(class_names.index(label))
        else:
            known = f"; known names include {', '.join(class_names[:5])}" if class_names else " (no class names known)"
            raise BadQuestion(f"--rather-than '{label}' is neither a class index nor a class name{known}")
    return indices


def read_class_names(path: str | None, meta: dict) -> list[str]:
    if path is None:
        return list(meta.get("class_names", []))
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"--classes file '{path}' does not exist")
    return [line.strip() for line in file.read_text().splitlines() if line.strip()]


def uncertainty_options(args: argparse.Namespace) -> dict:
    """The keyword arguments of ``explain_uncertainty`` from the command line, checked before any work."""
    from rather.common.uncertainty import DEFAULT_THRESHOLD, checked_threshold, checked_top_k

    if not args.uncertainty:
        if args.uncertainty_threshold is not None or args.trust_top_k is not None:
            raise BadInput("--uncertainty-threshold and --trust-top-k set the uncertainty; add --uncertainty")
        return {}
    threshold = DEFAULT_THRESHOLD if args.uncertainty_threshold is None else args.uncertainty_threshold
    k = None if args.trust_top_k is None else checked_top_k(args.trust_top_k, name="--trust-top-k")
    return {"threshold": checked_threshold(threshold, "--uncertainty-threshold"), "k": k}


def run(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out},
                  inputs={"--weights": args.weights, "--image": args.image, "--classes": args.classes})
    uncertainty = uncertainty_options(args)
    import torch

    from rather.common import Explainer, Rather, Why, load_model
    from rather.common.figures import plot_explanation, plot_uncertainty
    from rather.common.images import prepare, read_image
    from rather.common.summaries import question_records, write_json

    progress = Progress.for_command(json=args.json, asked=args.progress)
    progress.note(f"loading the model ({args.weights})")
    model, meta = load_model(args.model, args.weights, device=args.device)
    class_names = read_class_names(args.classes, meta)
    preprocess = meta.get("preprocess", {})
    size = args.size or preprocess.get("size")
    mean, std = args.mean or preprocess.get("mean"), args.std or preprocess.get("std")
    channels = preprocess.get("channels")
    raw_images = [read_image(path) for path in progress.bar(args.image, desc="reading images", unit="image")]
    inputs = [prepare(image, size, mean, std, channels) for image in raw_images]
    shapes = {tuple(x.shape) for x in inputs}
    if len(shapes) > 1:
        raise BadInput(f"images differ in size {sorted(shapes)}; give --size H W to resize them alike")
    x = torch.cat(inputs)
    if args.all:
        contrast = Rather.all()
    elif args.rather_than:
        contrast = Rather(class_indices(args.rather_than, class_names))
    else:
        contrast = Rather()
    explainer = Explainer(model, layer=args.layer, method=args.method, call=args.call)
    ids = [f"{index:03d}_{Path(path).stem}".replace("/", "_") for index, path in enumerate(args.image)]
    progress.note(f"explaining {len(ids)} image(s) with {args.method} at layer {explainer.layer_name}")
    result = explainer(x, [Why(), contrast], ids=ids, class_names=class_names)
    summary = {
        "command": "explain",
        "version": result.version,
        "model": args.model or meta.get("factory", ""),
        "weights": str(args.weights),
        "model_checksum": result.model_checksum,
        "layer": result.layer,
        "method": result.method,
        "gradient_path": result.gradient_path,
        "notes": list(result.notes),
        "images": [
            {"id": ids[n], "path": str(args.image[n]), "questions": question_records(result, n)}
            for n in range(len(ids))
        ],
        "outputs": {"explanations": "explanations.h5", "figure": "figure.png"},
    }
    uncertain = None
    if uncertainty:
        from rather.common.uncertainty import checked_top_k, explain_uncertainty

        if uncertainty["k"] is not None:
            checked_top_k(uncertainty["k"], result.outputs.shape[1], name="--trust-top-k")
        progress.note("VOICE and GradTrust from every contrast")
        uncertain = explain_uncertainty(explainer, x, **uncertainty, ids=ids, class_names=class_names)
        summary["uncertainty"] = {"threshold": uncertain.threshold, "top_k": uncertain.k,
                                  "notes": list(uncertain.notes)}
        for index, record in enumerate(summary["images"]):
            record["uncertainty"] = uncertain.records(index)
        summary["outputs"]["uncertainty"] = "uncertainty.png"
    shown = [torch.from_numpy(image) for image in raw_images]
    progress.note("writing " + ", ".join(summary["outputs"].values()))
    with staged_folder(args.out) as stage:
        result.save(stage / "explanations.h5")
        plot_explanation(result, shown, stage / "figure.png", indices=range(len(ids)),
                         questions=range(min(result.n_questions, 6)))
        if uncertain is not None:
            plot_uncertainty(uncertain, shown, stage / "uncertainty.png")
        write_json(stage / "summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["images"]:
            trust = f" (GradTrust {record['uncertainty']['gradtrust']:.3f})" if uncertain is not None else ""
            print(f"{record['id']}: " + "; ".join(q["title"] for q in record["questions"][:3]) + trust)
        print(f"wrote {args.out}/summary.json, " + ", ".join(summary["outputs"].values()))
    return 0
