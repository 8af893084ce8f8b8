"""SEG-Y surveys: read, validate, describe and write attribute volumes (with segyio).

Conventions every function here keeps:

- Line numbers are the survey's own numbers from the trace headers (inline at
  byte 189 and crossline at byte 193 unless told otherwise), never indices.
  ``Survey.inlines`` and ``Survey.crosslines`` are sorted ascending and hold
  the numbers that occur in at least one trace.
- Arrays are float32 whatever the sample format on disk (IBM float, integers
  of 1, 2, 4 or 8 bytes, IEEE floats of 4 or 8 bytes).
- Sections have traces along axis 0 and samples along axis 1, time (or depth)
  increasing with the sample index: ``inline(n)`` is (n_crosslines,
  n_samples) with crosslines ascending, ``crossline(n)`` is (n_inlines,
  n_samples) with inlines ascending, ``depth_slice(k)`` is (n_inlines,
  n_crosslines) and ``volume()`` is (n_inlines, n_crosslines, n_samples).
  The order does not depend on the file's sorting: inline- and
  crossline-sorted files give the same arrays.
- Times are in milliseconds: ``samples`` and ``interval`` are segyio's sample
  positions and its interval divided by 1000. SEG-Y does not say whether a
  file is in time or depth; depth files that store the interval in
  millimetres (the usual practice) come out in metres.
- Input files are only ever opened read-only and are never modified.

>>> with open_survey("f3.sgy") as survey:
...     section = survey.inline(111)      # (18, 75) float32
>>> print(format_description(describe("f3.sgy")))
"""
from __future__ import annotations

import math
import os
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from collections.abc import Callable, Iterator, Mapping
from typing import BinaryIO, NamedTuple, Optional, Union

import numpy as np
import segyio

from rather.common.errors import BadInput
from rather.common.storage import atomic_path

PathLike = Union[str, os.PathLike]

TEXT_BYTES = 3200
HEADERS_BYTES = 3600  # textual header + binary header
TRACE_HEADER_BYTES = 240
MAX_SAMPLES = 100_000
MIN_LIVE_SHARE = 0.05  # below this share of live grid positions the byte locations are almost surely wrong
CHUNK_BYTES = 64 * 2**20

# SEG-Y sample format codes: name and bytes per sample. segyio reads all but 4, 7 and 15.
FORMATS = {
    1: ("4-byte IBM float", 4),
    2: ("4-byte signed integer", 4),
    3: ("2-byte signed integer", 2),
    4: ("4-byte fixed point with gain", 4),
    5: ("4-byte IEEE float", 4),
    6: ("8-byte IEEE float", 8),
    7: ("3-byte signed integer", 3),
    8: ("1-byte signed integer", 1),
    9: ("8-byte signed integer", 8),
    10: ("4-byte unsigned integer", 4),
    11: ("2-byte unsigned integer", 2),
    12: ("8-byte unsigned integer", 8),
    15: ("3-byte unsigned integer", 3),
    16: ("1-byte unsigned integer", 1),
}
UNREADABLE_FORMATS = {4, 7, 15}
IEEE_FLOAT = 5


class SampleFormat(NamedTuple):
    """A SEG-Y sample format: its code (binary header bytes 3225-3226) and name."""

    code: int
    name: str


@dataclass(frozen=True)
class _Layout:
    """Where things are in the file, from the binary header (read before segyio opens it)."""

    endian: str
    format: int
    samples: int
    ext_headers: int
    size: int

    @property
    def trace0(self) -> int:
        return HEADERS_BYTES + TEXT_BYTES * self.ext_headers

    @property
    def sample_bytes(self) -> int:
        return FORMATS[self.format][1]

    @property
    def trace_bytes(self) -> int:
        return TRACE_HEADER_BYTES + self.samples * self.sample_bytes


@dataclass(frozen=True)
class _Geometry:
    """Where every trace sits: ``cells[t]`` is trace t's flat position in an array of ``shape``."""

    kind: str
    shape: tuple
    cells: np.ndarray
    inlines: np.ndarray
    crosslines: np.ndarray
    sorting: Optional[str] = None
    line_key: Optional[str] = None
    line_numbers: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))


# ---------------------------------------------------------------- validation before segyio

TRACE_FIELDS = tuple(sorted(int(word) for word in segyio.TraceField.enums()))
"""The first bytes (1-based) of the trace-header fields segyio reads: the valid ``iline``/``xline`` values."""
BYTE_LOCATION_HINT = ("give the first byte of a trace-header field, such as 189 (inline) / 193 (crossline) "
                      "of SEG-Y rev 1, or 9 (field record) / 21 (CDP) of older files")
PRINTABLE = bytes(range(32, 127)) + b"\t\n\r\f"
TEXT_CARD_MARKS = (0xC3, 0x43)  # "C", EBCDIC and ASCII: how every card of a SEG-Y textual header begins


