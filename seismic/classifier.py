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

The network is ``SmallCNN`` with valid (unpadded) convolutions: 8 x 8 features per patch,
and a trunk whose activation over a whole section holds every patch's
(``rather.common.sliding``), so sections are explained without recomputing the overlap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, Explainer, Rather, Why, save_checkpoint
from rather.common.metrics import confusion_matrix, energy_share
from rather.common.networks import SmallCNN
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike
from rather.common.training import TrainingLog, predict, train_classifier

from .classes import CLASS_NAMES
from .options import DEFAULT_CHECKPOINT, ModelChoice, TrainOptions
from .patches import class_shares, extract_patches, patch_grid, scale_to_unit
from .seismic_model import load_seismic_model
from .section import SeismicSection, line_of_volume
from .survey import open_survey
from .synthetic import SurveyParameters, SyntheticSurvey, make_survey, read_label_section

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


def section_patches(section: LabelledSection, *, stride: int = 16) -> PatchSample:
    """The clear patches (``clear_labels``) of one section, at ``stride``."""
    rows, cols = patch_grid(*section.labels.shape, patch=PATCH, stride=stride)
    labels = clear_labels(section.labels, rows, cols)
    keep = labels >= 0
    return PatchSample(
        extract_patches(section.amplitude.values, rows, cols, PATCH)[keep], labels[keep],
        extract_patches(section.fault_zone.astype(np.float32), rows, cols, PATCH)[keep] > 0.5,
        extract_patches(section.salt_body.astype(np.float32), rows, cols, PATCH)[keep] > 0.5,
    )


def survey_patches(survey: SyntheticSurvey, *, stride: int = 16, every: int = 2) -> PatchSample:
    """The clear patches of every ``every``-th inline, at ``stride``.

    Inlines only: the surveys' faults strike within 45 degrees of the inline-number axis, so
    inlines cut every fault at >= 45 degrees and show its offset, while a crossline may run
    almost along a fault, where the apparent dip tends to zero and the offset vanishes — a
    "fault" an interpreter could not see. LANDMASS was likewise cut from F3 inlines.
    """
    return PatchSample.concatenate([section_patches(section, stride=stride)
                                    for section in sections(survey, every, kinds=("inline",))])


def survey_of(index: int, seed: int) -> SyntheticSurvey:
    """Synthetic survey number ``index`` of a seed: the kinds of ``SURVEY_KINDS`` in turn."""
    return make_survey(seed + index, SURVEY_KINDS[index % len(SURVEY_KINDS)])


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


def train(options: TrainOptions = TrainOptions(), *,
          progress: Progress = SILENT) -> tuple[nn.Module, TrainingLog, dict]:
    """Train the classifier on clear patches of ``options.surveys`` synthetic surveys (``survey_of(i, seed)``).

    ``progress`` shows a bar over the surveys drawn, a note on the patches found, then a bar over the epochs.
    """
    seed = options.seed
    parts = [survey_patches(survey_of(index, seed))
             for index in progress.bar(range(options.surveys), desc="synthetic surveys", unit="survey")]
    data = PatchSample.concatenate(parts)
    x, y = balanced_sample(data.patches, data.labels, options.per_class, seed)
    available = np.bincount(data.labels, minlength=len(CLASS_NAMES))
    distinct = dict(zip(CLASS_NAMES, available.tolist()))
    progress.note(f"{len(x)} training patches; distinct patches per class: {distinct}")
    torch.manual_seed(seed)
    model = SmallCNN(**ARCHITECTURE)
    log = train_classifier(model, x[:, None], y, epochs=options.epochs, seed=seed, progress=progress)
    meta = {"class_names": list(CLASS_NAMES), "layer": LAYER, "patch": PATCH, "seed": seed,
            "surveys": options.surveys, "per_class": options.per_class, "epochs": options.epochs,
            "final_training_accuracy": log.accuracy[-1], "distinct_patches": distinct}
    return model, log, meta


def train_checkpoint(out: PathLike, options: TrainOptions = TrainOptions(), *,
                     progress: Progress = SILENT) -> TrainingLog:
    """``train`` the classifier and save it as the checkpoint ``out`` (its factory, architecture and meta)."""
    model, log, meta = train(options, progress=progress)
    save_checkpoint(out, model, FACTORY, ARCHITECTURE, meta)
    return log


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


def evaluate(model: nn.Module, seed: int = 1000, *, progress: Progress = SILENT) -> dict:
    """``evaluate_patches`` on the clear patches of ``HELD_OUT_SURVEYS`` surveys from ``seed`` on."""
    surveys = progress.bar(range(HELD_OUT_SURVEYS), desc="held-out surveys", unit="survey")
    return evaluate_patches(model, PatchSample.concatenate([survey_patches(survey_of(index, seed))
                                                            for index in surveys]))


def evaluation(choice: ModelChoice = ModelChoice(), *, seed: int = 1000, progress: Progress = SILENT) -> dict:
    """``rather seismic evaluate`` without labels: ``evaluate`` on held-out synthetic surveys from ``seed`` on.

    The surveys are labelled with the four classes of ``CLASS_NAMES``: a model of other
    classes is refused (score it on its own labels: ``real_training.evaluate_real``).
    """
    network = load_seismic_model(choice)
    if network.class_names != CLASS_NAMES or network.dense:
        raise BadInput(f"'{choice.weights}' is not a {len(CLASS_NAMES)}-class patch classifier of "
                       f"{', '.join(CLASS_NAMES)}, the classes of the synthetic surveys; score it on your labels "
                       "with --patches, --sections or --landmass")
    report = evaluate(network.model, seed, progress=progress)
    report["data"] = (f"{HELD_OUT_SURVEYS} held-out synthetic surveys (seeds {seed}..{seed + HELD_OUT_SURVEYS - 1}), "
                      "clear patches")
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
