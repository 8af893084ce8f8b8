"""The image-quality suite: one damaged photograph explained, the model evaluated, the maps checked.

With no data it makes the embedded pair: a held-out scikit-image photograph
(chelsea, never seen in training) damaged by white noise inside a known rectangle
(``distort_locally``). It asks the committed quality model Why s? and Why s,
rather than the pristine score? (the model's own score of the reference against
itself) and rather than 0.75, as ``rather iqa explain`` does (patchwise, the
paper's procedure); measures the share of each map's energy inside the damaged
rectangle; and evaluates the model on the held-out synthetic set (SRCC, KRCC, PLCC,
RMSE, per distortion, and the localisation table of ``rather iqa evaluate
--localisation``). With ``data`` = DISTORTED,REFERENCE it explains that pair.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
from matplotlib import image as images

from rather.common import BadInput
from rather.common.metrics import energy_share
from rather.common.summaries import plain, write_json
from rather.iqa.distortions import distort_locally
from rather.iqa.evaluation import evaluation
from rather.iqa.explanations import explain_pair
from rather.iqa.options import DEFAULT_CHECKPOINT, Contrast, ExplainOptions, ModelChoice
from rather.iqa.scorers import score_files
from rather.iqa.synthetic import TEST_PHOTOS, photo

from .report import Figure, Section, Table

DAMAGE = ("white_noise", 4)  # a distortion the slim model localises (see `rather iqa evaluate --localisation`)
CONTRAST = 0.75


def embedded_pair(out: Path, seed: int) -> tuple[Path, Path, np.ndarray]:
    """Write the held-out photo and its locally damaged copy as PNG; return their paths and the damage mask."""
    reference = photo(TEST_PHOTOS[0])
    damaged, mask = distort_locally(reference, *DAMAGE, seed=seed)
    paths = out / "distorted.png", out / "reference.png"
    for path, picture in zip(paths, (damaged, reference)):
        images.imsave(path, (picture * 255).round().astype(np.uint8))
    return *paths, mask


def run_iqa_suite(out: Path, data: Optional[str] = None, model: Optional[str] = None, seed: int = 0,
                  device: str = "cpu", progress: Callable[[str], None] = print) -> tuple[Section, dict]:
    """Run the suite into ``out``; return the report's section and the suite's summary."""
    out.mkdir(parents=True, exist_ok=True)
    weights = model or str(DEFAULT_CHECKPOINT)
    choice = ModelChoice(weights=weights, device=device)
    if data is None:
        progress(f"iqa: damaging '{TEST_PHOTOS[0]}' (scikit-image) with {DAMAGE[0]} level {DAMAGE[1]} in a rectangle")
        distorted, reference, mask = embedded_pair(out, seed)
        recorded_as = (distorted.name, reference.name)  # made here: named relative to this folder
    else:
        distorted, _, reference = data.partition(",")
        if not reference:
            raise BadInput(f"--data '{data}': give DISTORTED,REFERENCE (two image paths separated by a comma)")
        distorted, reference, mask = Path(distorted), Path(reference), None
        recorded_as = (str(distorted), str(reference))
    pristine = score_files(choice, reference, reference)  # what an undamaged image earns
    progress(f"iqa: Why s? Why s, rather than {pristine:.3f} (pristine) and {CONTRAST}? (patchwise)")
    explained, result = explain_pair(distorted, reference, [Contrast(pristine), Contrast(CONTRAST)],
                                     out / "explained", ExplainOptions(model=choice),
                                     recorded_as=recorded_as)
    summary = {"distorted": recorded_as[0], "reference": recorded_as[1], "model": weights,
               "score": explained["score"], "pristine_score": pristine,
               "questions": [record["title"] for record in explained["questions"]],
               "outputs": {"explained": "explained/summary.json"}}
    if mask is not None:
        shares = energy_share(result.maps[0], torch.from_numpy(mask)[None])
        summary["damage"] = {"distortion": DAMAGE[0], "level": DAMAGE[1], "area_share": float(mask.mean()),
                             "energy_share": dict(zip(summary["questions"], map(plain, shares)))}
        progress("iqa: evaluating the model on the held-out synthetic set, with localisation")
        summary["evaluation"] = evaluation(choice, with_localisation=True)
    write_json(out / "summary.json", summary)
    return report_section(out.name, summary), summary


def report_section(folder: str, summary: dict) -> Section:
    """The explained pair, the energy inside the damage, and the evaluation tables."""
    section = Section(
        "iqa", "Image quality: why s, rather than q?",
        f"The committed slim WaDIQaM-FR scores {Path(summary['distorted']).name} {summary['score']:.3f} against its "
        f"reference (the reference against itself: {summary['pristine_score']:.3f}). Maps from the last conv layer "
        "of the distorted branch, 32 x 32 windows at stride 4 blended back (the paper's procedure).",
        figures=[Figure(f"{folder}/explained/figure.png", "distorted | reference | " + " | ".join(
            summary["questions"]))],
        links={"summary": f"{folder}/summary.json", "explanations (HDF5)": f"{folder}/explained/explanations.h5"},
    )
    damage = summary.get("damage")
    if damage:
        section.tables.append(Table(
            "iqa-damage", f"Share of each map's energy inside the damaged rectangle ({damage['distortion']}, level "
            f"{damage['level']}; the rectangle is {damage['area_share']:.0%} of the image: a map blind to the damage "
            "scores about that)", ["question", "energy inside"], [[q, v] for q, v in damage["energy_share"].items()]
            + [["a map blind to the damage (the rectangle's area share)", damage["area_share"]]]))
    report = summary.get("evaluation")
    if report:
        section.tables.append(Table(
            "iqa-evaluation", f"{report['data']}; {report['fit']}; a random ranking scores SRCC and KRCC 0",
            ["distortion", "images", "SRCC", "KRCC", "PLCC", "RMSE"],
            [["all", sum(f["count"] for f in report["per_distortion"].values()), report["srcc"], report["krcc"],
              report["plcc"], report["rmse"]]]
            + [[kind, f["count"], f["srcc"], f["krcc"], f["plcc"], f["rmse"]]
               for kind, f in report["per_distortion"].items()]))
        section.tables.append(Table(
            "iqa-localisation", "Localisation: energy of Why s, rather than the pristine score? inside a damaged "
            "quarter of each held-out image", ["distortion", "patchwise", "image mode", "area share"],
            [[kind, f["energy_share"], f["energy_share_image"], f["area_share"]]
             for kind, f in report["localisation"].items()]))
    return section