def check_byte_location(byte: int, option: str) -> int:
    """``byte`` if it is the first byte of a trace-header field segyio reads, else ``BadInput`` naming ``option``.

    segyio reads a header word only where a field of the SEG-Y trace header starts
    (``segyio.TraceField``: 1, 5, 9, ..., 189, 193, ..., 237); anything else it refuses
    with an exception that says nothing about where or why.

    >>> check_byte_location(2, "--iline")
    Traceback (most recent call last):
    BadInput: --iline 2: byte 2 is inside the trace-header field that starts at byte 1; give the first byte ...
    """
    if isinstance(byte, bool) or not isinstance(byte, (int, np.integer)):
        raise BadInput(f"{option} {byte!r}: a byte location is a whole number; {BYTE_LOCATION_HINT}")
    byte = int(byte)
    if byte in TRACE_FIELDS:
        return byte
    if 1 <= byte <= TRACE_HEADER_BYTES:
        start = max(first for first in TRACE_FIELDS if first <= byte)
        where = f"byte {byte} is inside the trace-header field that starts at byte {start}"
    else:
        where = (f"byte {byte} is outside the {TRACE_HEADER_BYTES}-byte trace header, whose fields start at "
                 f"bytes {TRACE_FIELDS[0]} to {TRACE_FIELDS[-1]}")
    raise BadInput(f"{option} {byte}: {where}; {BYTE_LOCATION_HINT}")


def check_byte_locations(iline: int, xline: int, *, geometry: bool = True) -> None:
    """Refuse line-number byte locations segyio cannot read, and (for a geometry) the same byte for both."""
    check_byte_location(iline, "--iline")
    check_byte_location(xline, "--xline")
    if geometry and iline == xline:
        raise BadInput(f"--iline and --xline are both byte {iline}; give the byte locations of the inline and of "
                       "the crossline numbers, e.g. 189 and 193")


def _field(head: bytes, byte: int, size: int, endian: str, signed: bool = False) -> int:
    """The integer at 1-based SEG-Y byte position ``byte`` of ``head``."""
    return int.from_bytes(head[byte - 1:byte - 1 + size], endian, signed=signed)


def _is_text(data: bytes) -> bool:
    """Whether ``data`` is plain text (printable ASCII, tabs, line ends): what no SEG-Y binary header is."""
    return bool(data) and not data.translate(None, PRINTABLE)


def _has_textual_header(head: bytes) -> bool:
    return bool(head) and head[0] in TEXT_CARD_MARKS


def _file_size(path: Path) -> int:
    name = path.name
    if not path.exists():
        raise BadInput(f"{path}: no such file; check the path")
    if not path.is_file():
        raise BadInput(f"{name}: is not a file; give the path of a SEG-Y file")
    size = path.stat().st_size
    if size == 0:
        raise BadInput(f"{name}: empty file (0 bytes); the copy failed or the file was never written — copy it again")
    return size


def _refuse_without_headers(name: str, head: bytes, size: int) -> None:
    """Zeros, text, fewer bytes than the headers, a blank binary header: refused with what the file holds instead."""
    if not any(head):
        raise BadInput(f"{name}: not SEG-Y: its first {len(head):,} bytes are all zeros, where the textual and "
                       "binary headers belong; the copy was never filled — copy it again")
    if _is_text(head):
        raise BadInput(f"{name}: a text file, not SEG-Y: no binary header (bytes 3201-3600 are text too); "
                       "give a SEG-Y file")
    if size < HEADERS_BYTES:
        what = ("truncated inside its headers" if _has_textual_header(head) else "not SEG-Y")
        raise BadInput(f"{name}: {what}: {size:,} bytes, fewer than the {HEADERS_BYTES:,} bytes of the textual "
                       "and binary headers; copy it again, or give a SEG-Y file")
    if not any(head[TEXT_BYTES:]):
        raise BadInput(f"{name}: the binary header (bytes 3201-3600) is all zeros: no sample format, count or "
                       "interval; repair the binary header or copy the file again")


def _endian(name: str, head: bytes) -> str:
    """'big' or 'little': the SEG-Y rev 2 byte-order mark if present, else the one giving a valid format code."""
    mark = head[3296:3300]
    if mark == b"\x01\x02\x03\x04":
        return "big"
    if mark == b"\x04\x03\x02\x01":
        return "little"
    codes = {endian: _field(head, 3225, 2, endian, signed=True) for endian in ("big", "little")}
    for endian, code in codes.items():
        if code in FORMATS:
            return endian
    read = f"reads {codes['big']} big-endian and {codes['little']} little-endian"
    if _has_textual_header(head):
        raise BadInput(f"{name}: the sample format code in the binary header (bytes 3225-3226) {read}, neither a "
                       "SEG-Y format code; repair the binary header (e.g. 1 for IBM floats, 5 for IEEE floats)")
    raise BadInput(f"{name}: not SEG-Y: the sample format code (binary header bytes 3225-3226) {read}, neither a "
                   "SEG-Y format; give a SEG-Y file or repair its binary header")


