"""The four-class patch classifier (horizon, chaotic, fault, salt dome): data, training, evaluation.

Patches of 99 x 99 samples (LANDMASS-1's size) come from the inline sections of
synthetic surveys (see ``survey_patches``); each section is scaled to [-1, 1] on its own
(``patches.scale_to_unit``), as sections of a real survey are when explained. Only
patches that clearly show one class are kept, as LANDMASS was curated (``clear_labels``,
from the class shares of ``patches.class_shares``): a fault zone crossing the patch
centre makes a fault patch, salt or chaos filling half of it a salt-dome or chaotic
patch, and unbroken layers a horizon patch; the rest are left out. Training draws the
same number of patches of every class (with replacement for the rare ones), mirrors
half of them left-right and reverses the polarity of half.

For field data: every training survey draws its own style (``field_style``: wavelet
band, thin beds, reflectivity contrasts, noise level, bandwidth and lateral
correlation, timing jitter, fault throws, dips and damage-zone dimming), so that no one
survey's look can stand for a class. Each training patch is scaled on its own (its 99.5th
percentile of |amplitude| to 1, then a random gain from ``GAIN``, clipped), so the
classifier does not depend on the gain of a survey or section. Training also takes the
patches' centre ``SMALL_PATCH`` x ``SMALL_PATCH`` crops, every step a batch of each size
under one optimiser and schedule (``rather.common.training.train_streams``): the network
is fully convolutional with a global average pool, and so reads small real patches at
their own sampling. With ``TrainOptions.field_faults`` (a ``--sections`` folder whose masks mark
faults, e.g. the Great South Basin sections of ``cunha.write_gsb_sections``), windows of
those real sections join the crops: a window with a picked fault through its centre as
fault, one with no picked fault at all as horizon (``field_windows``); the sections named
in ``field_hold_out`` are never trained on and score the model (``field_report``).

The network is ``SmallCNN`` with valid (unpadded) convolutions: 8 x 8 features per patch,
and a trunk whose activation over a whole section holds every patch's
(``rather.common.sliding``), so sections are explained without recomputing the overlap.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
from scipy.ndimage import gaussian_filter
from torch import nn

from rather.common import BadInput, Explainer, Rather, Why, save_checkpoint
from rather.common.metrics import confusion_matrix, energy_share
from rather.common.networks import SmallCNN
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike
from rather.common.training import TrainingLog, predict, train_streams

from .classes import CLASS_NAMES, FAULT, HORIZON
from .labelled import load_sections
from .options import DEFAULT_CHECKPOINT, ModelChoice, TrainOptions, check_zoom
from .patches import class_shares, extract_patches, patch_grid, scale_each, scale_to_unit
from .seismic_model import load_seismic_model
from .section import SeismicSection, line_of_volume
from .survey import open_survey
from .synthetic import SurveyParameters, SyntheticSurvey, make_survey, read_label_section
from .zoom import log_uniform_zoom, zoom_amplitude, zoom_labels, zoom_ladder, zoomed_stride

FACTORY = "rather.common.networks:SmallCNN"
ARCHITECTURE = {"num_classes": len(CLASS_NAMES), "in_channels": 1, "width": 16, "pools": 3, "padding": 0}
LAYER = "features"
PATCH = 99
SURVEY_KINDS = tuple(
    SurveyParameters(inlines=48, crosslines=192, samples=320, faults=faults, salt_domes=salt, chaotic_zones=chaotic)
    for faults, salt, chaotic in ((2, 0, 1), (1, 1, 1), (1, 0, 2))
)
"""Training and evaluation surveys cycle through these: faulted, salt-bearing, chaotic.

Inlines of 192 traces hold about seven patch columns, so every kind has faulted and
unfaulted columns: horizon patches come from every kind, and the classifier cannot
tell fault from horizon by a survey's style (wavelet, noise, folding) instead of the offset.
"""
HELD_OUT_SURVEYS = 2 * len(SURVEY_KINDS)
SMALL_PATCH = 45
"""The side of the small patches the classifier also trains on: centre crops, and windows of real sections."""
GAIN = (0.6, 1.6)
"""Range of the random gain applied to each (self-scaled) training patch."""
FIELD_STRIDE = 3
"""Stride, in samples and traces, of the windows cut from real sections (``field_windows``)."""
ZOOM_STREAM = 7
"""The second word of the seed of the random zooms (``zoomed_crops``): a stream of its own, so that zooming
leaves every other draw of a training run as it was."""
TEXTURE_BLUR = (0.0, 1.5)
"""Range of the Gaussian blur, its sigma in samples, ``vary_texture`` draws for each patch."""
TEXTURE_NOISE = (0.0, 0.4)
"""Range of the white noise ``vary_texture`` adds to each patch: its standard deviation as a share of the
(blurred) patch's root mean square."""
TEXTURE_STREAM = 8
"""The second word of the seed of ``vary_texture``'s draws: a stream of its own, as ``ZOOM_STREAM``."""


