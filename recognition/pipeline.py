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

import shutil
import time
from pathlib import Path

from rather.common import BadInput, Explainer, load_model
from rather.common.checkpoints import read_checkpoint, trusted_factory
from rather.common.cluster import ClusterChoice, parts_folder, split_blocks
from rather.common.figures import plot_explanation
from rather.common.memory import peak_resident
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike, staged_folder
from rather.common.summaries import write_json

from . import classifier
from .audit import classification_report, explain_pairs, forward, score_images, trust_report, truth_report
from .batches import AuditJob, score_on_dask
from .data import FileData, Preprocess, SyntheticData
from .figures import plot_confusion, plot_curves, plot_truth
from .loaders import LOADERS, OWN_LAYOUTS
from .options import FORMATS, AuditOptions, DataChoice, ModelChoice


def audit(out: PathLike, data: DataChoice, model: ModelChoice = ModelChoice(),
          options: AuditOptions = AuditOptions(), progress: Progress = SILENT,
          cluster: ClusterChoice = ClusterChoice()) -> dict:
    """Audit ``model`` on ``data`` into the folder ``out`` (see the module docstring); the summary.

    The per-image pass (logits, VOICE, GradTrust) runs in batches of ``options.batch_size``
    images: here one after the other, or on the Dask cluster ``cluster`` chooses, resumable
    (``rather.recognition.batches``); the outputs are the same bit for bit either way, but for
    the timing (``seconds``, ``run``).
    """
    started = time.perf_counter()
    check_options(options)
    network, layer, preprocess, description = load_classifier(model)
    explainer = Explainer(network, layer=layer)
    progress.note(f"[1/4] reading the {data.format} data ({data.split} split)")
    images = read_data(data, preprocess.size)
    check_classes(network, images, preprocess, data.format, model.device)
    batches = split_blocks(range(len(images.labels)), options.batch_size)
    progress.note(f"[2/4] classifying {len(images.labels)} images, with the uncertainty and trust of each (VOICE, "
                  f"GradTrust), in {len(batches)} batches" + (" on Dask" if cluster.on_dask else ""))
    run: dict = {"images": len(images.labels), "batches": len(batches),
                 "workers": cluster.workers, "scheduler": cluster.scheduler}
    if cluster.on_dask:
        job = AuditJob.of(data, model, explainer, images, options.batch_size)
        scores, run["peak_rss_bytes_per_worker"] = score_on_dask(job, batches, parts_folder(out), cluster, progress)
    else:
        scores = score_images(network, explainer, images, preprocess, batches, model.device, progress)
    logits = scores.logits
    run["scoring_seconds"] = round(time.perf_counter() - started, 2)
    summary = {"command": "recognition audit", "format": data.format,
               "data": None if data.folder is None else str(data.folder), "split": data.split, **description,
               "model_checksum": explainer.model_checksum, "class_names": list(images.class_names)}
    summary.update(classification_report(logits, images.labels, images.class_names, options))
    progress.note(f"accuracy {summary['accuracy']:.3f}; explaining the {len(summary['most_confused'])} most "
                  "confused pairs")
    summary["trust"] = trust_report(images, scores, options)
    progress.note("[3/4] Why A? Why A, rather than B? Why B, rather than A? on each pair's hesitations")
    result, shown, rows = explain_pairs(explainer, images, preprocess, logits, summary["most_confused"], options)
    progress.note("[4/4] do the maps point at the ground truth?")
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
        summary["run"] = {**run, "images_per_second": round(len(images.labels) / max(summary["seconds"], 0.1), 1),
                          "peak_rss_bytes": peak_resident()}
        write_json(stage / "summary.json", summary)
    if cluster.on_dask:
        shutil.rmtree(parts_folder(out))  # the outputs are complete: nothing is left to resume
    return summary


def check_classes(network, images, preprocess: Preprocess, format: str, device) -> None:
    """Refuse, before any work, a model that does not run on these images or gives another number of classes
    than the data has (one image through it)."""
    classes = forward(network, preprocess.normalise(images.load([0])[0]).to(device)).shape[1]
    if classes != len(images.class_names):
        raise BadInput(f"the model gives {classes} classes but the {format} data has "
                       f"{len(images.class_names)}; give a model trained on these classes (or --model-kwargs)")


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
