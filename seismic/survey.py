"""Reading a SEG-Y survey: ``open_survey`` checks a file and yields a ``Survey`` to read sections from.

The conventions of every read are those of ``rather.seismic.segy``.
"""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from collections.abc import Iterator
from typing import Optional

import numpy as np
import segyio

from rather.common.errors import BadInput
from rather.common.storage import PathLike

from . import headers
from .geometry import Geometry, Suggestion, file_order, line_step, read_geometry, suggest_byte_locations
from .headers import (FORMATS, FileLayout, SampleFormat, SampleInterval, check_byte_locations, read_layout,
                      sample_interval)
from .section import LINE_KINDS, SeismicSection, from_trace_rows


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


def _sample_times(handle: segyio.SegyFile, interval: float) -> np.ndarray:
    """segyio's sample times, or, where segyio took another interval (headers that disagree), ``interval``'s."""
    times = np.asarray(handle.samples, dtype=np.float64)
    if len(times) > 1 and not np.isclose(times[1] - times[0], interval, rtol=1e-9, atol=0.0):
        times = times[0] + interval * np.arange(len(times))
    return times


class Survey:
    """An open SEG-Y file and its geometry; made by ``open_survey``.

    Attributes:
        path: the file.
        kind: "3d", "2d" (one line) or "unstructured" (traces in file order).
        inlines, crosslines: int64 line numbers found in the headers, ascending.
        samples: float64 (n_samples,) sample times in ms (depths in m), from segyio.
        interval: sample interval in ms (m for depth data stored in mm).
        format: the sample format on disk, e.g. SampleFormat(1, "4-byte IBM float").
        endian: "big" or "little".
        sorting: "inline", "crossline" or None (2D, unstructured, or no order).
        trace_count: traces in the file.
        fill: the value given to missing traces.
        live: bool mask of positions that hold a trace: (n_inlines, n_crosslines)
            for 3D, (n_traces,) all True for 2D and unstructured.
        line_key, line_numbers: for 2D, the header ("inline", "crossline" or
            "cdp") that orders the line and its numbers, ascending (the traces of
            ``line()``); for unstructured "trace" and 0..n-1; None and empty for 3D.
        shape: the grid the traces sit on, (n_inlines, n_crosslines) for 3D,
            (n_traces,) for 2D and unstructured (``trace_cells`` places each trace).
        layout: where headers and traces lie in the file (``headers.FileLayout``).
        notes: what the reader decided about a questionable file, one line each (e.g.
            sample intervals that disagree); empty for a clean file.

    Every array comes back float32. Sections are ``SeismicSection``s, time down the
    rows and traces across (converted once, here, from the file's trace rows);
    slices and volumes keep the grid's axes, samples last. The order never depends on
    the file's sorting. Reads refuse NaN or Inf samples (``BadInput``).
    """

    def __init__(self, path: Path, handle: segyio.SegyFile, layout: FileLayout, geometry: Geometry,
                 interval: SampleInterval, fill: float):
        self.path = path
        self.kind = geometry.kind
        self.inlines = _readonly(geometry.inlines)
        self.crosslines = _readonly(geometry.crosslines)
        self.samples = _readonly(_sample_times(handle, interval.ms))
        self.interval = interval.ms
        self.notes = tuple(note for note in (interval.note,) if note)
        self.format = SampleFormat(layout.format, FORMATS[layout.format][0])
        self.endian = layout.endian
        self.sorting = geometry.sorting
        self.trace_count = len(geometry.cells)
        self.line_key = geometry.line_key
        self.line_numbers = _readonly(geometry.line_numbers)
        self.fill = float(fill)
        self._handle = handle
        self.layout = layout
        self.shape = geometry.shape
        self._geometry = geometry
        trace_at = np.full(int(np.prod(geometry.shape)), -1, dtype=np.int64)
        trace_at[geometry.cells] = np.arange(self.trace_count)
        self._trace_at = _readonly(trace_at.reshape(geometry.shape))
        self.live = _readonly(self._trace_at >= 0)

    def __repr__(self) -> str:
        return f"Survey({self.path.name!r}, kind={self.kind!r}, traces={self.trace_count}, samples={len(self.samples)})"

    # -- reading

    def trace_cells(self, start: int = 0, stop: Optional[int] = None) -> np.ndarray:
        """Flat positions in an array of ``shape`` of the traces start..stop-1 in file order."""
        return self._geometry.cells[start:stop]

    def trace_positions(self, start: int = 0, stop: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """(inline index, crossline index) of the traces start..stop-1 in file order (3D surveys)."""
        if self.kind != "3d":
            raise BadInput(f"{self.path.name}: trace positions on a grid need a 3D survey, this is {self.kind}")
        return np.divmod(self.trace_cells(start, stop), len(self.crosslines))

    def position(self, kind: str, number: int) -> int:
        """The index of inline (``kind`` "inline") or crossline ``number`` in ``inlines`` or ``crosslines``.

        Refused (``BadInput``) when the survey has no such line.
        """
        numbers = self.inlines if kind == "inline" else self.crosslines
        position = int(np.searchsorted(numbers, number))
        if position == len(numbers) or numbers[position] != number:
            step = line_step(numbers)
            spacing = f" step {step}" if step else ""
            raise BadInput(f"{self.path.name}: {kind} {number} is not in the survey ({kind}s {numbers[0]} to "
                           f"{numbers[-1]}{spacing}); give one of the survey's {kind} numbers")
        return position

    def inline(self, number: int) -> SeismicSection:
        """The section along inline ``number``: values (n_samples, n_crosslines), crosslines ascending.

        >>> survey.inline(102).values.shape   # 50 samples, 7 crosslines
        (50, 7)
        """
        self._need("3d", "inline()")
        rows = self._traces(self._trace_at[self.position("inline", number)], f"inline {number}")
        return SeismicSection(from_trace_rows(rows), "inline", int(number), self.crosslines, "crossline",
                              self.samples)

    def crossline(self, number: int) -> SeismicSection:
        """The section along crossline ``number``: values (n_samples, n_inlines), inlines ascending.

        >>> survey.crossline(304).values.shape   # 50 samples, 5 inlines
        (50, 5)
        """
        self._need("3d", "crossline()")
        rows = self._traces(self._trace_at[:, self.position("crossline", number)], f"crossline {number}")
        return SeismicSection(from_trace_rows(rows), "crossline", int(number), self.inlines, "inline", self.samples)

    def section(self, kind: str, number: int) -> SeismicSection:
        """``inline(number)`` or ``crossline(number)``, as ``kind`` says."""
        if kind not in LINE_KINDS:
            raise BadInput(f"{self.path.name}: a section follows an 'inline' or a 'crossline', not {kind!r}")
        return self.inline(number) if kind == "inline" else self.crossline(number)

    def depth_slice(self, index: int) -> np.ndarray:
        """The time (or depth) slice at sample ``index`` (0-based): (n_inlines, n_crosslines) float32.

        The time of slice k is ``survey.samples[k]``; ``np.searchsorted(survey.samples, t)`` finds k for a time t.

        >>> survey.depth_slice(10).shape
        (5, 7)
        """
        self._need("3d", "depth_slice()")
        count = len(self.samples)
        if not 0 <= index < count:
            raise BadInput(f"{self.path.name}: sample index {index} is outside 0..{count - 1}; "
                           "give a sample index, not a time")
        values = np.asarray(self._handle.depth_slice[int(index)], dtype=np.float32)
        self._check_finite(values, f"the slice at sample {index}")
        out = np.full(self.shape, self.fill, dtype=np.float32)
        out.flat[self.trace_cells()] = values
        return out

    def volume(self, max_bytes: int = 2**30) -> np.ndarray:
        """The whole cube: (n_inlines, n_crosslines, n_samples) float32; for small files only.

        Refused when the array would exceed ``max_bytes`` (1 GiB by default): read sections instead.

        >>> survey.volume().shape
        (5, 7, 50)
        """
        self._need("3d", "volume()")
        shape = self.shape + (len(self.samples),)
        size = 4 * int(np.prod(shape))
        if size > max_bytes:
            raise BadInput(f"{self.path.name}: the volume needs {size:,} bytes, more than {max_bytes:,}; "
                           "read it section by section with inline() or crossline()")
        out = np.full(shape, self.fill, dtype=np.float32)
        flat = out.reshape(-1, shape[-1])
        for start, stop in self._chunks():
            values = self._read_range(start, stop)
            self._check_finite(values, f"traces {start:,} to {stop - 1:,}")
            flat[self.trace_cells(start, stop)] = values
        return out

    def line(self) -> SeismicSection:
        """A 2D line or an unstructured file: values (n_samples, n_traces), in ``line_numbers`` order.

        >>> survey.line().values.shape   # 50 samples, 40 CDPs
        (50, 40)
        """
        if self.kind == "3d":
            raise BadInput(f"{self.path.name}: is a 3D survey; read sections with inline(), crossline() "
                           "or depth_slice()")
        rows = self._traces(self._trace_at, "the line")
        return SeismicSection(from_trace_rows(rows), "line", None, self.line_numbers, self.line_key, self.samples)

    def trace_header(self, inline: int, crossline: int) -> dict:
        """The trace header at (``inline``, ``crossline``) as segyio gives it: {byte position: value}.

        >>> survey.trace_header(102, 304)[189]
        102
        """
        self._need("3d", "trace_header()")
        row = self.position("inline", inline)
        column = self.position("crossline", crossline)
        trace = int(self._trace_at[row, column])
        if trace < 0:
            raise BadInput(f"{self.path.name}: no trace at inline {inline}, crossline {crossline} "
                           "(a missing trace); pick a live position (see survey.live)")
        return {int(key): int(value) for key, value in self._handle.header[trace].items()}

    def coordinates(self) -> dict:
        """The ranges of ``trace_coordinates``, and the coordinate scalar (bytes 71-72).

        Returns {"cdp_x": {"min", "max"}, "cdp_y": {"min", "max"}, "scalar": the scalar if
        every trace has the same one, else the list of the distinct ones}.
        """
        scalar, coordinates = self.trace_coordinates()
        ranges = {name: {"min": float(values.min()), "max": float(values.max())}
                  for name, values in coordinates.items()}
        distinct = np.unique(scalar).astype(np.int64).tolist()
        return {**ranges, "scalar": distinct[0] if len(distinct) == 1 else distinct}

    def trace_coordinates(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """CDP X and Y (bytes 181 and 185) of every trace in file order, times its coordinate scalar (bytes 71-72).

        The SEG-Y scalar multiplies when positive and divides when negative (0 counts as 1).
        Returns (the scalars, {"cdp_x": float64, "cdp_y": float64}). All header words are
        read once (one pass over the trace headers per word).
        """
        words = {byte: np.asarray(self._handle.attributes(byte)[:], dtype=np.float64)
                 for byte in (segyio.TraceField.SourceGroupScalar, segyio.TraceField.CDP_X, segyio.TraceField.CDP_Y)}
        scalar = words[segyio.TraceField.SourceGroupScalar]
        factor = np.where(scalar > 0, scalar, np.where(scalar < 0, 1.0 / np.abs(np.where(scalar < 0, scalar, 1)), 1.0))
        return scalar, {"cdp_x": words[segyio.TraceField.CDP_X] * factor,
                        "cdp_y": words[segyio.TraceField.CDP_Y] * factor}

    def suggestion(self) -> Optional[Suggestion]:
        """``geometry.suggest_byte_locations`` for this file's trace headers."""
        return suggest_byte_locations(self._handle)

    def validate(self, *, full: bool = False) -> None:
        """Refuse NaN or Inf samples: in the first, middle and last trace, or in every trace with ``full=True``.

        Integer formats cannot hold NaN or Inf and pass at once. Sections are
        checked anyway as they are read; ``full=True`` reads the whole file once.
        """
        if self._handle.dtype.kind != "f":
            return
        if full:
            for start, stop in self._chunks():
                self._check_finite(self._read_range(start, stop), f"traces {start:,} to {stop - 1:,}")
            return
        for trace in sorted({0, self.trace_count // 2, self.trace_count - 1}):
            self._check_finite(self._read_range(trace, trace + 1), f"trace {trace:,}")

    # -- helpers

    def _need(self, kind: str, method: str) -> None:
        if self.kind != kind:
            raise BadInput(f"{self.path.name}: {method} needs a {kind.upper()} survey, this file is "
                           f"{self.kind}; read it with line()")

    def _traces(self, traces: np.ndarray, what: str) -> np.ndarray:
        """Traces at the given file indices (-1: missing, filled) as rows (len, n_samples) float32."""
        out = np.full((len(traces), len(self.samples)), self.fill, dtype=np.float32)
        present = traces >= 0
        values = self._read(traces[present])
        self._check_finite(values, what)
        out[present] = values
        return out

    def _read(self, traces: np.ndarray) -> np.ndarray:
        """Traces by file index: one strided read when evenly spaced, else one read per trace."""
        steps = np.diff(traces)
        if len(traces) == 1 or (steps[0] != 0 and np.all(steps == steps[0])):
            step = int(steps[0]) if len(steps) else 1
            low, high = int(traces.min()), int(traces.max())
            raw = self._handle.trace.raw[low:high + 1:abs(step)]
            return np.asarray(raw if step > 0 else raw[::-1], dtype=np.float32).reshape(len(traces), -1)
        return np.stack([self._handle.trace.raw[int(trace)] for trace in traces]).astype(np.float32)

    def _read_range(self, start: int, stop: int) -> np.ndarray:
        return np.asarray(self._handle.trace.raw[start:stop], dtype=np.float32).reshape(stop - start, -1)

    def _chunks(self) -> Iterator[tuple]:
        """(start, stop) trace ranges of about headers.CHUNK_BYTES each."""
        size = max(1, headers.CHUNK_BYTES // (4 * len(self.samples)))
        for start in range(0, self.trace_count, size):
            yield start, min(self.trace_count, start + size)

    def _check_finite(self, values: np.ndarray, what: str) -> None:
        bad = values.size - np.count_nonzero(np.isfinite(values))
        if bad:
            raise BadInput(f"{self.path.name}: {bad:,} NaN or Inf samples in {what}; the data are damaged — "
                           "repair the file or mask those traces first")


@contextmanager
def open_survey(path: PathLike, *, iline: int = 189, xline: int = 193, fill: float = 0.0,
                ignore_geometry: bool = False) -> Iterator[Survey]:
    """Open a SEG-Y file read-only, check it, and yield a ``Survey``.

    ``iline``/``xline`` are the 1-based trace-header byte locations of the line
    numbers; ``fill`` is the value of missing traces; ``ignore_geometry=True``
    reads the traces in file order (kind "unstructured"). Endianness is found
    from the binary header. Refused with ``BadInput`` (one line): missing,
    empty, not SEG-Y (zeros, text), headers only, truncated, a binary-header field
    (format code, sample count, extended textual header count) that the traces
    contradict, unreadable sample format, absurd sample count or interval,
    pre-stack or duplicated positions, no usable geometry, and ``iline``/``xline``
    that are not trace-header byte locations (checked before the file is opened).

    >>> with open_survey("survey.sgy") as survey:
    ...     survey.kind, survey.inlines[:3], survey.inline(100).values.shape
    ('3d', array([100, 102, 104]), (50, 7))
    """
    check_byte_locations(iline, xline, geometry=not ignore_geometry)
    source = Path(path)
    name = source.name
    layout = read_layout(source)
    try:
        handle = segyio.open(str(source), "r", iline=int(iline), xline=int(xline), ignore_geometry=True,
                             endian=layout.endian)
    except (RuntimeError, OSError, ValueError):  # segyio's own words name none of the header fields
        raise BadInput(f"{name}: segyio cannot read its headers although their sizes and formats check out; "
                       "check that it is a SEG-Y file (rev 0 or 1) and that it is not being written") from None
    with handle:
        interval = sample_interval(source, layout)
        geometry = file_order(handle.tracecount) if ignore_geometry else read_geometry(name, handle, iline, xline)
        yield Survey(source, handle, layout, geometry, interval, fill)