@dataclass(frozen=True, eq=False)
class LabelledSection:
    """A section with its truth, sample by sample.

    amplitude: scaled to [-1, 1]; labels: class indices (``CLASS_NAMES``); fault_zone and
    salt_body: bool, the true structures; each (samples, traces) like ``amplitude.values``.
    """

    amplitude: SeismicSection
    labels: np.ndarray
    fault_zone: np.ndarray
    salt_body: np.ndarray


def sections(survey: SyntheticSurvey, every: int = 1,
             kinds: tuple[str, ...] = ("inline", "crossline")) -> Iterator[LabelledSection]:
    """Every ``every``-th line of each kind in ``kinds`` (inlines first), amplitudes scaled per section."""
    for kind, numbers in (("inline", survey.inlines), ("crossline", survey.crosslines)):
        if kind not in kinds:
            continue
        for index in range(0, len(numbers), every):
            amplitude = survey.section(kind, int(numbers[index]))
            yield LabelledSection(amplitude.with_values(scale_to_unit(amplitude.values)),
                                  *(line_of_volume(volume, kind, index)
                                    for volume in (survey.labels, survey.fault_zone, survey.salt_body)))


def labelled_line(survey_path: PathLike, labels_path: PathLike, kind: str, number: int) -> LabelledSection:
    """Line ``number`` of a SEG-Y survey, scaled, with its labels from the file ``rather seismic synth`` wrote."""
    with open_survey(survey_path) as survey:
        amplitude = survey.section(kind, number)
    return LabelledSection(amplitude.with_values(scale_to_unit(amplitude.values)),
                           *read_label_section(labels_path, kind, number))


