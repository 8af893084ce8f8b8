"""A seismic section as interpreters draw it: time down the rows, traces across.

Every section in ``rather.seismic`` has this one layout: ``values[i, j]`` is the
sample at time ``samples[i]`` of trace ``traces[j]``; patches, maps, labels and
figures follow it. SEG-Y files and volumes hold traces as rows instead (a trace's
samples are contiguous), so the layout is converted in exactly two places: where
traces are read (``from_trace_rows``: ``Survey.inline``, ``crossline`` and ``line``,
the synthetic volumes, the label files) and where they are written back
(``to_trace_rows``: ``attributes.section_rows``).

>>> with open_survey("f3.sgy") as survey:
...     section = survey.inline(111)
>>> section.values.shape, section.trace_key, section.traces[:3]
((75, 18), 'crossline', array([875, 876, 877]))
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Optional

import numpy as np

from rather.common.errors import BadInput

LINE_KINDS = ("inline", "crossline")
"""The lines of a 3D survey a section can follow."""


@dataclass(frozen=True, eq=False)
class SeismicSection:
    """One section: its samples (n_samples, n_traces) and what its rows and columns are.

    values: (n_samples, n_traces) float32, time (or depth) increasing down the rows.
    kind: "inline", "crossline", or "line" (a 2D line, or traces in file order).
    number: the inline or crossline number; None for a "line".
    traces: (n_traces,) int64, the numbers of the traces along the section, ascending
        (crosslines along an inline, inlines along a crossline, the line's own numbers).
    trace_key: what ``traces`` number: "crossline", "inline", "cdp" or "trace".
    samples: (n_samples,) float64 times in ms (depths in m), as ``Survey.samples``.
    """

    values: np.ndarray
    kind: str
    number: Optional[int]
    traces: np.ndarray
    trace_key: str
    samples: np.ndarray

    def __post_init__(self):
        expected = (len(self.samples), len(self.traces))
        if np.shape(self.values) != expected:
            raise BadInput(f"{self.title}: values of shape {np.shape(self.values)} for {expected[0]} samples x "
                           f"{expected[1]} traces; a section is (samples, traces)")

    @property
    def title(self) -> str:
        """What the section is, as figures and messages name it: "inline 112", "crossline 350" or "line"."""
        return self.kind if self.number is None else f"{self.kind} {self.number}"

    def cropped(self, window: slice) -> "SeismicSection":
        """The samples ``window`` (a slice of sample indices) of every trace."""
        return replace(self, values=self.values[window], samples=self.samples[window])

    def with_values(self, values: np.ndarray) -> "SeismicSection":
        """The same section with other values of the same shape (e.g. amplitudes scaled to [-1, 1])."""
        return replace(self, values=values)


def from_trace_rows(rows: np.ndarray) -> np.ndarray:
    """Trace rows (..., n_traces, n_samples) as section values (..., n_samples, n_traces), contiguous."""
    return np.ascontiguousarray(np.swapaxes(rows, -1, -2))


def to_trace_rows(values: np.ndarray) -> np.ndarray:
    """Section values (..., n_samples, n_traces) as trace rows (..., n_traces, n_samples), a view."""
    return np.swapaxes(values, -1, -2)


def line_of_volume(volume, kind: str, index: int) -> np.ndarray:
    """The section values (n_samples, n_traces) of the ``index``-th inline or crossline of a volume.

    ``volume`` is (n_inlines, n_crosslines, n_samples), a NumPy array or an h5py dataset
    (only that line is read). ``index`` is a position along the axis, not a line number.
    """
    if kind not in LINE_KINDS:
        raise BadInput(f"kind {kind!r}: a section of a volume follows an 'inline' or a 'crossline'")
    where = (index, slice(None)) if kind == "inline" else (slice(None), index)
    return from_trace_rows(np.asarray(volume[where]))
