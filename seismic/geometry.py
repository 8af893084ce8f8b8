"""Where every trace of a SEG-Y file sits: a 3D grid, a 2D line, or traces in file order.

Read from the line numbers in the trace headers (``--iline``/``--xline`` byte
locations, the CDP number for a 2D line without them); positions without a trace are
missing, and several traces at one position are refused (pre-stack gathers, or wrong
byte locations).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Optional

import numpy as np
import segyio

from rather.common.errors import BadInput

MIN_LIVE_SHARE = 0.05  # below this share of live grid positions the byte locations are almost surely wrong


@dataclass(frozen=True)
class Geometry:
    """Where every trace sits: ``cells[t]`` is trace t's flat position in an array of ``shape``."""

    kind: str
    shape: tuple
    cells: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray
    sorting: Optional[str] = None
    line_key: Optional[str] = None
    line_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


def _words(handle: segyio.SegyFile, byte: int) -> np.ndarray:
    """The header word at ``byte`` of every trace, as int64 (trace_count,)."""
    return np.asarray(handle.attributes(byte)[:], dtype=np.int64)


def _varies(words: np.ndarray) -> bool:
    return bool(words.min() != words.max())


def line_step(numbers: np.ndarray) -> Optional[int]:
    """The regular step of sorted line numbers (their greatest common difference); None for fewer than two."""
    if len(numbers) < 2:
        return None
    return int(np.gcd.reduce(np.diff(numbers)))


def _refuse_duplicates(name: str, handle: segyio.SegyFile, cells: np.ndarray, counts: np.ndarray,
                       place: Callable[[int], str], byte_locations: str) -> None:
    """Several traces at one position: pre-stack gathers if their offsets differ, else a broken geometry."""
    cell = int(np.argmax(counts > 1))
    traces = np.flatnonzero(cells == cell)
    offsets = np.unique(np.asarray(handle.attributes(segyio.TraceField.offset)[traces]))
    where = place(cell)
    if len(offsets) > 1:
        listed = ", ".join(str(int(offset)) for offset in offsets)
        raise BadInput(f"{name}: pre-stack data: {len(traces)} traces at {where} with offsets {listed}; "
                       "rather explains post-stack (stacked) data — stack the gathers first")
    raise BadInput(f"{name}: trace count does not match the geometry: {len(cells):,} traces for "
                   f"{np.count_nonzero(counts):,} positions ({len(traces)} traces at {where}); "
                   f"check the line-number byte locations {byte_locations}")


def _grid_geometry(name: str, handle: segyio.SegyFile, inl: np.ndarray, xl: np.ndarray,
                   byte_locations: str) -> Geometry:
    """3D: an (inline, crossline) grid of the numbers present; positions without a trace are missing."""
    inlines, rows = np.unique(inl, return_inverse=True)
    crosslines, columns = np.unique(xl, return_inverse=True)
    shape = (len(inlines), len(crosslines))
    cells = rows.ravel() * shape[1] + columns.ravel()
    if len(cells) < MIN_LIVE_SHARE * shape[0] * shape[1]:
        raise BadInput(f"{name}: no usable geometry: {len(cells):,} traces scattered over {shape[0]:,} inlines x "
                       f"{shape[1]:,} crosslines; give the right header byte locations {byte_locations}"
                       f"{suggestion_text(suggest_byte_locations(handle))}, or read the traces in file order with "
                       "--unstructured (ignore_geometry=True)")
    counts = np.bincount(cells, minlength=shape[0] * shape[1])
    if counts.max() > 1:
        _refuse_duplicates(name, handle, cells, counts,
                           lambda c: f"inline {inlines[c // shape[1]]}, crossline {crosslines[c % shape[1]]}",
                           byte_locations)
    sorting = None
    if np.count_nonzero(np.diff(inl)) == shape[0] - 1:
        sorting = "inline"
    elif np.count_nonzero(np.diff(xl)) == shape[1] - 1:
        sorting = "crossline"
    return Geometry("3d", shape, cells, inlines, crosslines, sorting)


def _line_geometry(name: str, handle: segyio.SegyFile, key: str, numbers: np.ndarray,
                   inl: np.ndarray, xl: np.ndarray, byte_locations: str) -> Geometry:
    """2D: one line, its traces ordered by ascending ``key`` number (inline, crossline or CDP)."""
    line_numbers, cells, counts = np.unique(numbers, return_inverse=True, return_counts=True)
    cells = cells.ravel()
    if counts.max() > 1:
        _refuse_duplicates(name, handle, cells, counts, lambda c: f"{key} {line_numbers[c]}", byte_locations)
    return Geometry("2d", (len(line_numbers),), cells, np.unique(inl), np.unique(xl),
                     line_key=key, line_numbers=line_numbers)