def clear_labels(labels: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The class of each patch that clearly shows one, else -1 (LANDMASS-like curation).

    With shares of each class in the 33 x 33 centre and in the whole patch: fault if fault
    zones fill >= 8 % of the centre (a fault plane crosses it) and chaotic < 3 % of the patch
    (a fault offsets layers); else salt dome if salt fills >= 50 % of the centre; else
    chaotic if chaotic fills >= 50 % of the centre and faults and salt < 3 % of the patch;
    else horizon if >= 95 % of the patch is layered and faults fill < 1 % of it (a fault at
    the edge of a patch is neither clearly there nor clearly absent).
    """
    centre = class_shares(labels, rows, cols, PATCH)
    whole = class_shares(labels, rows, cols, PATCH, region=PATCH)
    horizon, chaotic, fault, salt = (CLASS_NAMES.index(name) for name in ("horizon", "chaotic", "fault", "salt_dome"))
    quiet = (whole[:, fault] < 0.03) & (whole[:, salt] < 0.03)
    return np.select(
        [(centre[:, fault] >= 0.08) & (whole[:, chaotic] < 0.03), centre[:, salt] >= 0.5,
         (centre[:, chaotic] >= 0.5) & quiet,
         (whole[:, horizon] >= 0.95) & (whole[:, fault] < 0.01)],
        [fault, salt, chaotic, horizon],
        default=-1,
    ).astype(np.int64)


@dataclass(frozen=True)
class PatchSample:
    """Clear patches of surveys: amplitudes (N, 99, 99) float32, classes (N,), true fault and salt masks."""

    patches: np.ndarray
    labels: np.ndarray
    fault_zone: np.ndarray
    salt_body: np.ndarray

    @staticmethod
    def concatenate(samples: list["PatchSample"]) -> "PatchSample":
        return PatchSample(*(np.concatenate([getattr(s, name) for s in samples])
                             for name in ("patches", "labels", "fault_zone", "salt_body")))


def section_patches(section: LabelledSection, *, stride: int = 16, zoom: float = 1.0) -> PatchSample:
    """The clear patches (``clear_labels``) of one section, at ``stride``; with ``zoom`` > 1, of the section
    resampled ``zoom`` times finer (``rather.seismic.zoom``), at ``zoomed_stride(stride, zoom)``."""
    labels_grid = zoom_labels(section.labels, zoom)
    rows, cols = patch_grid(*labels_grid.shape, patch=PATCH, stride=zoomed_stride(stride, zoom))
    labels = clear_labels(labels_grid, rows, cols)
    keep = labels >= 0
    return PatchSample(
        extract_patches(zoom_amplitude(section.amplitude.values, zoom), rows, cols, PATCH)[keep], labels[keep],
        *(extract_patches(zoom_labels(mask, zoom).astype(np.float32), rows, cols, PATCH)[keep] > 0.5
          for mask in (section.fault_zone, section.salt_body)),
    )


def survey_patches(survey: SyntheticSurvey, *, stride: int = 16, every: int = 2, zoom: float = 1.0) -> PatchSample:
    """The clear patches of every ``every``-th inline, at ``stride`` (each inline ``zoom`` times finer: see
    ``section_patches``).

    Inlines only: the surveys' faults strike within 45 degrees of the inline-number axis, so
    inlines cut every fault at >= 45 degrees and show its offset, while a crossline may run
    almost along a fault, where the apparent dip tends to zero and the offset vanishes — a
    "fault" an interpreter could not see. LANDMASS was likewise cut from F3 inlines.
    """
    return PatchSample.concatenate([section_patches(section, stride=stride, zoom=zoom)
                                    for section in sections(survey, every, kinds=("inline",))])


def zoomed_crops(survey: SyntheticSurvey, zoom: tuple[float, float], rng: np.random.Generator, *,
                 stride: int = 16, every: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """``SMALL_PATCH`` centre crops of the clear patches of every ``every``-th inline, each inline zoomed by its
    own ``log_uniform_zoom`` draw from ``zoom`` (low, high); (N, 45, 45) float32 and their classes (N,)."""
    crops, labels = [], []
    for section in sections(survey, every, kinds=("inline",)):
        sample = section_patches(section, stride=stride, zoom=log_uniform_zoom(rng, *zoom))
        crops.append(centre_crops(sample.patches))
        labels.append(sample.labels)
    return np.concatenate(crops), np.concatenate(labels)


def field_style(rng: np.random.Generator) -> dict:
    """SurveyParameters fields drawn per survey: the spread of styles of post-stack field data.

    Wavelets of 15 to 40 Hz at 4 ms (the band of F3 and most post-stack surveys), beds of
    1 to 2.5 samples (thin-bed interference: a reflector every few samples), weaker or
    stronger packages and lateral amplitude changes, signal-to-noise from -2 to 8 dB with
    noise of varying bandwidth, lateral correlation and floor, timing jitter and migration
    smoothing, throws from 2 samples up, dips of 55 to 85 degrees, drag, and fault zones
    that keep 40 to 100 % of their reflectivity.
    """
    def uniform(low: float, high: float) -> float:
        return float(rng.uniform(low, high))

    return {"ricker_hz_range": (15.0, 40.0), "bed_thickness_samples": uniform(1.0, 2.5),
            "package_contrast": uniform(0.05, 0.35), "amplitude_variation": uniform(0.1, 0.45),
            "snr_db_range": (-2.0, 8.0), "noise_bandwidth": uniform(0.8, 1.8),
            "noise_correlation_traces": uniform(0.0, 1.2), "noise_floor": uniform(0.3, 1.0),
            "jitter_samples": uniform(0.1, 0.8), "lateral_smoothing_traces": uniform(0.3, 1.5),
            "throw_range_samples": (2.0, 30.0), "dip_range_deg": (55.0, 85.0), "fault_drag": (0.0, 0.15),
            "fault_dimming": (0.0, 0.6)}


def survey_of(index: int, seed: int, styled: bool = False) -> SyntheticSurvey:
    """Synthetic survey number ``index`` of a seed: the kinds of ``SURVEY_KINDS`` in turn; ``styled``: each in
    a ``field_style`` of its own (training), else in the generator's defaults (the held-out evaluation, as
    in every session before field styles, so that its figures stay comparable)."""
    style = field_style(np.random.default_rng([seed, index])) if styled else {}
    return make_survey(seed + index, replace(SURVEY_KINDS[index % len(SURVEY_KINDS)], **style))


def balanced_sample(
    patches: np.ndarray, labels: np.ndarray, per_class: int, seed: int, classes: int = len(CLASS_NAMES)
) -> tuple[np.ndarray, np.ndarray]:
    """``per_class`` patches of every one of ``classes`` classes (with replacement where fewer exist).

    Half are mirrored left-right and, independently, half have their polarity reversed:
    geology has no preferred lateral direction, and surveys differ in polarity convention.
    """
    rng = np.random.default_rng(seed)
    chosen = []
    for label in range(classes):
        members = np.flatnonzero(labels == label)
        if len(members):
            chosen.append(rng.choice(members, per_class, replace=len(members) < per_class))
    order = rng.permutation(np.concatenate(chosen))
    sample = patches[order].copy()
    mirrored = rng.random(len(order)) < 0.5
    sample[mirrored] = sample[mirrored][:, :, ::-1]
    sample[rng.random(len(order)) < 0.5] *= -1
    return sample, labels[order]


def random_gain(patches: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Each patch (N, H, W) scaled on its own (``scale_each``), times a gain drawn from ``GAIN``, clipped
    to [-1, 1]: a patch of a section scaled as a whole is anywhere in that range."""
    gains = rng.uniform(*GAIN, size=(len(patches), 1, 1)).astype(np.float32)
    return np.clip(scale_each(patches) * gains, -1.0, 1.0)