def _sample_count(head: bytes, endian: str) -> int:
    """Samples per trace: the rev 2 extended count (bytes 3269-3272) when set, else bytes 3221-3222."""
    extended = _field(head, 3269, 4, endian, signed=True)
    if _field(head, 3501, 1, endian) >= 2 and extended > 0:
        return extended
    return _field(head, 3221, 2, endian)


def _trace_words(raw: BinaryIO, offset: int, endian: str) -> tuple[int, int]:
    """(samples, interval in us) of the trace header at ``offset`` (its bytes 115-118); (0, 0) past the end."""
    raw.seek(offset + 114)
    words = raw.read(4)
    if len(words) < 4:
        return 0, 0
    return _field(words, 1, 2, endian), _field(words, 3, 2, endian)


def _read_layout(path: Path) -> _Layout:
    """Check what can be checked from the file size, the binary header and a few trace headers alone."""
    name = path.name
    size = _file_size(path)
    try:
        with open(path, "rb") as raw:
            head = raw.read(HEADERS_BYTES)
            _refuse_without_headers(name, head, size)
            return _check_binary_header(name, head, size, raw)
    except OSError as error:
        raise BadInput(f"{name}: cannot be read ({error.strerror}); check its permissions") from None


def _check_binary_header(name: str, head: bytes, size: int, raw: BinaryIO) -> _Layout:
    """The layout the binary header gives, refused with the field at fault when unusable or contradicted."""
    endian = _endian(name, head)
    code = _field(head, 3225, 2, endian, signed=True)
    if code not in FORMATS:
        raise BadInput(f"{name}: unknown sample format code {code} in the binary header (bytes 3225-3226, "
                       f"{endian}-endian by its byte-order mark); repair the binary header")
    if code in UNREADABLE_FORMATS:
        raise BadInput(f"{name}: sample format {code} ({FORMATS[code][0]}) cannot be read by segyio; "
                       "convert the file to IEEE floats (format 5) first")
    ext_headers = _field(head, 3505, 2, endian, signed=True)
    extra_headers = _field(head, 3507, 2, endian, signed=True) if _field(head, 3501, 1, endian) >= 2 else 0
    extensions = []
    if ext_headers == -1:
        extensions.append("a variable count of extended textual headers (bytes 3505-3506 hold -1)")
    if extra_headers > 0:
        extensions.append(f"{extra_headers} additional trace headers (bytes 3507-3508)")
    if extensions:
        raise BadInput(f"{name}: uses SEG-Y rev 2 extensions segyio cannot read ({'; '.join(extensions)}); "
                       "convert it to SEG-Y rev 1 first")
    if ext_headers < 0:
        raise BadInput(f"{name}: absurd count of {ext_headers} extended textual headers in the binary header "
                       "(bytes 3505-3506); expected 0 or more — repair the binary header")
    samples = _sample_count(head, endian)
    if not 0 < samples <= MAX_SAMPLES:
        traced, _ = _trace_words(raw, HEADERS_BYTES + TEXT_BYTES * ext_headers, endian)
        told = f"; the first trace header says {traced:,} (bytes 115-116)" if 0 < traced <= MAX_SAMPLES else ""
        raise BadInput(f"{name}: absurd sample count {samples:,} per trace in the binary header (bytes 3221-3222), "
                       f"expected 1 to {MAX_SAMPLES:,}{told} — repair the binary header")
    layout = _Layout(endian, code, samples, ext_headers, size)
    _check_size(name, layout, raw)
    return layout


def _traces_line_up(layout: _Layout, raw: BinaryIO) -> bool:
    """Whether the file is ``layout``'s headers and whole traces whose headers confirm the layout.

    Confirmed: the first trace header gives the layout's sample count (bytes 115-116)
    and the second and last trace headers repeat its count and interval (bytes
    115-118). Under a wrong layout those bytes are samples or other fields.
    """
    data = layout.size - layout.trace0
    if data <= 0 or data % layout.trace_bytes:
        return False
    count = data // layout.trace_bytes
    words = {_trace_words(raw, layout.trace0 + trace * layout.trace_bytes, layout.endian)
             for trace in (0, min(1, count - 1), count - 1)}
    return len(words) == 1 and words.pop()[0] == layout.samples


def _one_field_away(layout: _Layout, raw: BinaryIO) -> Iterator[tuple[_Layout, str]]:
    """Layouts that differ from ``layout`` in one binary-header field, each with what to say if it is the one."""
    traced, _ = _trace_words(raw, layout.trace0, layout.endian)
    if 0 < traced <= MAX_SAMPLES and traced != layout.samples:
        yield replace(layout, samples=traced), (
            f"the binary header says {layout.samples:,} samples per trace (bytes 3221-3222), the trace headers "
            f"say {traced:,} (bytes 115-116) and the file's size fits {traced:,}; repair the binary header's "
            "sample count")
    widths: dict[int, list[int]] = {}
    for code, (_, width) in FORMATS.items():
        if code not in UNREADABLE_FORMATS:
            widths.setdefault(width, []).append(code)
    for width, codes in widths.items():
        if width != layout.sample_bytes:
            yield replace(layout, format=codes[0]), (
                f"the sample format code {layout.format} ({FORMATS[layout.format][0]}, binary header bytes "
                f"3225-3226) does not fit the traces, which hold {width}-byte samples; repair the binary header's "
                f"format code (a {width}-byte format: {', '.join(map(str, codes))})")
    if layout.ext_headers:
        yield replace(layout, ext_headers=0), (
            f"the binary header counts {layout.ext_headers:,} extended textual headers (bytes 3505-3506) but the "
            "traces start right after the binary header; repair that count (0)")


