"""How well a quality model agrees with people (or with SSIM on the synthetic set), and where its maps look.

``evaluation`` is ``rather iqa evaluate`` and the evaluation of the iqa suite: SRCC, KRCC,
PLCC and RMSE of the model's scores against the data set's scores, overall and per
distortion (``metrics.agreement``), on a public data set in its published layout
(``datasets.load_rated_set``) or on the held-out synthetic set; optionally the
localisation table (``localisation.localisation``) on the held-out references.

The protocol of the IQA literature: a model trained on a data set (``rather iqa train
--data NAME DIR``, split by reference image) is evaluated on that data set's held-out
references only, which its checkpoint records; on any other data set it is evaluated on
all of it (cross-data-set evaluation). A lower-is-better model (a distance) is evaluated
on its negated scores, so that agreeing with people reads as positive correlations.
"""
from __future__ import annotations

from typing import Optional

from rather.common import BadInput
from rather.common.progress import SILENT, Progress

from . import quality_model
from .datasets import load_rated_set
from .human_scores import held_out, held_out_references, trained_on_name
from .localisation import localisation
from .metrics import agreement, agreement_by_kind
from .options import TEST_SEED, ModelChoice
from .scorers import load_quality, score_rated, synthetic_scorer

FIT_NOTE = "PLCC and RMSE after a 4-parameter logistic fit of the scores to the ground truth"


def evaluation(choice: ModelChoice = ModelChoice(), *, data: Optional[tuple[str, str]] = None, seed: int = TEST_SEED,
               with_localisation: bool = False, progress: Progress = SILENT) -> dict:
    """SRCC, KRCC, PLCC, RMSE overall and per distortion (and the localisation table) of a quality model.

    choice: the model; data: (NAME, folder) of a data set in its published layout (NAME one of
    ``FORMATS``), or None for the held-out synthetic set made with ``seed``. The report holds
    ``srcc``, ``krcc``, ``plcc``, ``rmse``, ``per_distortion`` (the same per distortion type,
    with ``count``), ``data`` (what was evaluated, in words), ``split`` (``held-out references``,
    ``cross-data-set`` or ``synthetic``), ``fit`` and, asked for, ``localisation``.
    """
    quality_model.check_option("--seed", seed, quality_model.SEED)
    model = load_quality(choice)
    if with_localisation and model.layer is None:
        raise BadInput("--localisation explains the model: give --layer L, the layer to explain")
    held_out_set = None
    if data is None or with_localisation:
        progress.note(f"making the held-out synthetic set (seed {seed})")
        held_out_set = quality_model.test_set(seed)
    sign = -1.0 if model.lower_better else 1.0
    if data is None:
        report = quality_model.evaluate_synthetic(lambda *pair: sign * synthetic_scorer(model)(*pair), held_out_set)
        report["data"] = (f"held-out synthetic set (seed {seed}): {len(held_out_set.references)} references from "
                          f"photos {', '.join(dict.fromkeys(held_out_set.photos))}, labels SSIM in [0, 1]")
        report["split"] = "synthetic"
    else:
        name, folder = data
        rated = load_rated_set(folder, name)
        test = held_out_references(model.meta, name, choice.weights)
        if test is not None:
            rated = held_out(rated, test, keep=True)
            if not rated.ratings:
                raise BadInput(f"{rated.name} at {folder} holds none of the {len(test)} references the model held "
                               "out in training; is this the data set it was trained on?")
            report_split = f"held-out references: the {len(test)} the model did not train on"
        else:
            synthetic = str(model.meta.get("labels", "")).startswith("SSIM")  # what synthetic training records
            trained = trained_on_name(model.meta) or ("the synthetic set" if synthetic else "data rather does not know")
            report_split = f"cross-data-set: trained on {trained}, tested on all of {rated.name}"
        predicted = sign * score_rated(model, rated, progress)
        report = agreement(predicted, rated.scores)
        report["per_distortion"] = agreement_by_kind(predicted, rated.scores, rated.kinds)
        report["data"] = f"{rated.name} at {folder} ({len(rated.ratings)} images; {rated.original_scale})"
        report["split"] = report_split
    if model.lower_better:
        report["data"] += "; lower-is-better scores negated"
    report["fit"] = FIT_NOTE
    if with_localisation:
        report["localisation"] = localisation(model, held_out_set.references, progress=progress)
    return report
