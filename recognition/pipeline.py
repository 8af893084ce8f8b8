"""The audit of a fine-grained classifier, end to end: data and model in, a folder of results out.

``audit(out, data, model, options)`` reads the images ``data`` chooses, loads the
classifier ``model`` chooses, and runs ``rather.recognition.audit``'s steps on them:
every image classified (accuracy, top-k, calibration, confusions), the most confused
pairs explained (Why A? Why A, rather than B? Why B, rather than A?), and the
ground-truth metrics. It writes ``summary.json`` (every number), ``confusion.png``,
``explanations.h5`` and one figure per explained pair, ``curves.png`` and
``truth.png`` into ``out``, staged (complete or absent), and returns the summary. The
``rather recognition audit`` command and the recognition suite both call it.
"""
from __future__ import annotations

import time
from pathlib import Path

from rather.common import BadInput, Explainer, load_model
from rather.common.checkpoints import read_checkpoint, trusted_factory
from rather.common.figures import plot_explanation
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder
from rather.common.summaries import write_json

from . import classifier
from .audit import all_logits, classification_report, explain_pairs, trust_report, truth_report
from .data import FileData, Preprocess, SyntheticData
from .figures import plot_confusion, plot_curves, plot_truth
from .loaders import LOADERS, OWN_LAYOUTS
from .options import FORMATS, AuditOptions, DataChoice, ModelChoice


def audit(out: PathLike, data: DataChoice, model: ModelChoice = ModelChoice(),
          options: AuditOptions = AuditOptions(), progress: Progress = SILENT) -> dict:
    """Audit ``model`` on ``data`` into the folder ``out`` (see the module docstring); the summary."""
    started = time.perf_counter()
    check_options(options)
    network, layer, preprocess, description = load_classifier(model)
    explainer = Explainer(network, layer=layer)
    progress.note(f"[1/5] reading the {data.format} data ({data.split} split)")
    images = read_data(data, preprocess.size)
    progress.note(f"[2/5] classifying {len(images.labels)} images")
    logits = all_logits(network, images, preprocess, options.batch_size, model.device, progress)
    if logits.shape[1] != len(images.class_names):
        raise BadInput(f"the model gives {logits.shape[1]} classes but the {data.format} data has "
                       f"{len(images.class_names)}; give a model trained on these classes (or --model-kwargs)")
    summary = {"command": "recognition audit", "format": data.format,
               "data": None if data.folder is None else str(data.folder), "split": data.split, **description,
               "model_checksum": explainer.model_checksum, "class_names": list(images.class_names)}
    summary.update(classification_report(logits, images.labels, images.class_names, options))
    progress.note(f"accuracy {summary['accuracy']:.3f}; explaining the {len(summary['most_confused'])} most "
                  "confused pairs")
    progress.note("[3/5] uncertainty and trust of every image (VOICE, GradTrust)")
    summary["trust"] = trust_report(explainer, images, preprocess, logits, options, progress)
    progress.note("[4/5] Why A? Why A, rather than B? Why B, rather than A? on each pair's hesitations")
    result, shown, rows = explain_pairs(explainer, images, preprocess, logits, summary["most_confused"], options)
    progress.note("[5/5] do the maps point at the ground truth?")
    truth, figure_data = truth_report(network, explainer, images, preprocess, logits, options,
                                      data.format == "synthetic", progress)
    truth["truth_images"] = truth.pop("images")
    summary.update(truth)
    outputs = {"confusion": "confusion.png"}
    with staged_folder(out) as stage:
        plot_confusion(summary["confusion"], images.class_names, stage / "confusion.png")
        if result is not None:
            result.save(stage / "explanations.h5")
            outputs["explanations"] = "explanations.h5"
            for number, pair_rows in enumerate(rows, start=1):
                if pair_rows:
                    name = f"pair{number}.png"
                    truths = [record["true"] for pair in summary["most_confused"] for record in pair["images"]]
                    plot_explanation(result, shown, stage / name, indices=pair_rows[:4], truths=truths)
                    summary["most_confused"][number - 1]["figure"] = name
        if figure_data:
            plot_curves(figure_data["curves"], stage / "curves.png")
            plot_truth(figure_data, images.class_names, stage / "truth.png")
            outputs.update(curves="curves.png", truth="truth.png")
        summary["outputs"] = outputs
        summary["seconds"] = round(time.perf_counter() - started, 1)
        write_json(stage / "summary.json", summary)
    return summary