def _check_size(name: str, layout: _Layout, raw: BinaryIO) -> None:
    """Refuse a file that is not the headers plus whole traces: the wrong header field if one is, else cut short.

    A layout whose trace headers line up is taken as is. Otherwise a layout one binary-header
    field away whose traces line up names that field (a damaged header is not a failed copy).
    Failing that, a file of whole traces is taken as the binary header says (trace headers
    need not repeat the counts), and any other is incomplete.
    """
    if _traces_line_up(layout, raw):
        return
    for other, message in _one_field_away(layout, raw):
        if _traces_line_up(other, raw):
            raise BadInput(f"{name}: {message}")
    data = layout.size - layout.trace0
    if data < 0:
        raise BadInput(f"{name}: ends at byte {layout.size:,}, before the end of the {layout.ext_headers:,} extended "
                       f"textual headers the binary header counts (bytes 3505-3506), at byte {layout.trace0:,}; "
                       "repair that count, or copy the file again if it was cut short")
    if data == 0:
        extra = f" and {layout.ext_headers:,} extended textual headers" if layout.ext_headers else ""
        raise BadInput(f"{name}: no traces: {layout.size:,} bytes hold only the SEG-Y headers{extra}; "
                       "the file is headers only or incomplete — copy it again")
    traces = math.ceil(data / layout.trace_bytes)
    expected = layout.trace0 + traces * layout.trace_bytes
    if expected != layout.size:
        raise BadInput(f"{name}: truncated: expected {expected:,} bytes for {traces:,} traces of {layout.samples:,} "
                       f"samples, found {layout.size:,}; the file is incomplete — copy it again")


# ---------------------------------------------------------------- geometry from the trace headers

def _words(handle: segyio.SegyFile, byte: int) -> np.ndarray:
    """The header word at ``byte`` of every trace, as int64 (trace_count,)."""
    return np.asarray(handle.attributes(byte)[:], dtype=np.int64)


def _varies(words: np.ndarray) -> bool:
    return bool(words.min() != words.max())


def _step(numbers: np.ndarray) -> Optional[int]:
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
                   byte_locations: str) -> _Geometry:
    """3D: an (inline, crossline) grid of the numbers present; positions without a trace are missing."""
    inlines, rows = np.unique(inl, return_inverse=True)
    crosslines, columns = np.unique(xl, return_inverse=True)
    shape = (len(inlines), len(crosslines))
    cells = rows.ravel() * shape[1] + columns.ravel()
    if len(cells) < MIN_LIVE_SHARE * shape[0] * shape[1]:
        raise BadInput(f"{name}: no usable geometry: {len(cells):,} traces scattered over {shape[0]:,} inlines x "
                       f"{shape[1]:,} crosslines; give the right header byte locations {byte_locations}, "
                       "or read the traces in file order with --unstructured (ignore_geometry=True)")
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
    return _Geometry("3d", shape, cells, inlines, crosslines, sorting)


def _line_geometry(name: str, handle: segyio.SegyFile, key: str, numbers: np.ndarray,
                   inl: np.ndarray, xl: np.ndarray, byte_locations: str) -> _Geometry:
    """2D: one line, its traces ordered by ascending ``key`` number (inline, crossline or CDP)."""
    line_numbers, cells, counts = np.unique(numbers, return_inverse=True, return_counts=True)
    cells = cells.ravel()
    if counts.max() > 1:
        _refuse_duplicates(name, handle, cells, counts, lambda c: f"{key} {line_numbers[c]}", byte_locations)
    return _Geometry("2d", (len(line_numbers),), cells, np.unique(inl), np.unique(xl),
                     line_key=key, line_numbers=line_numbers)


def _geometry(name: str, handle: segyio.SegyFile, iline: int, xline: int) -> _Geometry:
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
                   f"with {byte_locations}, or read the traces in file order with --unstructured "
                   "(ignore_geometry=True)")


def _unstructured(trace_count: int) -> _Geometry:
    empty = np.zeros(0, dtype=np.int64)
    return _Geometry("unstructured", (trace_count,), np.arange(trace_count), empty, empty,
                     line_key="trace", line_numbers=np.arange(trace_count))


def _readonly(array: np.ndarray) -> np.ndarray:
    array.setflags(write=False)
    return array