def vary_texture(patches: np.ndarray, rng: np.random.Generator, *, blur: tuple[float, float] = TEXTURE_BLUR,
                 noise: tuple[float, float] = TEXTURE_NOISE) -> np.ndarray:
    """Each patch p (N, H, W) given a fine texture drawn regardless of its class:
    q = G_s * p + k rms(G_s * p) e, with G_s a Gaussian blur of sigma s ~ U(blur) samples,
    k ~ U(noise) and e white noise of unit variance; a new (N, H, W) float32 array.

    A classifier must not read the class from the texture: one trained on noisy sections
    alone calls smooth layers fault, and one trained on zoomed (so smoothed) sections calls
    noisy layers fault (``DEFAULT.md``, round 7).
    """
    sigmas = rng.uniform(*blur, size=len(patches))
    shares = rng.uniform(*noise, size=len(patches))
    varied = np.empty(patches.shape, np.float32)
    for index, (patch, sigma, share) in enumerate(zip(patches, sigmas, shares)):
        smooth = gaussian_filter(patch.astype(np.float32), sigma)
        rms = float(np.sqrt(np.mean(np.square(smooth, dtype=np.float64))))
        varied[index] = smooth + rng.standard_normal(patch.shape, dtype=np.float32) * np.float32(share * rms)
    return varied


def centre_crops(patches: np.ndarray, side: int = SMALL_PATCH) -> np.ndarray:
    """The centre ``side`` x ``side`` of every patch (N, H, W); they keep their patch's class, which
    ``clear_labels`` decides from the 33 x 33 centre (fault, salt, chaos) or from the whole patch (horizon)."""
    top, left = (patches.shape[1] - side) // 2, (patches.shape[2] - side) // 2
    return np.ascontiguousarray(patches[:, top:top + side, left:left + side])


def field_windows(amplitude: np.ndarray, faults: np.ndarray, side: int = SMALL_PATCH,
                  stride: int = FIELD_STRIDE) -> tuple[np.ndarray, np.ndarray]:
    """Fault and horizon windows of a real section whose picked faults are marked in ``faults``.

    amplitude: (samples, traces) scaled; faults: bool, same shape. Every ``side`` x ``side``
    window at ``stride``: fault when a picked fault crosses its centre third (``side // 3``
    square), horizon when no pick touches the window, else left out (a fault at the edge
    is neither clearly there nor clearly absent). A section shorter than ``side`` gives none.
    Returns (N, side, side) float32 and classes (N,) of ``CLASS_NAMES``.
    """
    if min(amplitude.shape) < side:
        return np.zeros((0, side, side), np.float32), np.zeros(0, np.int64)
    rows, cols = patch_grid(*amplitude.shape, patch=side, stride=stride)
    labels = np.where(faults, FAULT, HORIZON).astype(np.uint8)
    centre = class_shares(labels, rows, cols, side)[:, FAULT]
    whole = class_shares(labels, rows, cols, side, region=side)[:, FAULT]
    classes = np.select([centre > 0, whole == 0], [FAULT, HORIZON], default=-1).astype(np.int64)
    keep = classes >= 0
    return extract_patches(amplitude, rows, cols, side)[keep], classes[keep]


