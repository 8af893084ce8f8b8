"""Agreement of predicted quality with ground truth: SRCC, KRCC, and PLCC and RMSE after a logistic fit.

SRCC (Spearman) and KRCC (Kendall tau-b) compare ranks, so they need no fit. PLCC
(Pearson) and RMSE are computed after mapping the predictions through the
4-parameter logistic of the VQEG (2003) protocol,

    f(s) = (b1 - b2) / (1 + exp(-(s - b3) / |b4|)) + b2,

fitted by least squares to the ground truth, as IQA papers report them.
"""
from __future__ import annotations

import warnings
from typing import Sequence

import numpy as np
from scipy import optimize, stats

from rather.common import BadInput


def logistic4(s: np.ndarray, b1: float, b2: float, b3: float, b4: float) -> np.ndarray:
    """The 4-parameter logistic f(s) above; b1, b2 the upper and lower asymptotes, b3 the centre, b4 the slope."""
    return (b1 - b2) / (1 + np.exp(-(s - b3) / (abs(b4) + 1e-12))) + b2


def fit_logistic(predicted: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """Least-squares parameters (b1, b2, b3, b4) of ``logistic4`` mapping predicted onto truth."""
    start = [truth.max(), truth.min(), float(np.median(predicted)), max(float(predicted.std()), 1e-3)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            parameters, _ = optimize.curve_fit(logistic4, predicted, truth, p0=start, maxfev=20000)
        except RuntimeError:  # no convergence: keep the linear-looking start
            parameters = np.array(start)
    return np.asarray(parameters, dtype=np.float64)


def agreement(predicted: Sequence[float], truth: Sequence[float]) -> dict[str, float]:
    """{"srcc", "krcc", "plcc", "rmse", "count"}; PLCC and RMSE after the logistic fit (NaN where undefined:
    ranks need 3 images, the fit 5)."""
    predicted, truth = np.asarray(predicted, dtype=np.float64), np.asarray(truth, dtype=np.float64)
    if predicted.shape != truth.shape or predicted.ndim != 1:
        raise BadInput(f"predictions {predicted.shape} and ground truth {truth.shape} must be two equal 1-D arrays")
    if len(truth) < 3 or np.ptp(truth) == 0 or np.ptp(predicted) == 0:
        nan = float("nan")
        return {"srcc": nan, "krcc": nan, "plcc": nan, "rmse": nan, "count": int(len(truth))}
    plcc = rmse = float("nan")
    if len(truth) >= 5:  # the logistic has four parameters
        fitted = logistic4(predicted, *fit_logistic(predicted, truth))
        plcc = float(stats.pearsonr(fitted, truth)[0]) if np.ptp(fitted) > 0 else float("nan")
        rmse = float(np.sqrt(np.mean((fitted - truth) ** 2)))
    return {
        "srcc": float(stats.spearmanr(predicted, truth)[0]),
        "krcc": float(stats.kendalltau(predicted, truth)[0]),
        "plcc": plcc,
        "rmse": rmse,
        "count": int(len(truth)),
    }


def agreement_by_kind(predicted: Sequence[float], truth: Sequence[float], kinds: Sequence[str]) -> dict[str, dict]:
    """``agreement`` over each distortion kind's images separately, kinds in first-seen order."""
    predicted, truth, kinds = np.asarray(predicted), np.asarray(truth), np.asarray(kinds)
    return {str(kind): agreement(predicted[kinds == kind], truth[kinds == kind]) for kind in dict.fromkeys(kinds)}
