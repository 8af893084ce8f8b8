"""The character of a survey: the statistics that tell synthetic sections from field data.

Measured section by section (inlines of a 3-D survey, streamed; the line of a 2-D file),
on amplitudes scaled to [-1, 1] as the classifier sees them (``patches.scale_to_unit``):

- lateral continuity: the mean Pearson correlation of traces 1, 2 and 4 positions apart
  along each inline, and of the same trace on neighbouring inlines (3-D only);
- bandwidth: the peak and centroid frequency of the mean amplitude spectrum (Welch's
  method, 64-sample Hann segments) and the vertical autocorrelation 1 and 2 samples apart;
- amplitude: the standard deviation, the excess kurtosis (0 for a Gaussian; heavy-tailed
  reflectivity and bright spots raise it) and the share of clipped samples (|a| >= 1).

Dead traces (zero variance, e.g. missing traces filled with zeros) are left out of the
correlations. ``rather seismic character A.sgy B.sgy`` prints the figures side by side,
to compare a synthetic survey with a real one.

>>> with open_survey("f3.sgy") as survey:          # the F3 piece in ../shared/data/segy
...     [round(r, 2) for r in character(survey)["trace_correlation"]["along_inline"]]
[0.44, 0.45, 0.42]
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from scipy import signal

from rather.common.errors import BadInput
from rather.common.storage import PathLike

from .patches import scale_to_unit
from .survey import Survey, open_survey

LAGS = (1, 2, 4)
"""Trace offsets of the lateral correlations."""


def _correlations(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson correlation of matching traces (columns) of sections a and b; NaN where either is constant."""
    a = a - a.mean(axis=0)
    b = b - b.mean(axis=0)
    norms = np.sqrt((a * a).sum(axis=0) * (b * b).sum(axis=0))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(norms > 0, (a * b).sum(axis=0) / norms, np.nan)


class _Sums:
    """Running sums of one statistic: mean over every value seen, NaNs skipped."""

    def __init__(self):
        self.total, self.count = 0.0, 0

    def add(self, values: np.ndarray) -> None:
        values = np.asarray(values, dtype=np.float64).ravel()
        values = values[np.isfinite(values)]
        self.total += float(values.sum())
        self.count += len(values)

    def mean(self) -> float | None:
        return self.total / self.count if self.count else None


def _sections(survey: Survey) -> Iterator[np.ndarray]:
    """Section values (samples, traces) in float64: the inlines of a 3-D survey in order, or the one line.

    Sums down a trace run across the rows of the array, so they are taken in float64.
    """
    if survey.kind == "3d":
        for number in survey.inlines:
            yield survey.inline(int(number)).values.astype(np.float64)
    else:
        yield survey.line().values.astype(np.float64)


def character(survey: Survey) -> dict:
    """The statistics of the module docstring for an open survey (JSON-ready; None where not measurable)."""
    if len(survey.samples) < 8:
        raise BadInput(f"{survey.path.name}: {len(survey.samples)} samples per trace are too few to measure a "
                       "spectrum; use traces of at least 8 samples")
    lateral = {lag: _Sums() for lag in LAGS}
    across, vertical = _Sums(), {lag: _Sums() for lag in (1, 2)}
    spectrum, moments = None, {name: _Sums() for name in ("sq", "fourth", "clipped")}
    frequencies = None
    previous = None
    sections = 0
    for raw in _sections(survey):
        live = raw.std(axis=0) > 0
        if not live.any():
            previous = None
            continue
        sections += 1
        values = scale_to_unit(raw)[:, live].astype(np.float64)  # live traces, as the classifier sees them
        for lag in LAGS:
            if raw.shape[1] > lag:
                lateral[lag].add(_correlations(raw[:, lag:], raw[:, :-lag]))
        if previous is not None:
            across.add(_correlations(raw, previous))
        previous = raw
        traces = values - values.mean(axis=0)
        power = (traces * traces).sum(axis=0)
        for lag in (1, 2):
            vertical[lag].add((traces[lag:] * traces[:-lag]).sum(axis=0) / power)
        frequencies, density = signal.welch(traces, fs=1000.0 / survey.interval, nperseg=min(64, traces.shape[0]),
                                            axis=0)
        spectrum = density.sum(axis=1) if spectrum is None else spectrum + density.sum(axis=1)
        moments["sq"].add(values ** 2)
        moments["fourth"].add(values ** 4)
        moments["clipped"].add(np.abs(values) >= 1.0)
    if spectrum is None:
        raise BadInput(f"{survey.path.name}: every trace is constant (dead); there is nothing to measure")
    variance, fourth = moments["sq"].mean(), moments["fourth"].mean()
    return {
        "survey": survey.path.name,
        "sections": sections,
        "trace_correlation": {"lags": list(LAGS),
                              "along_inline": [lateral[lag].mean() for lag in LAGS],
                              "across_inlines": across.mean()},
        "peak_frequency_hz": float(frequencies[int(np.argmax(spectrum))]),
        "centroid_frequency_hz": float((frequencies * spectrum).sum() / spectrum.sum()),
        "vertical_autocorrelation": {"lags": [1, 2], "values": [vertical[1].mean(), vertical[2].mean()]},
        "amplitude": {"std": float(np.sqrt(variance)), "excess_kurtosis": float(fourth / variance ** 2 - 3.0),
                      "clipped_share": moments["clipped"].mean()},
    }


def characters(paths: Sequence[PathLike], *, iline: int = 189, xline: int = 193) -> list[dict]:
    """``character`` of each survey file, in order (``rather seismic character FILE ...``)."""
    reports = []
    for path in paths:
        with open_survey(path, iline=iline, xline=xline) as survey:
            reports.append(character(survey))
    return reports


def format_character(reports: list[dict]) -> str:
    """The reports side by side, one column per survey."""
    def number(value) -> str:
        return "-" if value is None else f"{value:.3f}"

    rows = [("survey", [r["survey"] for r in reports]), ("sections", [str(r["sections"]) for r in reports])]
    for index, lag in enumerate(LAGS):
        rows.append((f"trace correlation, {lag} apart along inline",
                     [number(r["trace_correlation"]["along_inline"][index]) for r in reports]))
    rows.append(("trace correlation, neighbouring inlines",
                 [number(r["trace_correlation"]["across_inlines"]) for r in reports]))
    rows.append(("peak frequency (Hz)", [f"{r['peak_frequency_hz']:.1f}" for r in reports]))
    rows.append(("centroid frequency (Hz)", [f"{r['centroid_frequency_hz']:.1f}" for r in reports]))
    for index, lag in enumerate((1, 2)):
        rows.append((f"vertical autocorrelation, {lag} sample(s)",
                     [number(r["vertical_autocorrelation"]["values"][index]) for r in reports]))
    rows.append(("amplitude std ([-1, 1] scaled)", [number(r["amplitude"]["std"]) for r in reports]))
    rows.append(("excess kurtosis", [number(r["amplitude"]["excess_kurtosis"]) for r in reports]))
    rows.append(("clipped share", [number(r["amplitude"]["clipped_share"]) for r in reports]))
    label = max(len(name) for name, _ in rows)
    widths = [max(len(values[i]) for _, values in rows) for i in range(len(reports))]
    return "\n".join(f"{name:<{label}}  " + "  ".join(f"{v:>{w}}" for v, w in zip(values, widths))
                     for name, values in rows)
