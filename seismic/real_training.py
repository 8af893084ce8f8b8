"""Training and evaluating on a user's real labels: LANDMASS, folders of patches, labelled sections.

``rather seismic train --landmass DIR | --patches DIR | --sections DIR`` and
``rather seismic evaluate`` with the same sources call ``train_real`` and
``evaluate_real``. Patch sources train the patch classifier (``SmallCNN`` with valid
convolutions, as the default classifier, on the source's classes and patch size);
sections train the segmentation network (``networks.SeismicUNet``) on square windows.

Held out: a share ``hold_out`` of the data never seen in training, scored at the end of
training and recorded in the checkpoint's meta. Patches are held out per class
(stratified, by file); sections are held out whole (``labelled.section_split``), so no
window of a held-out section, however the windows overlap, is ever trained on. The
names of the sections a model was trained on are recorded, and ``evaluate_real`` leaves
them out when it meets them again.

Training draws the same number of patches of every class (``classifier.balanced_sample``,
mirrored and polarity-reversed at random); windows of sections are mirrored and
polarity-reversed likewise, with their masks.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, Explainer, save_checkpoint
from rather.common.networks import SmallCNN
from rather.common.progress import SILENT, Progress
from rather.common.training import TrainingLog, predict, train_classifier

from .classes import FAULT
from .classifier import FIELD_STRIDE, accuracy_report, accuracy_report_of, balanced_sample, field_windows
from .labelled import LabelledSections, load_patch_folder, load_sections, resize, section_split
from .landmass import PatchSet, load_landmass
from .networks import FACTORY as UNET_FACTORY, SeismicUNet
from .options import ExplainOptions, ModelChoice, RealTrainOptions, check_zoom
from .patches import extract_patches, patch_grid, scale_each
from .seismic_model import SeismicModel, load_seismic_model
from .sections import explain_section
from .segmentation import segment_section, segmentation_report
from .zoom import dominant_period, zoom_amplitude, zoom_labels, zoomed_stride

PATCH_FACTORY = "rather.common.networks:SmallCNN"
SECTION_WINDOW = 64
"""The default window of the segmentation network (a multiple of 2 ** depth)."""
UNET = {"in_channels": 1, "width": 8, "depth": 2}
MIN_WINDOW = 12
"""The smallest window a patch classifier is scored on (``window_report``): the patch classifier's least side."""


def feature_side(patch: int, pools: int) -> int:
    """The side of ``SmallCNN(padding=0, pools=pools)``'s features for ``patch``-sample patches."""
    side = patch
    for block in range(4):
        side = side - 2
        side = side // 2 if block < pools else side
    return side


def patch_architecture(classes: int, patch: int) -> dict:
    """``SmallCNN`` keywords for ``classes`` classes on ``patch``-sample patches: the most pools (up to 3) that
    leave features of at least 4 x 4 (99 -> 3 pools, 8 x 8; 45 -> 2 pools, 5 x 5; 28 -> 1 pool, 7 x 7)."""
    pools = next((pools for pools in (3, 2, 1, 0) if feature_side(patch, pools) >= 4), None)
    if pools is None:
        raise BadInput(f"patches of {patch} x {patch} samples are too small for the patch classifier (it needs at "
                       "least 12); give larger patches or --patch 12 or more")
    return {"num_classes": classes, "in_channels": 1, "width": 16, "pools": pools, "padding": 0}


def load_patches(source: str, folder: str, patch: int | None = None) -> PatchSet:
    """The patches of a LANDMASS copy (values as published, in [-1, 1]) or of a folder per class (scaled each)."""
    if source == "landmass":
        data = load_landmass(folder)
        size = patch or data.patches.shape[1]
        return PatchSet(resize(data.patches, size), data.labels, data.files, data.class_names, data.version)
    return load_patch_folder(folder, patch)