# ---------------------------------------------------------------- the survey

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
            "cdp") that orders the line and its numbers, ascending (axis 0 of
            ``line()``); for unstructured "trace" and 0..n-1; None and empty for 3D.

    Every array comes back float32; sections have traces along axis 0 and
    samples along the last axis, time increasing with the index, whatever the
    file's sorting. Reads refuse NaN or Inf samples (``BadInput``).
    """

    def __init__(self, path: Path, handle: segyio.SegyFile, layout: _Layout, geometry: _Geometry,
                 interval: float, fill: float):
        self.path = path
        self.kind = geometry.kind
        self.inlines = _readonly(geometry.inlines)
        self.crosslines = _readonly(geometry.crosslines)
        self.samples = _readonly(np.asarray(handle.samples, dtype=np.float64))
        self.interval = interval
        self.format = SampleFormat(layout.format, FORMATS[layout.format][0])
        self.endian = layout.endian
        self.sorting = geometry.sorting
        self.trace_count = len(geometry.cells)
        self.line_key = geometry.line_key
        self.line_numbers = _readonly(geometry.line_numbers)
        self.fill = float(fill)
        self._handle = handle
        self._layout = layout
        self._geometry = geometry
        trace_at = np.full(int(np.prod(geometry.shape)), -1, dtype=np.int64)
        trace_at[geometry.cells] = np.arange(self.trace_count)
        self._trace_at = _readonly(trace_at.reshape(geometry.shape))
        self.live = _readonly(self._trace_at >= 0)

    def __repr__(self) -> str:
        return f"Survey({self.path.name!r}, kind={self.kind!r}, traces={self.trace_count}, samples={len(self.samples)})"

    # -- reading

    def trace_positions(self, start: int = 0, stop: Optional[int] = None) -> tuple[np.ndarray, np.ndarray]:
        """(inline index, crossline index) of the traces start..stop-1 in file order (3D surveys)."""
        if self.kind != "3d":
            raise BadInput(f"{self.path.name}: trace positions on a grid need a 3D survey, this is {self.kind}")
        return np.divmod(self._geometry.cells[start:stop], len(self.crosslines))

    def inline(self, number: int) -> np.ndarray:
        """The section along inline ``number``: (n_crosslines, n_samples) float32, crosslines ascending.

        >>> survey.inline(102).shape   # 7 crosslines, 50 samples
        (7, 50)
        """
        self._need("3d", "inline()")
        row = self._index(self.inlines, number, "inline")
        return self._section(self._trace_at[row], f"inline {number}")

    def crossline(self, number: int) -> np.ndarray:
        """The section along crossline ``number``: (n_inlines, n_samples) float32, inlines ascending.

        >>> survey.crossline(304).shape   # 5 inlines, 50 samples
        (5, 50)
        """
        self._need("3d", "crossline()")
        column = self._index(self.crosslines, number, "crossline")
        return self._section(self._trace_at[:, column], f"crossline {number}")

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
        out = np.full(self._geometry.shape, self.fill, dtype=np.float32)
        out.flat[self._geometry.cells] = values
        return out

    def volume(self, max_bytes: int = 2**30) -> np.ndarray:
        """The whole cube: (n_inlines, n_crosslines, n_samples) float32; for small files only.

        Refused when the array would exceed ``max_bytes`` (1 GiB by default): read sections instead.

        >>> survey.volume().shape
        (5, 7, 50)
        """
        self._need("3d", "volume()")
        shape = self._geometry.shape + (len(self.samples),)
        size = 4 * int(np.prod(shape))
        if size > max_bytes:
            raise BadInput(f"{self.path.name}: the volume needs {size:,} bytes, more than {max_bytes:,}; "
                           "read it section by section with inline() or crossline()")
        out = np.full(shape, self.fill, dtype=np.float32)
        flat = out.reshape(-1, shape[-1])
        for start, stop in self._chunks():
            values = self._read_range(start, stop)
            self._check_finite(values, f"traces {start:,} to {stop - 1:,}")
            flat[self._geometry.cells[start:stop]] = values
        return out

    def line(self) -> np.ndarray:
        """A 2D line or an unstructured file: (n_traces, n_samples) float32, in ``line_numbers`` order.

        >>> survey.line().shape   # 40 CDPs, 50 samples
        (40, 50)
        """
        if self.kind == "3d":
            raise BadInput(f"{self.path.name}: is a 3D survey; read sections with inline(), crossline() "
                           "or depth_slice()")
        return self._section(self._trace_at, "the line")

    def trace_header(self, inline: int, crossline: int) -> dict:
        """The trace header at (``inline``, ``crossline``) as segyio gives it: {byte position: value}.

        >>> survey.trace_header(102, 304)[189]
        102
        """
        self._need("3d", "trace_header()")
        row = self._index(self.inlines, inline, "inline")
        column = self._index(self.crosslines, crossline, "crossline")
        trace = int(self._trace_at[row, column])
        if trace < 0:
            raise BadInput(f"{self.path.name}: no trace at inline {inline}, crossline {crossline} "
                           "(a missing trace); pick a live position (see survey.live)")
        return {int(key): int(value) for key, value in self._handle.header[trace].items()}

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

    def _index(self, numbers: np.ndarray, number: int, what: str) -> int:
        """The position of line ``number`` in ``numbers``; refused when the survey has no such line."""
        position = int(np.searchsorted(numbers, number))
        if position == len(numbers) or numbers[position] != number:
            step = _step(numbers)
            spacing = f" step {step}" if step else ""
            raise BadInput(f"{self.path.name}: {what} {number} is not in the survey ({what}s {numbers[0]} to "
                           f"{numbers[-1]}{spacing}); give one of the survey's {what} numbers")
        return position

    def _section(self, traces: np.ndarray, what: str) -> np.ndarray:
        """Traces at the given file indices (-1: missing, filled) as (len, n_samples) float32."""
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
        """(start, stop) trace ranges of about CHUNK_BYTES each."""
        size = max(1, CHUNK_BYTES // (4 * len(self.samples)))
        for start in range(0, self.trace_count, size):
            yield start, min(self.trace_count, start + size)

    def _check_finite(self, values: np.ndarray, what: str) -> None:
        bad = values.size - np.count_nonzero(np.isfinite(values))
        if bad:
            raise BadInput(f"{self.path.name}: {bad:,} NaN or Inf samples in {what}; the data are damaged — "
                           "repair the file or mask those traces first")


def _interval_ms(path: Path, handle: segyio.SegyFile, layout: _Layout) -> float:
    """segyio's sample interval in ms: the binary header's (bytes 3217-3218) or the first trace header's (117-118).

    segyio reads both as signed 16-bit microseconds, takes the one that is positive, and
    gives up when neither is or when both are and they differ; so does this, in one line.
    """
    interval = segyio.tools.dt(handle, fallback_dt=0.0) / 1000.0
    if interval > 0:
        return interval
    with open(path, "rb") as raw:
        head = raw.read(layout.trace0 + TRACE_HEADER_BYTES)
    binary = _field(head, 3217, 2, layout.endian, signed=True)
    trace = _field(head[layout.trace0:], 117, 2, layout.endian, signed=True)
    held = f"binary header bytes 3217-3218 hold {binary} us, first trace header bytes 117-118 hold {trace} us"
    if binary > 0 and trace > 0:
        raise BadInput(f"{path.name}: two different sample intervals: {held}; repair the header that is wrong")
    raise BadInput(f"{path.name}: no usable sample interval: {held}, read as signed 16-bit numbers; expected "
                   "1 to 32767 us in either — repair the headers")


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
    ...     survey.kind, survey.inlines[:3], survey.inline(100).shape
    ('3d', array([100, 102, 104]), (7, 50))
    """
    check_byte_locations(iline, xline, geometry=not ignore_geometry)
    source = Path(path)
    name = source.name
    layout = _read_layout(source)
    try:
        handle = segyio.open(str(source), "r", iline=int(iline), xline=int(xline), ignore_geometry=True,
                             endian=layout.endian)
    except (RuntimeError, OSError, ValueError):  # segyio's own words name none of the header fields
        raise BadInput(f"{name}: segyio cannot read its headers although their sizes and formats check out; "
                       "check that it is a SEG-Y file (rev 0 or 1) and that it is not being written") from None
    with handle:
        interval = _interval_ms(source, handle, layout)
        geometry = _unstructured(handle.tracecount) if ignore_geometry else _geometry(name, handle, iline, xline)
        yield Survey(source, handle, layout, geometry, interval, fill)


