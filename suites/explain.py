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

from .model_args import add_model_arguments, check_batch_size, model_kwargs, read_class_names

NAME = "explain"
HELP = "explain a model's prediction on images: Why P? and Why P, rather than Q?"
EXAMPLE = ("rather explain --model torchvision.models:resnet50 --weights resnet50.pth --layer layer4 "
           "--image cat.jpg --rather-than 281 --out explained")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_model_arguments(parser, weights_required=True)
    parser.add_argument("--call", type=int, default=0, help="which call of a layer that runs several times")
    parser.add_argument("--image", required=True, nargs="+", help="image files (PNG, JPEG, TIFF, .npy)")
    contrast = parser.add_mutually_exclusive_group()
    contrast.add_argument("--rather-than", nargs="+", metavar="Q",
                          help="contrast classes, as indices or class names (default: the runner-up)")
    contrast.add_argument("--all", action="store_true", help="every class as the contrast")
    parser.add_argument("--method", default="gradcam", choices=sorted(METHODS), help="how gradients become maps")
    parser.add_argument("--classes", help="text file with one class name per line")
    parser.add_argument("--out", required=True, help="output folder (summary.json, explanations.h5, figure.png)")
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")


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


def preprocessing(args: argparse.Namespace, preprocess: dict) -> tuple:
    """(size, mean, std, channels, sources): each option over what the checkpoint's ``preprocess`` says, and
    where each came from, for ``prepare``'s messages."""
    chosen, sources = {}, {}
    for name in ("size", "mean", "std"):
        typed = getattr(args, name)
        chosen[name] = typed or preprocess.get(name)
        sources[name] = f"--{name}" if typed else f"the checkpoint's preprocess.{name}"
    sources["channels"] = "the checkpoint's preprocess.channels"
    return chosen["size"], chosen["mean"], chosen["std"], preprocess.get("channels"), sources


def run(args: argparse.Namespace) -> int:
    claim_outputs(folders={"--out": args.out},
                  inputs={"--weights": args.weights, "--image": args.image, "--classes": args.classes})
    import torch

    from rather.common import Explainer, Rather, Why, load_model
    from rather.common.checkpoints import read_checkpoint, trusted_factory
    from rather.common.figures import plot_explanation
    from rather.common.images import prepare, read_image
    from rather.common.summaries import question_records, write_json

    check_batch_size(args)
    progress = Progress.for_command(json=args.json, asked=args.progress)
    progress.note(f"loading the model ({args.weights})")
    kwargs = model_kwargs(args.model_kwargs)
    factory = args.model or trusted_factory(read_checkpoint(args.weights))  # the name, for the summary
    model, meta = load_model(factory, args.weights, kwargs=kwargs, device=args.device)
    class_names = list(read_class_names(args.classes) or meta.get("class_names", []))
    size, mean, std, channels, sources = preprocessing(args, meta.get("preprocess", {}))
    raw_images = [read_image(path, size=size)
                  for path in progress.bar(args.image, desc="reading images", unit="image")]
    inputs = [prepare(image, size, mean, std, channels, sources=sources) for image in raw_images]
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
    explainer = Explainer(model, layer=args.layer or meta.get("layer"), method=args.method, call=args.call)
    ids = [f"{index:03d}_{Path(path).stem}".replace("/", "_") for index, path in enumerate(args.image)]
    progress.note(f"explaining {len(ids)} image(s) with {args.method} at layer {explainer.layer_name}")
    result = explainer(x, [Why(), contrast], ids=ids, class_names=class_names)
    summary = {
        "command": "explain",
        "version": result.version,
        "model": factory,
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
    shown = [torch.from_numpy(image) for image in raw_images]
    progress.note("writing explanations.h5 and figure.png")
    with staged_folder(args.out) as stage:
        result.save(stage / "explanations.h5")
        plot_explanation(result, shown, stage / "figure.png", indices=range(len(ids)),
                         questions=range(min(result.n_questions, 6)))
        write_json(stage / "summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["images"]:
            print(f"{record['id']}: " + "; ".join(q["title"] for q in record["questions"][:3]))
        print(f"wrote {args.out}/summary.json, explanations.h5, figure.png")
    return 0