def stratified_split(labels: np.ndarray, hold_out: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(training, held-out) indices: ``round(hold_out * n)`` of each class's n held out (one at least when
    ``hold_out`` > 0 and the class has two or more), drawn by ``seed``."""
    rng = np.random.default_rng(seed)
    train, held = [], []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        count = min(len(members) - 1, max(1 if hold_out > 0 and len(members) > 1 else 0,
                                          round(hold_out * len(members))))
        held.append(members[:count])
        train.append(members[count:])
    return np.sort(np.concatenate(train)), np.sort(np.concatenate(held))


@dataclass(frozen=True, eq=False)
class TrainedModel:
    """A trained network, how to rebuild it (factory, kwargs), its meta, its training log and held-out scores."""

    model: nn.Module
    factory: str
    kwargs: dict
    meta: dict
    log: TrainingLog
    held_out: dict


def train_real(options: RealTrainOptions, *, progress: Progress = SILENT) -> TrainedModel:
    """Train on the labelled source of ``options``; score the held-out share."""
    progress.note(f"reading {options.source} from {options.folder}")
    if options.source == "sections":
        return _train_sections(load_sections(options.folder), options, progress)
    return _train_patches(load_patches(options.source, options.folder, options.patch), options, progress)


def _train_patches(data: PatchSet, options: RealTrainOptions, progress: Progress) -> TrainedModel:
    classes, patch = len(data.class_names), int(data.patches.shape[1])
    train, held = stratified_split(data.labels, options.hold_out, options.seed)
    counts = np.bincount(data.labels[train], minlength=classes)
    per_class = options.per_class or int(counts.max())
    x, y = balanced_sample(data.patches[train], data.labels[train], per_class, options.seed, classes)
    progress.note(f"{len(x)} training patches of {patch} x {patch} ({per_class} per class from "
                  f"{dict(zip(data.class_names, counts.tolist()))}); {len(held)} held out")
    torch.manual_seed(options.seed)
    kwargs = patch_architecture(classes, patch)
    model = SmallCNN(**kwargs)
    log = train_classifier(model, x[:, None], y, epochs=options.epochs, seed=options.seed, progress=progress)
    report = accuracy_report(model, data.patches[held], data.labels[held], classes)[0] if len(held) else {}
    meta = {**_meta(options, data.class_names, patch, log), "held_out_patches": int(len(held)),
            "held_out_balanced_accuracy": report.get("balanced_accuracy")}
    return TrainedModel(model, PATCH_FACTORY, kwargs, meta, log, report)


def section_windows(data: LabelledSections, window: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window (stride window / 2) of every section with its labels, half mirrored, half polarity-reversed."""
    amplitudes, labels = [], []
    for amplitude, mask in zip(data.amplitudes, data.labels):
        rows, cols = patch_grid(*amplitude.shape, patch=window, stride=max(1, window // 2))
        amplitudes.append(extract_patches(amplitude, rows, cols, window))
        labels.append(np.rint(extract_patches(mask.astype(np.float32), rows, cols, window)).astype(np.int64))
    x, y = np.concatenate(amplitudes), np.concatenate(labels)
    rng = np.random.default_rng(seed)
    mirrored = rng.random(len(x)) < 0.5
    x[mirrored], y[mirrored] = x[mirrored][:, :, ::-1], y[mirrored][:, :, ::-1]
    x[rng.random(len(x)) < 0.5] *= -1
    return x, y


def class_weights(labels: np.ndarray, classes: int, rule: str) -> np.ndarray:
    """Cross-entropy weights per class from the training labels' class frequencies f_c.

    ``inverse``: 1 / f_c; ``sqrt``: 1 / sqrt(f_c); ``none``: all 1. Scaled so that the
    labelled samples' mean weight is 1 (the loss keeps its size); a class absent from the
    training labels gets the largest present weight.
    """
    counts = np.bincount(labels.ravel(), minlength=classes).astype(np.float64)
    if rule == "none":
        return np.ones(classes, np.float32)
    shares = counts / counts.sum()
    power = 1.0 if rule == "inverse" else 0.5
    weights = np.zeros(classes)
    present = counts > 0
    weights[present] = shares[present] ** -power
    weights[~present] = weights[present].max()
    return (weights / (shares * weights).sum()).astype(np.float32)


def _train_sections(data: LabelledSections, options: RealTrainOptions, progress: Progress) -> TrainedModel:
    window = options.patch or SECTION_WINDOW
    if window % 4:
        raise BadInput(f"--patch {window}: the segmentation network's window must be a multiple of 4")
    train, held = section_split(len(data.names), options.hold_out, options.seed)
    training = data.subset(train)
    x, y = section_windows(training, window, options.seed)
    progress.note(f"{len(x)} training windows of {window} x {window} from {len(train)} sections; "
                  f"held out whole: {', '.join(data.names[i] for i in held) or 'none'}")
    torch.manual_seed(options.seed)
    kwargs = {"num_classes": len(data.class_names), **UNET}
    model = SeismicUNet(**kwargs)
    weights = class_weights(y, len(data.class_names), options.class_weights)
    progress.note(f"class weights ({options.class_weights}): " + ", ".join(
        f"{name} {weight:.2f}" for name, weight in zip(data.class_names, weights)))
    log = train_classifier(model, x[:, None], y, epochs=options.epochs, seed=options.seed, class_weights=weights,
                           progress=progress)
    report = score_sections(model, data.subset(held), window) if held else {}
    meta = {**_meta(options, data.class_names, window, log), "trained_sections": list(training.names),
            "class_weights": {"rule": options.class_weights, "weights": [float(w) for w in weights]},
            "held_out_sections": [data.names[i] for i in held], "held_out_miou": report.get("miou")}
    return TrainedModel(model, UNET_FACTORY, kwargs, meta, log, report)


def _meta(options: RealTrainOptions, class_names: tuple[str, ...], patch: int, log: TrainingLog) -> dict:
    return {"class_names": list(class_names), "layer": "features", "patch": patch, "seed": options.seed,
            "epochs": options.epochs, "trained_on": f"{options.source} {Path(options.folder).name}",
            "hold_out": options.hold_out, "final_training_accuracy": log.accuracy[-1]}


def train_real_checkpoint(out: str, options: RealTrainOptions, *, progress: Progress = SILENT) -> TrainedModel:
    """``train_real``, saved as the checkpoint ``out`` (``load_seismic_model`` reads it back without --model)."""
    trained = train_real(options, progress=progress)
    save_checkpoint(out, trained.model, trained.factory, trained.kwargs, trained.meta)
    return trained


def score_sections(model: nn.Module, data: LabelledSections, window: int) -> dict:
    """``segmentation_report`` of the network over whole sections, and per section."""
    predicted = [segment_section(model, amplitude, window=window, stride=window // 2).predicted
                 for amplitude in data.amplitudes]
    report = segmentation_report(predicted, list(data.labels), data.class_names)
    report["sections"] = {name: segmentation_report([p], [t], data.class_names)["miou"]
                          for name, p, t in zip(data.names, predicted, data.labels)}
    return report


def evaluate_real(choice: ModelChoice, source: str, folder: str, *, device: str = "cpu", own_size: bool = False,
                  binary: str | None = None, window: int | None = None, placement: bool = False,
                  zoom: float = 1.0, progress: Progress = SILENT) -> dict:
    """The model of ``choice`` scored on every labelled patch or section of ``folder``.

    Patches: balanced accuracy, accuracy, confusion (rows true, in the model's class
    order). They are resized to the model's patch, or with ``own_size`` fed as they are
    (a fully convolutional model with a global pool reads any size; patches of a
    folder then share the size most of them have). With ``binary`` (a class of the
    model), the question is that class against the rest: a patch of the data's class
    ``binary`` is positive, any other data class negative, and a prediction of any other
    model class negative. Sections and a patch classifier: ``binary`` is required, and windows
    of ``window`` samples (default: the model's ``small_patch``, else its patch) are scored
    (``window_report``). Sections and a segmentation network: pixel accuracy, per-class
    IoU, mean IoU, confusion. Sections the model was trained on (its meta says which) are
    left out, and ``left_out`` names them. ``placement`` (sections, a patch classifier and
    ``binary``): also where its contrastive answers lie (``contrast_placement``). Every report gives
    ``dominant_period_samples``, the period of the reflections in the data as scored (``dominant_period``):
    a model reads layers at the sampling it learnt them at. ``zoom`` (sections):
    the sections and masks are first resampled that many times finer (``rather.seismic.zoom``), and
    windows are cut at ``zoomed_stride(FIELD_STRIDE, zoom)``: the same windows, relative to the
    geology, as at zoom 1.
    The data's classes are matched to the model's by name; a class the model does not
    have is refused.
    """
    network = load_seismic_model(choice, device)
    zoom = check_zoom(zoom)
    if zoom != 1.0 and source != "sections":
        raise BadInput(f"--zoom resamples sections and their masks; with --{source}, drop it (patches are resized "
                       "to the model's patch, or read at their own size with --own-size)")
    if placement and (source != "sections" or network.dense or binary is None):
        raise BadInput(PLACEMENT_NEEDS)
    progress.note(f"reading {source} from {folder}")
    if source == "sections":
        if not network.dense and binary is None:
            raise BadInput(f"--sections {folder}: '{choice.weights}' classifies patches; score it on windows of the "
                           "sections with --binary CLASS, or give a segmentation network (per-pixel logits), e.g. "
                           "one trained with --sections")
        data = zoomed_sections(load_sections(folder), zoom)
        seen = _seen_sections(network.meta, folder, network.dense)
        keep = [index for index, name in enumerate(data.names) if name not in seen]
        if not keep:
            raise BadInput(f"--sections {folder}: the model was trained on every one of these sections; evaluate it "
                           "on sections it has not seen")
        kept = data.subset(keep)
        if not network.dense:
            report = window_report(network.model, kept, binary, network.class_names,
                                   window or network.meta.get("small_patch") or network.patch,
                                   stride=zoomed_stride(FIELD_STRIDE, zoom))
            if placement:
                report["contrast_placement"] = contrast_placement(network, kept, binary)
        else:
            remapped = _remap(data.class_names, network.class_names, folder)
            report = score_sections(network.model, LabelledSections(kept.names, kept.amplitudes,
                                                                    tuple(remapped[mask] for mask in kept.labels),
                                                                    network.class_names), network.patch)
            report["class_names"] = list(network.class_names)
        report["left_out"], report["zoom"] = sorted(seen & set(data.names)), zoom
        scored = kept.amplitudes
    else:
        data = _patches_read(network, source, folder, own_size, device)
        if binary is not None:
            report = binary_report(network.model, data, binary, network.class_names)
        else:
            labels = _remap(data.class_names, network.class_names, folder)[data.labels]
            report = accuracy_report(network.model, data.patches, labels, len(network.class_names))[0]
            report["class_names"] = list(network.class_names)
        report["patch_size"] = int(data.patches.shape[1])
        scored = data.patches
    version = getattr(data, "version", None)
    report["data"] = f"LANDMASS-{version} at {folder}" if source == "landmass" else f"{source} at {folder}"
    report["dominant_period_samples"] = dominant_period(scored)
    return report


def _patches_read(network: SeismicModel, source: str, folder: str, own_size: bool, device: str) -> PatchSet:
    """The patches of ``folder`` resized to the model's patch, or at their own size when the model reads that
    size (a model with valid convolutions needs a smallest input; a patch below it is refused by name)."""
    data = load_patches(source, folder, None if own_size else network.patch)
    size = int(data.patches.shape[1])
    if own_size:
        try:
            with torch.no_grad():
                network.model(torch.zeros(1, 1, size, size, device=device))
        except RuntimeError:
            raise BadInput(f"--{source} {folder}: patches of {size} x {size} samples are too small for this model "
                           f"to read at their own size; drop --own-size so that they are resized to its patch "
                           f"({network.patch} x {network.patch})") from None
    return data


def _seen_sections(meta: dict, folder: str, dense: bool) -> set[str]:
    """The sections of ``folder`` a model was trained on, as its meta records them (segmentation: ``--sections``
    training; the patch classifier: ``--field-faults``); none when it was trained on another folder."""
    if dense:
        return set(meta.get("trained_sections", [])) if meta.get("trained_on") == f"sections {Path(folder).name}" \
            else set()
    return set(meta.get("field_sections", [])) if meta.get("field_faults") == Path(folder).name else set()


def zoomed_sections(data: LabelledSections, zoom: float) -> LabelledSections:
    """Every section and its mask resampled ``zoom`` times finer (``zoom_amplitude``, ``zoom_labels``)."""
    return LabelledSections(data.names, tuple(zoom_amplitude(amplitude, zoom) for amplitude in data.amplitudes),
                            tuple(zoom_labels(mask, zoom) for mask in data.labels), data.class_names)


def window_report(model: nn.Module, data: LabelledSections, positive: str, model_classes: tuple[str, ...],
                  window: int, stride: int = FIELD_STRIDE) -> dict:
    """A patch classifier on windows of labelled sections, ``positive`` against the rest.

    Windows of ``window`` samples at ``stride`` (``classifier.field_windows``): positive where the class
    ``positive`` crosses the window's centre third, negative where it is nowhere in the
    window; the others are left out. Each window is scaled on its own. Balanced accuracy,
    accuracy, confusion (rows true: positive, rest), the windows per section.
    """
    for classes, whose in ((model_classes, "the model's"), (data.class_names, "the data's")):
        if positive not in classes:
            raise BadInput(f"--binary {positive}: is not one of {whose} classes ({', '.join(classes)})")
    smallest = min(min(amplitude.shape) for amplitude in data.amplitudes)
    if not MIN_WINDOW <= window <= smallest:
        raise BadInput(f"windows of {window} samples do not fit these sections: a window must be from {MIN_WINDOW} "
                       f"samples to the smallest side of the sections ({smallest}); give --window N within that")
    marked = data.class_names.index(positive)
    windows = [field_windows(amplitude, mask == marked, window, stride)
               for amplitude, mask in zip(data.amplitudes, data.labels)]
    patches = np.concatenate([part[0] for part in windows])
    truth = (np.concatenate([part[1] for part in windows]) != FAULT).astype(np.int64)  # 0: positive, 1: the rest
    predicted = (predict(model, scale_each(patches)[:, None]).argmax(1).numpy() if len(patches)
                 else np.zeros(0, dtype=np.int64))
    report = accuracy_report_of(truth, (predicted != model_classes.index(positive)).astype(np.int64), 2)
    return {**report, "class_names": [positive, f"not_{positive}"], "patch_size": int(window),
            "sections": {name: len(part[1]) for name, part in zip(data.names, windows)}}


PLACEMENT_NEEDS = ("--placement measures a patch classifier's answers on sections with a marked class; give "
                   "--sections DIR and --binary CLASS with a patch classifier, or drop --placement")
"""The refusal of ``--placement`` without sections, a marked class and a patch classifier."""
PLACEMENT_CONTRAST = "horizon"
"""The Q of the contrast ``contrast_placement`` measures: "Why P, rather than horizon?" (unbroken layers)."""


def contrast_placement(network: SeismicModel, data: LabelledSections, positive: str,
                       stride: int = ExplainOptions.stride) -> dict:
    """Where a patch classifier's answers lie on sections whose samples of class ``positive`` are marked.

    Each section is explained as ``rather seismic explain`` does (``explain_section`` at ``stride``; P is
    each patch's predicted class). For "Why P?" and "Why P, rather than horizon?": the share of the
    map's energy (its normalised map, summed over all the sections) on the marked samples, beside
    the share of samples marked, which is what a map spread evenly would put there.
    """
    if PLACEMENT_CONTRAST not in network.class_names:
        raise BadInput(f"--placement asks Why P, rather than {PLACEMENT_CONTRAST}?, and the model has no class "
                       f"'{PLACEMENT_CONTRAST}' ({', '.join(network.class_names)}); drop --placement")
    explainer = Explainer(network.model, layer=network.layer)
    questions = [0, 1 + network.class_names.index(PLACEMENT_CONTRAST)]
    marked = data.class_names.index(positive)
    inside, total = np.zeros(len(questions)), np.zeros(len(questions))
    for amplitude, labels in zip(data.amplitudes, data.labels):
        answer = explain_section(explainer, amplitude, patch=network.patch, stride=stride,
                                 class_names=network.class_names)
        maps = answer.maps[questions].astype(np.float64)
        inside += (maps * (labels == marked)).sum(axis=(1, 2))
        total += maps.sum(axis=(1, 2))
    shares = [float(a / b) if b > 0 else None for a, b in zip(inside, total)]
    samples = sum(labels.size for labels in data.labels)
    return {"marked_share": float(sum((labels == marked).sum() for labels in data.labels) / samples),
            "why": shares[0], f"rather_than_{PLACEMENT_CONTRAST}": shares[1], "stride": stride,
            "sections": list(data.names)}


def binary_report(model: nn.Module, data: PatchSet, positive: str, model_classes: tuple[str, ...]) -> dict:
    """``positive`` against the rest: balanced accuracy, accuracy, confusion (rows true: positive, rest)."""
    for classes, whose in ((model_classes, "the model's"), (data.class_names, "the data's")):
        if positive not in classes:
            raise BadInput(f"--binary {positive}: is not one of {whose} classes ({', '.join(classes)})")
    truth = (data.labels != data.class_names.index(positive)).astype(np.int64)  # 0: positive, 1: the rest
    predicted = predict(model, data.patches[:, None]).argmax(1).numpy()
    report = accuracy_report_of(truth, (predicted != model_classes.index(positive)).astype(np.int64), 2)
    return {**report, "class_names": [positive, f"not_{positive}"],
            "predicted_counts": dict(zip(model_classes, np.bincount(predicted, minlength=len(model_classes))
                                         .tolist()))}


def _remap(data_classes: tuple[str, ...], model_classes: tuple[str, ...], folder: str) -> np.ndarray:
    """Index map from the data's class indices to the model's, by name; refused for a class the model lacks."""
    missing = [name for name in data_classes if name not in model_classes]
    if missing:
        raise BadInput(f"{folder}: class '{missing[0]}' is outside the model's classes ({', '.join(model_classes)});"
                       " rename the class folder (or classes.txt), or give the model's classes with --classes")
    return np.array([model_classes.index(name) for name in data_classes], dtype=np.int64)


def format_real_report(report: dict) -> str:
    """``evaluate_real``'s report as text."""
    names = report["class_names"]
    if "miou" in report:
        lines = [f"{report['data']}, {report['samples']:,} samples",
                 f"mean IoU {_number(report['miou'])}, pixel accuracy {_number(report['pixel_accuracy'])}"]
        lines += [f"  IoU {name}: {_number(value)}" for name, value in report["per_class_iou"].items()]
    else:
        lines = [f"{report['data']}, {report['patches']} patches",
                 f"balanced accuracy {_number(report['balanced_accuracy'])} (accuracy {_number(report['accuracy'])})"]
    if report.get("left_out"):
        lines.append(f"left out (trained on): {', '.join(report['left_out'])}")
    lines.append(f"reflections every {report['dominant_period_samples']:.1f} samples down a trace (dominant period"
                 + (f", at zoom {report['zoom']:g})" if report.get("zoom", 1.0) != 1.0 else ")"))
    if "contrast_placement" in report:
        place = report["contrast_placement"]
        lines.append(f"contrast placement (stride {place['stride']}): {names[0]} marks {_share(place['marked_share'])}"
                     f" of the samples; energy there: Why P? {_share(place['why'])}, Why P, rather than "
                     f"{PLACEMENT_CONTRAST}? {_share(place[f'rather_than_{PLACEMENT_CONTRAST}'])}")
    lines.append("confusion (rows true, columns predicted): " + ", ".join(names))
    lines += [f"  {name:>12} " + " ".join(f"{count:7d}" for count in row)
              for name, row in zip(names, report["confusion"])]
    return "\n".join(lines)


def _number(value: float | None) -> str:
    return "not checked" if value is None else f"{value:.3f}"


def _share(value: float | None) -> str:
    return "not checked" if value is None else f"{100 * value:.1f} %"
