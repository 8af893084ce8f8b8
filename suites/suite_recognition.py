"""The recognition suite: an audit of a fine-grained classifier's confusions, as a report section.

It runs the audit that ``rather recognition audit`` runs (``rather.recognition.pipeline.audit``)
into ``out/audit``: with no data, on held-out synthetic birds and the committed bird
classifier, where the part that tells each look-alike pair apart is known, so the
section also shows whether the maps point at it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from rather.common import BadInput
from rather.recognition.options import FORMATS, AuditOptions, DataChoice, ModelChoice
from rather.recognition.pipeline import audit

from .report import Figure, Section, Table, confusion_table

IMAGES = 300  # held-out synthetic birds in the demo: 15 per class
TRUTH_IMAGES = 100


def audit_choices(data: Optional[str], model: ModelChoice | str | None, seed: int, device: str
                  ) -> tuple[DataChoice, ModelChoice, AuditOptions]:
    """The audit's data, model and options: ``data`` is FORMAT:FOLDER (e.g. cub200:~/CUB_200_2011), None for
    synthetic birds; ``model`` the classifier as ``rather suite recognition`` was asked, or a rather checkpoint,
    which names its own factory, layer and preprocessing (None: the committed bird classifier)."""
    classifier = model if isinstance(model, ModelChoice) else ModelChoice(weights=model, device=device)
    if data is None:
        return (DataChoice("synthetic", images=IMAGES, seed=seed), classifier,
                AuditOptions(truth_images=TRUTH_IMAGES, seed=seed))
    form, _, folder = data.partition(":")
    if form not in FORMATS or not folder:
        raise BadInput(f"--data '{data}': give FORMAT:FOLDER with FORMAT one of "
                       f"{', '.join(FORMATS)} (e.g. cub200:~/CUB_200_2011)")
    return DataChoice(form, folder=Path(folder).expanduser(), seed=seed), classifier, AuditOptions(seed=seed)


def run_recognition_suite(out: Path, data: Optional[str] = None, model: ModelChoice | str | None = None, seed: int = 0,
                          device: str = "cpu", progress: Callable[[str], None] = print) -> tuple[Section, dict]:
    """Audit into ``out/audit``; return the report's section and the audit's summary."""
    chosen, classifier, options = audit_choices(data, model, seed, device)
    progress(f"recognition: auditing the classifier on {chosen.format} data ({chosen.split} split)")
    summary = audit(out / "audit", chosen, classifier, options)
    progress(f"recognition: accuracy {summary['accuracy']:.3f} on {summary['images']} images; "
             f"{len(summary['most_confused'])} most confused pairs explained")
    return report_section(out.name, summary), summary


def report_section(folder: str, summary: dict) -> Section:
    """Accuracy and the most confused pairs; their explanations; and the truth of the maps where it is known."""
    base = f"{folder}/audit"
    names = summary["class_names"]
    section = Section(
        "recognition", "Recognition: why A, rather than its look-alike B?",
        f"The classifier ({summary['model'] or 'the committed bird model'}) on {summary['images']} "
        f"{summary['format']} images: accuracy {summary['accuracy']:.3f}, expected calibration error "
        f"{summary['ece']:.3f}. For the most confused pairs, on the images where it hesitates or errs: "
        "Why A? Why A, rather than B? Why B, rather than A?",
        tables=[Table("recognition-pairs", "Most confused pairs", ["A", "B", "A called B", "B called A"],
                      [[pair["a_name"], pair["b_name"], pair["a_as_b"], pair["b_as_a"]]
                       for pair in summary["most_confused"]]),
                Table("recognition-per-class", "Per-class accuracy", ["class", "accuracy"],
                      [[name, summary["per_class_accuracy"][index]] for index, name in enumerate(names)])],
        links={"summary": f"{base}/summary.json", "explanations (HDF5)": f"{base}/explanations.h5",
               "confusion matrix (image)": f"{base}/confusion.png"},
    )
    if "confusion" in summary:
        section.tables.append(confusion_table("recognition-confusion", "Confusion (rows true, columns predicted); "
                                              f"chance accuracy {1 / len(names):.2f}", names, summary["confusion"]))
    section.figures += [Figure(f"{base}/{pair['figure']}", f"{pair['a_name']} vs {pair['b_name']}: per row an "
                               "image, Why A?, Why A, rather than B?, Why B, rather than A?", gallery=True)
                        for pair in summary["most_confused"][:2] if "figure" in pair]
    if "energy_share" in summary:
        rows = [[metric, *(summary[key].get(name) for name in ("contrast", "gradcam", "random"))]
                for metric, key in (("energy on the differing part", "energy_share"),
                                    ("pointing game", "pointing_game"),
                                    ("margin deletion area (lower is better)", "margin_deletion_auc"),
                                    ("margin insertion area (higher is better)", "margin_insertion_auc"))
                if key in summary]
        section.tables.append(Table("recognition-truth", "Do the maps point at the part that tells A from B?",
                                    ["metric", "Why A, rather than B?", "Why A? (Grad-CAM)", "random map"], rows))
        written = summary["outputs"].values()
        section.figures += [Figure(f"{base}/{name}", caption) for name, caption in (
            ("truth.png", "The differing part (ground truth) beside the maps"),
            ("curves.png", "Deletion and insertion curves of the P-vs-Q margin")) if name in written]
    return section