def read_geometry(name: str, handle: segyio.SegyFile, iline: int, xline: int) -> Geometry:
    """3D when inline and crossline numbers both vary, 2D when one of them (or only the CDP number) does."""
    byte_locations = f"--iline/--xline (now {iline}/{xline})"
    inl, xl = _words(handle, iline), _words(handle, xline)
    if _varies(inl) and _varies(xl):
        return _grid_geometry(name, handle, inl, xl, byte_locations)
    if _varies(inl):
        return _line_geometry(name, handle, "inline", inl, inl, xl, byte_locations)
    if _varies(xl) or len(xl) == 1:
        return _line_geometry(name, handle, "crossline", xl, inl, xl, byte_locations)
    cdp = _words(handle, segyio.TraceField.CDP)
    if _varies(cdp):
        return _line_geometry(name, handle, "cdp", cdp, inl, xl, byte_locations)
    raise BadInput(f"{name}: no usable geometry: every trace has inline {inl[0]} (byte {iline}), crossline {xl[0]} "
                   f"(byte {xline}) and CDP {cdp[0]} (byte 21); give the header byte locations of the line numbers "
                   f"with {byte_locations}{suggestion_text(suggest_byte_locations(handle))}, or read the traces in "
                   "file order with --unstructured (ignore_geometry=True)")


SCAN_TRACES = 20_000
"""Traces (the first ones in the file) whose headers ``suggest_byte_locations`` scans."""
NOT_LINE_NUMBERS = frozenset({1, 5, 71, 73, 77, 81, 85, 115, 117, 181, 185})
"""Header words that vary but never number lines: trace sequence numbers, coordinates and their scalar, the
sample count and interval."""
MIN_FILL = 0.5
"""The least share of grid positions a suggested pair of byte locations must fill."""


@dataclass(frozen=True)
class Suggestion:
    """Byte locations that place the scanned traces on a grid of ``inlines`` x ``crosslines`` numbers."""

    iline: int
    xline: int
    inlines: int
    crosslines: int


def suggest_byte_locations(handle: segyio.SegyFile) -> Optional[Suggestion]:
    """The pair of trace-header words that best places the first ``SCAN_TRACES`` traces on a 3D grid, or None.

    A pair qualifies when both words vary, no two traces share a pair of values (post-stack:
    one trace per position) and the traces fill at least ``MIN_FILL`` of the grid of
    their distinct values. The inline is the word that changes less often along the file
    (the slow axis of a sorted survey). Among qualifying pairs the fullest grid wins, then
    the earlier bytes. Coordinates, trace counters and sample fields are not considered.
    """
    count = min(handle.tracecount, SCAN_TRACES)
    words = {}
    for byte in sorted(set(int(word) for word in segyio.TraceField.enums()) - NOT_LINE_NUMBERS):
        values = np.asarray(handle.attributes(byte)[:count], dtype=np.int64)
        if _varies(values) and len(np.unique(values)) < count:
            words[byte] = values
    best: Optional[tuple[float, Suggestion]] = None
    bytes_ = sorted(words)
    for index, first in enumerate(bytes_):
        for second in bytes_[index + 1:]:
            a, b = words[first], words[second]
            if np.count_nonzero(np.diff(a)) > np.count_nonzero(np.diff(b)):
                (first_byte, a), (second_byte, b) = (second, b), (first, a)
            else:
                first_byte, second_byte = first, second
            na, nb = len(np.unique(a)), len(np.unique(b))
            fill = count / (na * nb)
            if fill < MIN_FILL or len(np.unique(a * (b.max() - b.min() + 1) + (b - b.min()))) < count:
                continue
            if best is None or fill > best[0]:
                best = (fill, Suggestion(first_byte, second_byte, na, nb))
    return None if best is None else best[1]


def suggestion_text(suggestion: Optional[Suggestion]) -> str:
    """``; the trace headers suggest --iline A --xline B (...)`` for a message, or "" without a suggestion."""
    if suggestion is None:
        return ""
    return (f"; the trace headers suggest --iline {suggestion.iline} --xline {suggestion.xline} ({suggestion.inlines} "
            f"x {suggestion.crosslines} lines in the first traces)")


def file_order(trace_count: int) -> Geometry:
    empty = np.zeros(0, dtype=np.int64)
    return Geometry("unstructured", (trace_count,), np.arange(trace_count), empty, empty,
                     line_key="trace", line_numbers=np.arange(trace_count))
