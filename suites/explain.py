"""``rather explain``: Why P, rather than Q? for a user's model and images.

The images stream through in batches of ``--batch-size``: each batch is read, explained,
written (appended to ``explanations.h5``, one figure per image in ``figures/``) and
dropped, so memory is bounded by the batch, not by the number of images (only the ids
and the summary's records grow). ``figure.png`` is a contact sheet of the first
``--sheet`` images, of bounded size. torch and the figures are imported when the command
runs, not when its help is built.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from rather.common import METHODS, BadInput, BadQuestion
from rather.common.progress import Progress
from rather.common.storage import claim_outputs, staged_folder

from .model_args import add_model_arguments, check_batch_size, model_kwargs, read_class_names

MAX_COLUMNS = 6
"""Questions shown in an image's figure (``--all`` asks one per class)."""
MAX_SHEET = 400
SHEET_COLUMNS = 6
THUMBNAIL = 160
"""Pixels a side of a contact sheet's thumbnails."""
UNCERTAINTY_ROWS = 8
"""Images drawn in uncertainty.png (every image's VOICE and GradTrust numbers are in summary.json)."""
MAX_PRINTED = 20
"""Images whose questions the text summary prints (summary.json holds every one)."""

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
    parser.add_argument("--sheet", type=int, default=36, help="images on the contact sheet figure.png (the first "
                        "ones; every image has its own figure in figures/)")
    parser.add_argument("--out", required=True, help="output folder (summary.json, explanations.h5, figure.png, "
                        "figures/)")
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
    from rather.common import Explainer, Rather, Why, load_model
    from rather.common.checkpoints import read_checkpoint, trusted_factory
    from rather.common.summaries import write_json

    check_batch_size(args)
    if not 1 <= args.sheet <= MAX_SHEET:
        raise BadInput(f"--sheet must be between 1 and {MAX_SHEET} images; got {args.sheet}")
    progress = Progress.for_command(json=args.json, asked=args.progress)
    progress.note(f"loading the model ({args.weights})")
    kwargs = model_kwargs(args.model_kwargs)
    factory = args.model or trusted_factory(read_checkpoint(args.weights))  # the name, for the summary
    model, meta = load_model(factory, args.weights, kwargs=kwargs, device=args.device)
    class_names = list(read_class_names(args.classes) or meta.get("class_names", []))
    size, mean, std, channels, sources = preprocessing(args, meta.get("preprocess", {}))
    if args.all:
        contrast = Rather.all()
    elif args.rather_than:
        contrast = Rather(class_indices(args.rather_than, class_names))
    else:
        contrast = Rather()
    explainer = Explainer(model, layer=args.layer or meta.get("layer"), method=args.method, call=args.call)
    ids = [f"{index:03d}_{Path(path).stem}".replace("/", "_") for index, path in enumerate(args.image)]
    progress.note(f"explaining {len(ids)} image(s) with {args.method} at layer {explainer.layer_name}, "
                  f"{args.batch_size} at a time" + (" (and VOICE and GradTrust from every contrast)" if uncertainty
                                                    else ""))
    summary = {"command": "explain", "model": factory, "weights": str(args.weights), "images": [],
               "outputs": {"explanations": "explanations.h5", "figure": "figure.png", "figures": "figures/"}}
    if uncertainty:
        summary["outputs"]["uncertainty"] = "uncertainty.png"
    shape, notes = None, []
    with staged_folder(args.out) as stage, progress.bar(total=len(ids), desc="explaining", unit="image") as bar:
        sheet = ContactSheet(args.sheet)
        (stage / "figures").mkdir()
        for start in range(0, len(ids), args.batch_size):
            paths, names = args.image[start:start + args.batch_size], ids[start:start + args.batch_size]
            shown, x = read_batch(paths, shape, size, mean, std, channels, sources)
            shape = tuple(x.shape[1:])
            result = explainer(x, [Why(), contrast], ids=names, class_names=class_names).cpu()
            records = write_batch(stage, result, shown, paths, start)
            if uncertainty:
                add_uncertainty(stage, explainer, x, result, shown, records, uncertainty, summary)
            summary["images"] += records
            sheet.add(result, shown)
            notes += [note for note in result.notes if note not in notes]
            bar.update(len(names))
        if len(ids) > args.batch_size:
            write_ids(stage / "explanations.h5", ids)
        summary.update(version=result.version, model_checksum=result.model_checksum, layer=result.layer,
                       method=result.method, gradient_path=result.gradient_path, notes=notes)
        sheet.save(stage / "figure.png")
        write_json(stage / "summary.json", summary)
    if args.json:
        print(json.dumps(summary, indent=2))
    else:
        for record in summary["images"][:MAX_PRINTED]:
            trust = f" (GradTrust {record['uncertainty']['gradtrust']:.3f})" if uncertainty else ""
            print(f"{record['id']}: " + "; ".join(q["title"] for q in record["questions"][:3]) + trust)
        if len(summary["images"]) > MAX_PRINTED:
            print(f"... and {len(summary['images']) - MAX_PRINTED} more in summary.json")
        print(f"wrote {args.out}/summary.json, explanations.h5, figure.png (contact sheet), figures/ (one per image)"
              + (", uncertainty.png" if uncertainty else ""))
    return 0


