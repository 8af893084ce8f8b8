"""The seismic suite: a survey's middle inline explained and, where labels exist, checked against them.

With no data it writes the embedded default survey (synthetic, seeded, with its
labels). Outputs under ``out``: the survey (when made here), ``explained/`` (as
``rather seismic explain``: summary.json, explanations.h5, one SEG-Y attribute per
question, the figure) and ``summary.json`` with the truth of the explanations:
on the inline's clear patches, balanced accuracy, confusion and the share of map
energy inside the true fault zones and salt bodies, Why P? against Why P, rather
than horizon? What a line cannot show (no clear patch, no fault predicted there) is
"not checked": null in the JSON, listed under ``truth.not_checked``, said in the report.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from rather.common.summaries import write_json
from rather.seismic.classes import CLASS_NAMES
from rather.seismic.options import DEFAULT_CHECKPOINT, ExplainOptions
from rather.seismic.survey_parameters import SurveyParameters

from .report import Figure, Section as ReportSection, Table, confusion_table

SURVEY = SurveyParameters(inlines=16, crosslines=192, samples=320, faults=2, salt_domes=1, chaotic_zones=1)
SEED = 2024  # neither a training (0..17) nor a held-out evaluation seed (1000..1005)


def run_seismic_suite(out: Path, data: Optional[str] = None, model: Optional[str] = None, seed: int = SEED,
                      device: str = "cpu", progress: Callable[[str], None] = print) -> tuple[ReportSection, dict]:
    """Run the suite into the folder ``out``; return the report's section and the suite's summary.

    The domain modules (torch, segyio) are imported here, when the suite runs.
    """
    from rather.seismic.classifier import evaluate_line
    from rather.seismic.survey_explanation import explain_survey
    from rather.seismic.synthetic import make_survey, write_survey

    out.mkdir(parents=True, exist_ok=True)
    weights = model or str(DEFAULT_CHECKPOINT)
    if data is None:
        progress(f"seismic: writing a synthetic survey ({SURVEY.inlines} x {SURVEY.crosslines} x {SURVEY.samples}, "
                 f"seed {seed}) with its labels")
        survey_path, labels_path = write_survey(make_survey(seed, SURVEY), out / "survey.sgy")
        recorded_as = survey_path.name  # made here: named relative to this folder
    else:
        survey_path = Path(data)
        labels_path = survey_path.with_name(survey_path.stem + ".labels.h5")
        recorded_as = str(survey_path)
    progress(f"seismic: explaining the middle inline of {survey_path.name}")
    explained = explain_survey(survey_path, out / "explained", ExplainOptions(model=weights, device=device),
                               recorded_as=recorded_as)
    line = explained["sections"][0]
    progress(f"seismic: inline {line['number']}: "
             + ", ".join(f"{name} {count}" for name, count in line["predicted_counts"].items()))
    summary = {"survey": recorded_as, "model": weights, "inline": line["number"],
               "predicted_counts": line["predicted_counts"], "outputs": {"explained": "explained/summary.json"}}
    if labels_path.is_file():
        progress("seismic: checking the maps against the survey's labels")
        summary["truth"] = evaluate_line(weights, survey_path, labels_path, "inline", line["number"])
        for reason in summary["truth"]["not_checked"]:
            progress(f"seismic: not checked: {reason}")
    write_json(out / "summary.json", summary)
    return report_section(out.name, summary, line["figure"]), summary


def report_section(folder: str, summary: dict, figure: str) -> ReportSection:
    """The suite's part of the report: the section figure, predicted counts and the truth tables."""
    from rather.seismic.classifier import share_text  # loaded by the run already (torch)

    section = ReportSection(
        "seismic", "Seismic: why fault, rather than horizon?",
        f"Inline {summary['inline']} of {Path(summary['survey']).name}, classified patch by patch (99 x 99 samples) "
        "by the committed four-class classifier; per question the patch maps are stitched into section maps.",
        figures=[Figure(f"{folder}/explained/{figure}", f"Inline {summary['inline']}: amplitude, predicted class, "
                        "Why P?, and Why P, rather than Q? for each class Q")],
        tables=[Table("seismic-predicted", "Patch positions per predicted class", ["class", "patches"],
                      [[name, count] for name, count in summary["predicted_counts"].items()])],
        links={"maps of every question (HDF5)": f"{folder}/explained/explanations.h5",
               "what was explained, per line (JSON)": f"{folder}/explained/summary.json",
               "summary": f"{folder}/summary.json"},
    )
    truth = summary.get("truth")
    if truth:
        section.tables.append(confusion_table(
            "seismic-truth", f"Against the labels: balanced accuracy {share_text(truth['balanced_accuracy'])} on "
            f"{truth['patches']} clear patches (chance {1 / len(CLASS_NAMES):.2f}); confusion (rows true, columns "
            "predicted)", CLASS_NAMES, truth["confusion"]))
        section.tables.append(Table(
            "seismic-energy", "Share of map energy inside the true structure, patches predicted and labelled so",
            ["structure", "patches", "Why P?", "Why P, rather than horizon?"],
            [[name, shares["patches"], share_text(shares["gradcam"]), share_text(shares["contrast"])]
             for name, shares in truth["energy_share"].items()]))
    return section
