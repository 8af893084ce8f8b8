"""The SEG-Y file format, and what is checked from a file's headers before segyio opens it.

segyio refuses a damaged file with messages that name none of the header fields (or
crashes on it), so the file's size, its binary header and a few trace headers are read
first: a file that is not SEG-Y, truncated, or whose binary header contradicts its
traces is refused here with the field at fault. The layout that passes these checks
(byte order, sample format, samples per trace, extended headers) is what the reader and
the attribute writer use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

import numpy as np
import segyio

from rather.common.errors import BadInput

TEXT_BYTES = 3200
HEADERS_BYTES = 3600  # textual header + binary header
TRACE_HEADER_BYTES = 240
MAX_SAMPLES = 100_000
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
class FileLayout:
    """Where things are in the file, from the binary header (read before segyio opens it).

    ``endian`` "big" or "little"; ``format`` the sample format code; ``samples`` per
    trace; ``ext_headers`` the count of extended textual headers; ``size`` the file's
    bytes. ``trace0`` is the byte offset of the first trace header, ``trace_bytes`` one
    trace with its header.
    """

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


def read_layout(path: Path) -> FileLayout:
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


def _check_binary_header(name: str, head: bytes, size: int, raw: BinaryIO) -> FileLayout:
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
    layout = FileLayout(endian, code, samples, ext_headers, size)
    _check_size(name, layout, raw)
    return layout


def _traces_line_up(layout: FileLayout, raw: BinaryIO) -> bool:
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


def _one_field_away(layout: FileLayout, raw: BinaryIO) -> Iterator[tuple[FileLayout, str]]:
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


def _check_size(name: str, layout: FileLayout, raw: BinaryIO) -> None:
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


def sample_interval_ms(path: Path, handle: segyio.SegyFile, layout: FileLayout) -> float:
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