@dataclass(frozen=True, eq=False)
class FieldFaults:
    """Fault and horizon windows of real sections (``field_windows``), split by whole section."""

    patches: np.ndarray
    labels: np.ndarray
    held_patches: np.ndarray
    held_labels: np.ndarray
    trained: tuple[str, ...]
    held_out: tuple[str, ...]


def field_faults(folder: PathLike, hold_out: tuple[str, ...] = (), zooms: tuple[float, ...] = (1.0,)) -> FieldFaults:
    """The windows of every section of a ``--sections`` folder whose classes include ``fault``; the sections
    named in ``hold_out`` go to the held-out share (as they are). The training sections give windows at every
    zoom of ``zooms`` (``rather.seismic.zoom``, windows at ``zoomed_stride(FIELD_STRIDE, zoom)``). Refused: no
    ``fault`` class, a held-out name not there."""
    root = Path(folder)
    if not (root / "sections").is_dir() or not (root / "masks").is_dir():
        raise BadInput(f"--field-faults {folder}: needs the folders sections/ and masks/ of a --sections folder "
                       "(sections/NAME.npy with masks/NAME_mask.png, 'fault' in classes.txt)")
    data = load_sections(root)
    if "fault" not in data.class_names:
        raise BadInput(f"--field-faults {folder}: its classes ({', '.join(data.class_names)}) have no 'fault'; "
                       "give sections whose masks mark faults, with 'fault' in classes.txt")
    unknown = sorted(set(hold_out) - set(data.names))
    if unknown:
        raise BadInput(f"--field-hold-out {unknown[0]}: is not a section of {folder} ({', '.join(data.names)})")
    fault = data.class_names.index("fault")
    trained = tuple(name for name in data.names if name not in hold_out)
    held = tuple(name for name in data.names if name in hold_out)
    windows = {name: _joined([field_windows(zoom_amplitude(amplitude, zoom), zoom_labels(mask == fault, zoom),
                                            stride=zoomed_stride(FIELD_STRIDE, zoom))
                              for zoom in (zooms if name in trained else (1.0,))])
               for name, amplitude, mask in zip(data.names, data.amplitudes, data.labels)}
    if not sum(len(windows[name][1]) for name in trained):
        raise BadInput(f"--field-faults {folder}: its training sections ({', '.join(trained) or 'none'}) give no "
                       f"window of {SMALL_PATCH} x {SMALL_PATCH} samples that is clearly fault or clearly free of "
                       "faults; give taller sections with picked faults, or hold out fewer")
    return FieldFaults(*_joined([windows[name] for name in trained]), *_joined([windows[name] for name in held]),
                       trained, held)