# ---------------------------------------------------------------- describing

def _number_range(numbers: np.ndarray) -> dict:
    """{first, last, step, count} of sorted line numbers; None where undefined."""
    if len(numbers) == 0:
        return {"first": None, "last": None, "step": None, "count": 0}
    return {"first": int(numbers[0]), "last": int(numbers[-1]), "step": _step(numbers), "count": int(len(numbers))}


def describe(path: PathLike, **options) -> dict:
    """What ``rather seismic info`` reports; ``options`` go to ``open_survey`` (iline, xline, ignore_geometry).

    Keys: path, kind, inlines and crosslines ({first, last, step, count}; step
    is the common step of the numbers present, None for fewer than two),
    traces, missing_traces (grid positions without a trace, 3D only), samples
    ({count, first, last, interval, unit}; unit "ms", which is m for depth
    data stored in mm), format ({code, name}), endian, sorting, size_bytes,
    and line (2D and unstructured: {key, first, last, step, count}; None for 3D).
    Plain Python values, ready for ``json.dumps``.

    >>> describe("f3.sgy")["inlines"]
    {'first': 111, 'last': 133, 'step': 1, 'count': 23}
    """
    with open_survey(path, **options) as survey:
        samples = survey.samples
        line = None if survey.kind == "3d" else {"key": survey.line_key, **_number_range(survey.line_numbers)}
        return {
            "path": str(survey.path),
            "kind": survey.kind,
            "inlines": _number_range(survey.inlines),
            "crosslines": _number_range(survey.crosslines),
            "traces": survey.trace_count,
            "missing_traces": int(survey.live.size - np.count_nonzero(survey.live)),
            "samples": {"count": int(len(samples)), "first": float(samples[0]), "last": float(samples[-1]),
                        "interval": float(survey.interval), "unit": "ms"},
            "format": {"code": survey.format.code, "name": survey.format.name},
            "endian": survey.endian,
            "sorting": survey.sorting,
            "size_bytes": survey._layout.size,
            "line": line,
        }