def check_options(options: AuditOptions) -> None:
    """Refuse counts below one, naming the command's option."""
    for name in ("pairs", "per_pair", "truth_images", "steps", "batch_size", "sanity_images", "sanity_steps",
                 "trust_ranked"):
        if getattr(options, name) < 1:
            raise BadInput(f"--{name.replace('_', '-')} must be at least 1; got {getattr(options, name)}")


def load_classifier(model: ModelChoice):
    """(network, layer, preprocessing, description for the summary) of ``model``: its options over what the
    checkpoint says, checked before any work."""
    if model.factory and not model.weights:
        raise BadInput(f"--model {model.factory} needs --weights (a state dict); rather downloads nothing")
    weights = model.weights or classifier.DEFAULT_CHECKPOINT
    factory = model.factory or trusted_factory(read_checkpoint(weights))  # the name, for the summary
    network, meta = load_model(factory, weights, kwargs=dict(model.kwargs), device=model.device)
    layer = model.layer or meta.get("layer")
    if layer is None:
        raise BadInput("--layer is needed for this model (e.g. layer4 for a ResNet)")
    preprocess = meta.get("preprocess", {})
    size = model.size or preprocess.get("size") or [224, 224]
    mean, std = model.mean or preprocess.get("mean"), model.std or preprocess.get("std")
    for values, name in ((mean, "mean"), (std, "std")):
        if values is not None and len(values) not in (1, 3):
            raise BadInput(f"--{name} has {len(values)} values; give 1 or 3 (one per colour channel)")
    if std is not None and min(std) <= 0:
        raise BadInput(f"--std must be positive; got {list(std)}")
    if min(size) < 8:
        raise BadInput(f"--size {size[0]} {size[1]} is too small; give at least 8 x 8 pixels")
    description = {"model": factory, "weights": str(weights), "layer": layer}
    return network, layer, Preprocess(tuple(size), tuple(mean) if mean else None, tuple(std) if std else None,
                                      preprocess.get("channels")), description


def read_data(data: DataChoice, size: tuple[int, int]):
    """The images of ``data`` at the model's input ``size``: synthetic birds, or a data set's files."""
    if data.format not in FORMATS:
        raise BadInput(f"unknown data format '{data.format}'; give one of {', '.join(FORMATS)}")
    if data.format == "synthetic":
        if data.images < 20:
            raise BadInput(f"--images must be at least 20 (one per class); got {data.images}")
        held_out = data.seed + classifier.HELD_OUT_OFFSET
        seeds = {"test": (held_out,), "train": (data.seed,), "all": (data.seed, held_out)}[data.split]
        return SyntheticData(data.images, seeds, size)
    what = "FILE, the CSV file" if data.format == "csv" else "DIR, the data set's folder"
    if data.folder is None:
        raise BadInput(f"--format {data.format} needs --data {what}")
    if data.format != "csv" and not Path(data.folder).is_dir():
        raise BadInput(f"--data '{data.folder}' is not a folder; --format {data.format} reads a folder")
    if data.classes is not None and data.format not in OWN_LAYOUTS:
        raise BadInput(f"--classes is for --format {' or '.join(OWN_LAYOUTS)}; {data.format} names its own classes")
    extra = {"classes": data.classes} if data.format in OWN_LAYOUTS else {}
    return FileData(LOADERS[data.format](data.folder, data.split, **extra), size)