def add_uncertainty(stage: Path, explainer, x, result, shown: list, records: list[dict], options: dict,
                    summary: dict) -> None:
    """VOICE and GradTrust of a batch (``rather.common.uncertainty``; ``result`` its explanations) into its
    ``records``; the first batch also sets the summary's ``uncertainty`` and draws uncertainty.png (its first
    ``UNCERTAINTY_ROWS`` images)."""
    from rather.common.figures import plot_uncertainty
    from rather.common.uncertainty import checked_top_k, explain_uncertainty

    if options["k"] is not None:
        checked_top_k(options["k"], result.outputs.shape[1], name="--trust-top-k")
    uncertain = explain_uncertainty(explainer, x, **options, ids=result.ids, class_names=result.class_names)
    for index, record in enumerate(records):
        record["uncertainty"] = uncertain.records(index)
    if "uncertainty" not in summary:
        summary["uncertainty"] = {"threshold": uncertain.threshold, "top_k": uncertain.k, "notes": []}
        plot_uncertainty(uncertain, shown, stage / "uncertainty.png", indices=range(min(len(shown), UNCERTAINTY_ROWS)))
    summary["uncertainty"]["notes"] += list(uncertain.notes)


def read_batch(paths: list[str], shape, size, mean, std, channels, sources) -> tuple[list, "torch.Tensor"]:
    """The images at ``paths`` as read (to show) and as the model's input batch; refused when they differ in
    size from each other or from the earlier batches' ``shape`` (C, H, W)."""
    import torch

    from rather.common.images import prepare, read_image

    raw_images = [read_image(path, size=size) for path in paths]
    inputs = [prepare(image, size, mean, std, channels, sources=sources) for image in raw_images]
    shapes = {tuple(x.shape[1:]) for x in inputs} | ({shape} if shape else set())
    if len(shapes) > 1:
        raise BadInput(f"images differ in size {sorted(shapes)}; give --size H W to resize them alike")
    return [torch.from_numpy(image) for image in raw_images], torch.cat(inputs)


def write_batch(stage: Path, result, shown: list, paths: list[str], start: int) -> list[dict]:
    """A batch's answers into the stage: appended to explanations.h5 (the first batch creates it), one figure
    per image in figures/; the batch's records for summary.json."""
    from rather.common.figures import plot_explanation
    from rather.common.summaries import question_records

    if start == 0:
        result.save(stage / "explanations.h5")
    else:
        append_store(result.save(stage / ".batch.h5"), stage / "explanations.h5", start)
    records = []
    for row, name in enumerate(result.ids):
        plot_explanation(result, shown, stage / "figures" / f"{name}.png", indices=[row],
                         questions=range(min(result.n_questions, MAX_COLUMNS)))
        records.append({"id": name, "path": str(paths[row]), "figure": f"figures/{name}.png",
                        "questions": question_records(result, row)})
    return records