def _range_text(numbers: dict, noun: str) -> str:
    if numbers["count"] == 0:
        return "none"
    if numbers["count"] == 1:
        return f"{numbers['first']} (1 {noun})"
    return f"{numbers['first']} to {numbers['last']} step {numbers['step']} ({numbers['count']:,} {noun}s)"


def format_description(d: dict) -> str:
    """``describe``'s dict as the readable text of ``rather seismic info FILE``.

    >>> print(format_description(describe("f3.sgy")))
    f3.sgy (165,060 bytes)
      kind        3D, inline-sorted
      inlines     111 to 133 step 1 (23 lines)
    ...
    """
    kind = {"3d": "3D", "2d": "2D line", "unstructured": "unstructured (traces in file order)"}[d["kind"]]
    if d["sorting"]:
        kind += f", {d['sorting']}-sorted"
    samples = d["samples"]
    missing = d["missing_traces"]
    lines = [
        f"{d['path']} ({d['size_bytes']:,} bytes)",
        f"  kind        {kind}",
        f"  inlines     {_range_text(d['inlines'], 'line')}",
        f"  crosslines  {_range_text(d['crosslines'], 'line')}",
    ]
    if d["line"]:
        lines.append(f"  along line  {d['line']['key']} {_range_text(d['line'], 'trace')}")
    lines += [
        f"  traces      {d['traces']:,}, " + (f"{missing:,} missing" if missing else "none missing"),
        f"  samples     {samples['count']:,} from {samples['first']:g} to {samples['last']:g} {samples['unit']}, "
        f"every {samples['interval']:g} {samples['unit']}",
        f"  format      {d['format']['code']} ({d['format']['name']}), {d['endian']}-endian",
    ]
    return "\n".join(lines)


# ---------------------------------------------------------------- writing

AttributeValues = Union[np.ndarray, Mapping[int, np.ndarray]]


def _finite_float32(values, name: str, what: str, shape: tuple) -> np.ndarray:
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise BadInput(f"{name}: {what} has dtype {array.dtype}; give real numbers (float32)")
    if array.shape != shape:
        raise BadInput(f"{name}: {what} has shape {array.shape}, the survey needs {shape}")
    array = array.astype(np.float32, copy=False)
    if not np.all(np.isfinite(array)):
        raise BadInput(f"{name}: {what} holds NaN or Inf values; an attribute volume must be finite")
    return array


def _volume_rows(survey: Survey, values: np.ndarray) -> Callable[[int, int], np.ndarray]:
    """Rows for traces start..stop-1 (file order) from a full array shaped like the survey."""
    shape = survey._geometry.shape + (len(survey.samples),)
    flat = _finite_float32(values, survey.path.name, "the attribute volume", shape).reshape(-1, shape[-1])
    cells = survey._geometry.cells
    return lambda start, stop: flat[cells[start:stop]]


def _section_rows(survey: Survey, sections: Mapping[int, np.ndarray], by: str) -> Callable[[int, int], np.ndarray]:
    """Rows for traces start..stop-1 from {line number: section} of inlines or crosslines; other traces are zeros.

    An inline's section is (n_crosslines, n_samples), a crossline's (n_inlines, n_samples).
    """
    name = survey.path.name
    if survey.kind != "3d":
        raise BadInput(f"{name}: sections by {by} need a 3D survey; give a full array shaped like line()")
    if by not in ("inline", "crossline"):
        raise BadInput(f"{name}: sections are given by 'inline' or 'crossline', not {by!r}")
    n_crosslines, n_samples = len(survey.crosslines), len(survey.samples)
    numbers, across = (survey.inlines, survey.crosslines) if by == "inline" else (survey.crosslines, survey.inlines)
    slot = np.full(len(numbers), -1, dtype=np.int64)
    stack = np.zeros((len(sections), len(across), n_samples), dtype=np.float32)
    for position, (number, section) in enumerate(sections.items()):
        slot[survey._index(numbers, number, by)] = position
        stack[position] = _finite_float32(section, name, f"the section of {by} {number}", (len(across), n_samples))
    cells = survey._geometry.cells

    def rows(start: int, stop: int) -> np.ndarray:
        inline_at, crossline_at = np.divmod(cells[start:stop], n_crosslines)
        line_at, trace_at = (inline_at, crossline_at) if by == "inline" else (crossline_at, inline_at)
        out = np.zeros((stop - start, n_samples), dtype=np.float32)
        chosen = slot[line_at]
        given = chosen >= 0
        out[given] = stack[chosen[given], trace_at[given]]
        return out

    return rows


