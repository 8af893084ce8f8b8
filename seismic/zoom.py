"""Sections seen at a finer sampling: amplitudes and labels resampled by a zoom factor.

Real data reaches a classifier sampled very differently. The dominant period of the
reflections, in samples down a trace (``dominant_period``, over each whole set), is 4.2 on
the raw F3 inline 244 of Cunha et al. (2020), 6.2 to 7.3 on their Great South Basin
sections, 16 on the NPRA 2D line, 11.6 on the Z3 salt test patches and 25.6 on their 45 x
45 F3 fault patches, which were cut from an interpolated image: their neighbouring traces
correlate at 0.99, the raw inline's at 0.85. A classifier that learnt layers at one period
reads layers at another as something else. Training on sections zoomed by a factor drawn
per section (``log_uniform_zoom``; ``rather seismic train --zoom``) aims at one that does
not depend on the sampling, and held-out sections zoomed by a fixed ladder
(``zoom_ladder``; ``rather seismic evaluate --zoom``) measure how far it does
(``seismic/models/DEFAULT.md``, rounds 5 and 6).

A zoom ``z`` >= 1 maps a section (H, W) onto (round(z H), round(z W)) samples covering the
same extent (``scipy.ndimage.zoom`` with ``grid_mode``: output sample i sits at input
position (i + 1/2) / z - 1/2): amplitudes by cubic splines (a band-limited signal stays
smooth), labels by the nearest input sample (classes stay whole). Zooms below 1 would
need an anti-alias filter first and are refused.

>>> wide = zoom_amplitude(section, 2.0)      # (2 H, 2 W) float32
>>> marks = zoom_labels(mask, 2.0)           # every label a 2 x 2 block
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

from rather.common.errors import BadInput

from .options import check_zoom


def zoom_amplitude(values: ArrayLike, zoom: float) -> np.ndarray:
    """Amplitudes (H, W) on a grid ``zoom`` times finer in both directions, by cubic splines; float32
    (at zoom 1 the array itself, as float32)."""
    zoom = check_zoom(zoom)
    values = np.asarray(values, dtype=np.float32)
    if zoom == 1.0:
        return values
    return ndimage.zoom(values, zoom, order=3, mode="reflect", grid_mode=True).astype(np.float32)


def zoom_labels(labels: ArrayLike, zoom: float) -> np.ndarray:
    """Labels (H, W), any integer or bool dtype, on the grid of ``zoom_amplitude``, by the nearest sample
    (at zoom 1 the array itself)."""
    zoom = check_zoom(zoom)
    labels = np.asarray(labels)
    if zoom == 1.0:
        return labels
    return ndimage.zoom(labels, zoom, order=0, mode="nearest", grid_mode=True)


def zoomed_stride(stride: int, zoom: float) -> int:
    """The stride that, on a section ``zoom`` times finer, cuts the same windows relative to the geology as
    ``stride`` does on the section as sampled: ``round(stride * zoom)``."""
    return round(stride * check_zoom(zoom))


def log_uniform_zoom(rng: np.random.Generator, low: float, high: float) -> float:
    """A zoom drawn so that its logarithm is uniform on [log low, log high]: each octave is as likely."""
    low, high = check_zoom(low), check_zoom(high)
    return float(np.exp(rng.uniform(np.log(low), np.log(high))))


def zoom_ladder(low: float, high: float, steps: int = 4) -> tuple[float, ...]:
    """``steps`` zooms from ``low`` to ``high`` in equal ratios (just ``low`` when they are equal)."""
    low, high = check_zoom(low), check_zoom(high)
    if low == high:
        return (low,)
    return tuple(float(z) for z in np.geomspace(low, high, steps))


def dominant_period(sections: Iterable[ArrayLike], length: int = 256) -> float:
    """The dominant period of the reflections in samples down a trace: ``n / k`` for the frequency bin k > 0
    where the power spectrum peaks, summed over every trace of every section (H_i, W_i).

    Each trace less its mean, tapered by a Hann window, zero-padded to n = max(``length``, tallest H_i)
    samples: the same n for all, so their spectra add bin by bin. The spectrum's resolution is 1 / n cycles
    per sample, so a period P is read to about P**2 / n samples. Labels play no part.
    """
    arrays = [np.asarray(section, dtype=np.float64) for section in sections]
    if not arrays or any(array.ndim != 2 or array.shape[0] < 2 for array in arrays):
        raise BadInput("dominant_period: give 2-D sections (samples, traces) of two samples or more")
    n = max(length, max(array.shape[0] for array in arrays))
    power = np.zeros(n // 2 + 1)
    for array in arrays:
        traces = (array - array.mean(axis=0)) * np.hanning(array.shape[0])[:, None]
        power += (np.abs(np.fft.rfft(traces, n=n, axis=0)) ** 2).sum(axis=1)
    return float(n / (1 + np.argmax(power[1:])))