def _joined(parts: list[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """The windows and classes of several ``field_windows`` results, one after the other (none: empty)."""
    if not parts:
        return np.zeros((0, SMALL_PATCH, SMALL_PATCH), np.float32), np.zeros(0, np.int64)
    return np.concatenate([part[0] for part in parts]), np.concatenate([part[1] for part in parts])


def fault_report(model: nn.Module, patches: np.ndarray, labels: np.ndarray) -> dict:
    """Fault against the rest on patches (N, H, W) with classes of ``CLASS_NAMES``: balanced accuracy,
    accuracy, confusion (rows true: fault, not fault), each scaled on its own first."""
    predicted = (predict(model, scale_each(patches)[:, None]).argmax(1).numpy() if len(patches)
                 else np.zeros(0, dtype=np.int64))
    return accuracy_report_of((labels != FAULT).astype(np.int64), (predicted != FAULT).astype(np.int64), 2)


def train(options: TrainOptions = TrainOptions(), *,
          progress: Progress = SILENT) -> tuple[nn.Module, TrainingLog, dict]:
    """Train the classifier on clear patches of ``options.surveys`` synthetic surveys by ``options.recipe``:
    "joint", field-styled surveys (``survey_of(i, seed, styled=True)``) and, with ``options.field_faults``,
    windows of real sections (``field_faults``), both patch sizes at once (``joint_streams``); "plain",
    the plain surveys' 99 x 99 patches alone, as the committed classifier of 2026-11-26 was trained. With
    ``options.zoom`` (low, high > 1), the joint recipe's 45-sample patches are drawn from ``zoomed_crops``
    and the real windows are cut at every zoom of ``zoom_ladder(low, high)``. With ``options.texture``, every
    training patch is blurred and given noise at random first (``vary_texture``).

    ``progress`` shows a bar over the surveys drawn, a note on the patches found, then a bar over the epochs.
    """
    seed, joint, zoomed = options.seed, options.recipe == "joint", options.zoom[1] > 1
    field = None if options.field_faults is None else field_faults(options.field_faults, options.field_hold_out,
                                                                     zoom_ladder(*options.zoom))
    streams, distinct = training_streams(options, field, progress)
    progress.note(" and ".join(f"{len(inputs)} training patches of {inputs.shape[1]} x {inputs.shape[2]}"
                               for inputs, _ in streams) + f"; distinct patches per class: {distinct}"
                  + (f"; real windows: {len(field.labels)} from {', '.join(field.trained)}" if field else ""))
    torch.manual_seed(seed)
    model = SmallCNN(**architecture(options))
    log = train_streams(model, [(inputs[:, None], labels) for inputs, labels in streams], epochs=options.epochs,
                        seed=seed, progress=progress)
    meta = {"class_names": list(CLASS_NAMES), "layer": LAYER, "patch": PATCH, "seed": seed,
            "surveys": options.surveys, "per_class": options.per_class, "epochs": options.epochs,
            "final_training_accuracy": log.accuracy[-1], "distinct_patches": distinct}
    if joint:
        meta.update({"small_patch": SMALL_PATCH,
                     "training": "joint: one optimiser and schedule, a batch of each size per step"})
    if zoomed:
        meta["zoom"] = list(options.zoom)
    if options.texture:
        meta["texture"] = {"blur_sigma_samples": list(TEXTURE_BLUR), "noise_share_of_rms": list(TEXTURE_NOISE)}
    if field is not None:
        held = fault_report(model, field.held_patches, field.held_labels)
        meta.update({"field_faults": Path(options.field_faults).name, "field_sections": list(field.trained),
                     "field_held_out": list(field.held_out),
                     "field_held_out_balanced_accuracy": held["balanced_accuracy"],
                     "field_held_out_windows": held["patches"]})
    return model, log, meta


def training_streams(options: TrainOptions, field: FieldFaults | None,
                     progress: Progress = SILENT) -> tuple[list[tuple[np.ndarray, np.ndarray]], dict[str, int]]:
    """The patches and classes ``train`` trains on, one pair per stream, and the distinct clear patches per
    class the surveys gave. The pools they are drawn from are dropped as soon as they are drawn from (a pool of
    36 surveys holds about 28,000 patches of 99 x 99 with their masks, 1.7 GB), so training holds only the
    streams."""
    seed, joint, zoomed = options.seed, options.recipe == "joint", options.zoom[1] > 1
    parts, small = [], []
    zoom_rng = np.random.default_rng([seed, ZOOM_STREAM])
    for index in progress.bar(range(options.surveys), desc="synthetic surveys", unit="survey"):
        survey = survey_of(index, seed, styled=joint)
        parts.append(survey_patches(survey))
        if zoomed:
            small.append(zoomed_crops(survey, options.zoom, zoom_rng))
    pool = PatchSample.concatenate(parts)
    del parts
    x, y = balanced_sample(pool.patches, pool.labels, options.per_class, seed)
    distinct = dict(zip(CLASS_NAMES, np.bincount(pool.labels, minlength=len(CLASS_NAMES)).tolist()))
    del pool
    small_pool = (np.concatenate([crops for crops, _ in small]), np.concatenate([labels for _, labels in small])) \
        if zoomed else None
    del small
    streams = joint_streams(x, y, field, options.per_class, seed, small_pool, options.texture) if joint else [(x, y)]
    return streams, distinct


def joint_streams(x: np.ndarray, y: np.ndarray, field: FieldFaults | None, per_class: int, seed: int,
                  small_pool: tuple[np.ndarray, np.ndarray] | None = None,
                  texture: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """The "joint" recipe's two streams from the balanced 99 x 99 patches ``x`` (N, 99, 99) and classes ``y``:
    those patches, and ``SMALL_PATCH`` patches joined by ``per_class`` real windows of each class of
    ``field`` (if any); every patch scaled on its own with a random gain (``random_gain``). The small patches
    are the centre crops of ``x``, or with ``small_pool`` (crops (M, 45, 45), classes (M,): ``zoomed_crops``)
    ``per_class`` of each class drawn from it. With ``texture``, every patch of both streams first gets a
    texture of its own (``vary_texture``, from the seed's ``TEXTURE_STREAM``)."""
    rng = np.random.default_rng(seed)
    small_x, small_y = (centre_crops(x), y) if small_pool is None else balanced_sample(*small_pool, per_class,
                                                                                        seed + 2)
    if field is not None:
        extra_x, extra_y = balanced_sample(field.patches, field.labels, per_class, seed + 1)
        small_x, small_y = np.concatenate([small_x, extra_x]), np.concatenate([small_y, extra_y])
    if texture:
        texture_rng = np.random.default_rng([seed, TEXTURE_STREAM])
        x, small_x = vary_texture(x, texture_rng), vary_texture(small_x, texture_rng)
    return [(random_gain(x, rng), y), (random_gain(small_x, rng), small_y)]


def train_checkpoint(out: PathLike, options: TrainOptions = TrainOptions(), *,
                     progress: Progress = SILENT) -> dict:
    """``train`` the classifier and save it as the checkpoint ``out`` (its factory, architecture and meta);
    returns the meta (final training accuracy, held-out scores)."""
    model, _, meta = train(options, progress=progress)
    save_checkpoint(out, model, FACTORY, architecture(options), meta)
    return meta


def architecture(options: TrainOptions) -> dict:
    """The classifier's keyword arguments: ``ARCHITECTURE`` with ``options.width`` channels in the first block."""
    return {**ARCHITECTURE, "width": options.width}


NOT_CHECKED = "not checked"
"""How reports show a share or an accuracy with nothing to compute it on (None in JSON)."""


def _mean_or_none(values: torch.Tensor) -> float | None:
    """The mean of the finite values (an all-zero map's share is NaN), None when there are none: JSON has no NaN."""
    finite = values[torch.isfinite(values)]
    return float(finite.mean()) if len(finite) else None


def balanced_accuracy(confusion: np.ndarray) -> float | None:
    """Mean recall over the classes that occur; None when no class occurs (no patch)."""
    totals = confusion.sum(axis=1)
    present = totals > 0
    return float((np.diag(confusion)[present] / totals[present]).mean()) if present.any() else None


def contrast_energy(model: nn.Module, patches: np.ndarray, masks: np.ndarray, label: int,
                    batch: int = 256) -> dict[str, float]:
    """Mean share of map energy inside the masks: "Why label?" versus "Why label, rather than horizon?".

    patches: (N, 99, 99), each predicted ``label`` (so P = label, the paper's contrast CE(y, horizon));
    masks: (N, 99, 99) bool, the true structure. A share with no patch (or only all-zero
    maps) to average is None: not checked.
    """
    explainer = Explainer(model, layer=LAYER)
    horizon = CLASS_NAMES.index("horizon")
    shares = []
    for start in range(0, len(patches), batch):
        x = torch.from_numpy(patches[start:start + batch]).unsqueeze(1)
        result = explainer(x, [Why(), Rather(horizon)])
        shares.append(energy_share(result.maps, torch.from_numpy(masks[start:start + batch])[:, None]))
    values = torch.cat(shares) if shares else torch.empty(0, 2)
    return {"gradcam": _mean_or_none(values[:, 0]), "contrast": _mean_or_none(values[:, 1]),
            "patches": len(patches)}


def accuracy_report(model: nn.Module, patches: np.ndarray, labels: np.ndarray,
                    classes: int = len(CLASS_NAMES)) -> tuple[dict, np.ndarray]:
    """Balanced accuracy, accuracy and confusion of a ``classes``-class model on patches (N, H, W); its predictions.

    No patch: both accuracies None (not checked), the confusion all zeros.
    """
    predicted = (predict(model, patches[:, None]).argmax(1).numpy() if len(patches)
                 else np.zeros(0, dtype=np.int64))
    return accuracy_report_of(labels, predicted, classes), predicted


def accuracy_report_of(labels: np.ndarray, predicted: np.ndarray, classes: int) -> dict:
    """Balanced accuracy, accuracy, confusion (rows true) and count of predictions against their labels."""
    confusion = confusion_matrix(labels, predicted, classes)
    return {
        "balanced_accuracy": balanced_accuracy(confusion),
        "accuracy": float((predicted == labels).mean()) if len(labels) else None,
        "confusion": confusion.tolist(),
        "patches": int(len(labels)),
    }


def evaluate_patches(model: nn.Module, data: PatchSample, where: str = "the data") -> dict:
    """Balanced accuracy, confusion, and energy shares inside the true fault zones and salt bodies.

    ``not_checked`` lists, one line each, what could not be measured on these patches
    and why (no clear patch in ``where``; no patch both labelled and predicted fault or
    salt); those values are None.
    """
    report, predicted = accuracy_report(model, data.patches, data.labels)
    report["energy_share"] = {}
    report["not_checked"] = [] if len(data.labels) else [f"accuracy: no clear patch on {where}"]
    for name, masks in (("fault", data.fault_zone), ("salt_dome", data.salt_body)):
        label = CLASS_NAMES.index(name)
        chosen = (predicted == label) & (data.labels == label)
        shares = contrast_energy(model, data.patches[chosen], masks[chosen], label)
        report["energy_share"][name] = shares
        if shares["gradcam"] is None or shares["contrast"] is None:
            why = (f"no patch both labelled and predicted {name}" if shares["patches"] == 0
                   else f"the maps of its {shares['patches']} patches are all zero")
            report["not_checked"].append(f"energy share inside {name}: {why} on {where}")
    return report


def evaluate_line(model_path: PathLike, survey_path: PathLike, labels_path: PathLike, kind: str, number: int) -> dict:
    """``evaluate_patches`` on the clear patches of one line of a survey that ``rather seismic synth`` wrote."""
    return evaluate_patches(load_seismic_model(ModelChoice(weights=str(model_path))).model,
                            section_patches(labelled_line(survey_path, labels_path, kind, number)),
                            f"{kind} {number}")


def evaluate(model: nn.Module, seed: int = 1000, *, zoom: float = 1.0, progress: Progress = SILENT) -> dict:
    """``evaluate_patches`` on the clear patches of ``HELD_OUT_SURVEYS`` surveys from ``seed`` on, their inlines
    ``zoom`` times finer (``rather.seismic.zoom``; 1: as generated)."""
    surveys = progress.bar(range(HELD_OUT_SURVEYS), desc="held-out surveys", unit="survey")
    return evaluate_patches(model, PatchSample.concatenate([survey_patches(survey_of(index, seed), zoom=zoom)
                                                            for index in surveys]))


def evaluation(choice: ModelChoice = ModelChoice(), *, seed: int = 1000, zoom: float = 1.0,
               progress: Progress = SILENT) -> dict:
    """``rather seismic evaluate`` without labels: ``evaluate`` on held-out synthetic surveys from ``seed`` on,
    at ``zoom``.

    The surveys are labelled with the four classes of ``CLASS_NAMES``: a model of other
    classes is refused (score it on its own labels: ``real_training.evaluate_real``).
    """
    network = load_seismic_model(choice)
    if network.class_names != CLASS_NAMES or network.dense:
        raise BadInput(f"'{choice.weights}' is not a {len(CLASS_NAMES)}-class patch classifier of "
                       f"{', '.join(CLASS_NAMES)}, the classes of the synthetic surveys; score it on your labels "
                       "with --patches, --sections or --landmass")
    report = evaluate(network.model, seed, zoom=check_zoom(zoom), progress=progress)
    report["data"] = (f"{HELD_OUT_SURVEYS} held-out synthetic surveys (seeds {seed}..{seed + HELD_OUT_SURVEYS - 1}), "
                      "clear patches" + (f", inlines {zoom:g} times finer" if zoom != 1 else ""))
    report["zoom"] = zoom
    return report


def share_text(value: float | None) -> str:
    """A share or an accuracy to three decimals, or "not checked" for None."""
    return NOT_CHECKED if value is None else f"{value:.3f}"


def format_evaluation(report: dict) -> str:
    """``evaluation``'s report as the text of ``rather seismic evaluate``."""
    lines = [f"{report['data']}, {report['patches']} patches",
             f"balanced accuracy {share_text(report['balanced_accuracy'])} (accuracy {share_text(report['accuracy'])})",
             "confusion (rows true, columns predicted): " + ", ".join(CLASS_NAMES)]
    lines += [f"  {name:>10} " + " ".join(f"{count:6d}" for count in row)
              for name, row in zip(CLASS_NAMES, report["confusion"])]
    lines += [f"energy inside the true {name} ({shares['patches']} patches): "
              f"Why {name}? {share_text(shares['gradcam'])}; Why {name}, rather than horizon? "
              f"{share_text(shares['contrast'])}"
              for name, shares in report.get("energy_share", {}).items()]
    lines += [f"{NOT_CHECKED}: {reason}" for reason in report.get("not_checked", [])]
    return "\n".join(lines)