def _write_segy(survey: Survey, targets: Mapping[str, Path],
                rows: Callable[[int, int], Mapping[str, np.ndarray]]) -> None:
    """One pass over the source: its headers byte for byte, format 5, and each target's rows as IEEE floats."""
    layout = survey._layout
    n_samples = len(survey.samples)
    order = ">" if layout.endian == "big" else "<"
    source_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"V{n_samples * layout.sample_bytes}")])
    target_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"{order}f4", (n_samples,))])
    chunk = max(1, CHUNK_BYTES // layout.trace_bytes)
    with open(survey.path, "rb") as source, ExitStack() as files:
        outputs = {name: files.enter_context(open(path, "wb")) for name, path in targets.items()}
        head = bytearray(source.read(layout.trace0))
        head[3224:3226] = IEEE_FLOAT.to_bytes(2, layout.endian, signed=True)
        for out in outputs.values():
            out.write(head)
        for start in range(0, survey.trace_count, chunk):
            stop = min(survey.trace_count, start + chunk)
            block = np.frombuffer(source.read((stop - start) * layout.trace_bytes), dtype=source_trace)
            values = rows(start, stop)
            traces = np.empty(stop - start, dtype=target_trace)
            traces["header"] = block["header"]
            for name, out in outputs.items():
                traces["samples"] = values[name]
                out.write(traces.tobytes())


def _refuse_overwrite(source: Path, target: Path) -> None:
    same = target.resolve() == source.resolve()
    if not same and target.exists():
        if target.is_dir():
            raise BadInput(f"{target}: is a folder; give the path of the SEG-Y file to write")
        same = source.exists() and os.path.samefile(source, target)
    if same:
        raise BadInput(f"{target.name}: is the input {source}; rather never overwrites an input — "
                       "choose another output path")


def write_attribute(source_path: PathLike, target_path: PathLike, values: AttributeValues, *,
                    iline: int = 189, xline: int = 193, by: str = "inline") -> Path:
    """Write an attribute as SEG-Y with the source's headers; returns the target path.

    ``values`` is either a full array shaped like the survey — (n_inlines,
    n_crosslines, n_samples) for 3D, (n_traces, n_samples) in ``line()`` order
    for 2D — or, for 3D, a mapping {inline number: (n_crosslines, n_samples)}
    whose other traces are written as zeros. Values must be finite.

    The output has exactly the source's traces (missing traces stay missing),
    in the source's order, with the textual, binary, extended textual and
    every trace header copied byte for byte, except the sample format (binary
    header bytes 3225-3226) set to 5, 4-byte IEEE float, whatever the source's
    format. It keeps the source's byte order, so a little-endian input gives a
    little-endian output; segyio reads either. It is written to a temporary file
    beside the target and renamed at the end: a failure leaves no output.
    Refused when the target is the source (after resolving links).

    >>> with open_survey("f3.sgy") as survey:
    ...     attribute = np.abs(survey.volume())
    >>> write_attribute("f3.sgy", "f3_abs.sgy", attribute)
    PosixPath('f3_abs.sgy')
    """
    source, target = Path(source_path), Path(target_path)
    _refuse_overwrite(source, target)
    with open_survey(source, iline=iline, xline=xline) as survey:
        rows = _section_rows(survey, values, by) if isinstance(values, Mapping) else _volume_rows(survey, values)
        written = write_attributes(survey, {"attribute": target}, lambda start, stop: {"attribute": rows(start, stop)})
    return written["attribute"]


def write_attributes(survey: Survey, targets: Mapping[str, PathLike],
                     rows: Callable[[int, int], Mapping[str, np.ndarray]]) -> dict[str, Path]:
    """Several attribute files in one streamed pass over an open survey; returns {name: path}.

    ``rows(start, stop)`` gives, for every name of ``targets``, the float32 samples
    (stop - start, n_samples) of traces start..stop-1 in file order
    (``Survey.trace_positions`` says where they sit). Only one chunk of traces is in
    memory at a time, so a caller computing values on demand keeps memory bounded.
    Headers, atomicity and refusals as ``write_attribute``; every file appears only
    when all are complete.

    >>> with open_survey("f3.sgy") as survey:
    ...     write_attributes(survey, {"abs": "abs.sgy"}, lambda a, b: {"abs": np.abs(traces(a, b))})
    """
    paths = {name: Path(path) for name, path in targets.items()}
    for path in paths.values():
        _refuse_overwrite(survey.path, path)

    def checked(start: int, stop: int) -> dict[str, np.ndarray]:
        values = rows(start, stop)
        shape = (stop - start, len(survey.samples))
        return {name: _finite_float32(values[name], survey.path.name, f"attribute '{name}'", shape) for name in paths}

    with ExitStack() as stack:
        temporaries = {name: stack.enter_context(atomic_path(path)) for name, path in paths.items()}
        _write_segy(survey, temporaries, checked)
    return paths
