"""How well a quality model agrees with people (or with SSIM on the synthetic set), and where its maps look.

``evaluation`` is ``rather iqa evaluate`` and the evaluation of the iqa suite: SRCC, KRCC,
PLCC and RMSE of the model's scores against the data set's scores, overall and per
distortion (``metrics.agreement``), on a public data set in its published layout
(``datasets.load_rated_set``) or on the held-out synthetic set; optionally the
localisation table (``localisation.localisation``) on the held-out references.
"""
from __future__ import annotations

from typing import Optional

from rather.common import BadInput
from rather.common.progress import SILENT, Progress

from . import quality_model
from .datasets import load_rated_set
from .localisation import localisation
from .metrics import agreement, agreement_by_kind
from .options import FORMATS, SYNTHETIC, TEST_SEED

FIT_NOTE = "PLCC and RMSE after a 4-parameter logistic fit of the scores to the ground truth"


def evaluation(model_path: str, *, data: Optional[str] = None, form: str = SYNTHETIC, seed: int = TEST_SEED,
               with_localisation: bool = False, progress: Progress = SILENT) -> dict:
    """SRCC, KRCC, PLCC, RMSE overall and per distortion (and the localisation table) of a quality model.

    model_path: a WaDIQaM / DIQaM checkpoint; data, form: the data set's folder and its layout (one of
    ``FORMATS``), or no folder and ``form="synthetic"`` for the held-out synthetic set made with ``seed``.
    The report holds ``srcc``, ``krcc``, ``plcc``, ``rmse``, ``per_distortion`` (the same per distortion
    type, with ``count``), ``data`` (what was evaluated, in words), ``fit`` and, asked for, ``localisation``.
    """
    if form != SYNTHETIC and not data:
        raise BadInput(f"--format {form} needs --data ROOT, the data set's folder")
    if data and form == SYNTHETIC:
        raise BadInput(f"--data needs --format {'|'.join(FORMATS)} (the synthetic set is made, not read)")
    model, _ = quality_model.load_quality_model(model_path)
    held_out = None
    if form == SYNTHETIC or with_localisation:
        progress.note(f"making the held-out synthetic set (seed {seed})")
        held_out = quality_model.test_set(seed)
    if form == SYNTHETIC:
        report = quality_model.evaluate_synthetic(model, held_out)
        report["data"] = (f"held-out synthetic set (seed {seed}): {len(held_out.references)} references from "
                          f"photos {', '.join(dict.fromkeys(held_out.photos))}, labels SSIM in [0, 1]")
    else:
        rated = load_rated_set(data, form)
        predicted = quality_model.score_rated(model, rated, progress)
        report = agreement(predicted, rated.scores)
        report["per_distortion"] = agreement_by_kind(predicted, rated.scores, rated.kinds)
        report["data"] = f"{rated.name} at {data} ({len(rated.ratings)} images; {rated.original_scale})"
    report["fit"] = FIT_NOTE
    if with_localisation:
        report["localisation"] = localisation(model, held_out.references, progress=progress)
    return report