class ContactSheet:
    """The first ``limit`` images, each with its first contrast map, as one figure of bounded size: thumbnails
    of at most ``THUMBNAIL`` pixels a side are kept, whatever the number or size of the images."""

    def __init__(self, limit: int):
        self.limit, self.cells = limit, []

    def add(self, result, shown) -> None:
        """Keep thumbnails of ``result``'s inputs (``shown``) until the sheet is full."""
        from rather.common.figures import displayable, panel_caption

        column = 1 if result.n_questions > 1 else 0
        for row in range(min(len(shown), self.limit - len(self.cells))):
            self.cells.append((result.ids[row], thumbnail(displayable(shown[row])),
                               thumbnail(result.maps[row, column].numpy()), panel_caption(result, row, column)))

    def save(self, path: Path) -> None:
        """One PNG: a grid of at most ``limit`` cells, ``SHEET_COLUMNS`` wide."""
        from rather.common.figures import DEFAULT_CMAP, FONT, colour_bar, new_figure, save_figure, wrapped

        columns = min(SHEET_COLUMNS, len(self.cells))
        rows = -(-len(self.cells) // columns)
        figure, axes = new_figure(rows, columns, figsize=(2.6 * columns, 3.2 * rows))
        for axis in axes.flat:
            axis.set_axis_off()
        for axis, (name, image, layer, caption) in zip(axes.flat, self.cells):
            axis.imshow(image, cmap="gray" if image.ndim == 2 else None)
            heat = axis.imshow(layer, cmap=DEFAULT_CMAP, alpha=0.5, vmin=0, vmax=1,
                               extent=(-0.5, image.shape[1] - 0.5, image.shape[0] - 0.5, -0.5))
            axis.set_title(wrapped(f"{name}\n{caption}", 28), fontsize=FONT - 3)
            colour_bar(figure, heat, axis)
        save_figure(figure, path)


def thumbnail(array, side: int = THUMBNAIL):
    """(H, W) or (H, W, 3) array block-averaged by the smallest whole factor that brings it to ``side`` pixels
    a side at most."""
    import numpy as np

    from rather.common.images import block_mean

    factor = -(-max(array.shape[:2]) // side)
    if factor == 1:
        return array
    planes = array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)
    small = block_mean(np.ascontiguousarray(planes), factor)
    return small[0] if array.ndim == 2 else np.moveaxis(small, 0, -1)


def append_store(part: Path, path: Path, offset: int) -> None:
    """Append the HDF5 store ``part`` (a batch's ``ExplanationResult.save``) to the store at ``path``, which
    holds the ``offset`` inputs of the earlier batches: each input's group copied inside HDF5 (no map is held
    in memory), its ``index`` counted on from ``offset``; ``part`` is removed. ``write_ids`` ends the store."""
    import h5py

    with h5py.File(part, "r") as store, h5py.File(path, "a") as joined:
        for number, name in enumerate(store["ids"].asstr()[()]):
            store.copy(store["inputs"][name], joined["inputs"], name=name)
            joined["inputs"][name].attrs["index"] = offset + number
    part.unlink()


def write_ids(path: Path, ids: list[str]) -> None:
    """The store's ``ids``, every input's in order: once the last batch is appended, the store is what one
    ``save`` of every input would have written."""
    import h5py
    import numpy as np

    with h5py.File(path, "a") as store:
        del store["ids"]
        store.create_dataset("ids", data=np.array(ids, dtype=object), dtype=h5py.string_dtype())
