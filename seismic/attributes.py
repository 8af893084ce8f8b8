"""Attribute volumes as SEG-Y: the source survey's headers byte for byte, new samples as IEEE floats.

``write_attributes`` writes several volumes in one pass over an open survey, asking a
``rows(traces)`` callback for each chunk of traces (file indices, ascending); it writes
every trace of the survey, or only the traces asked for (``line_traces``: the traces of
the lines explained), each with its own trace header. ``write_attribute`` writes one
from a volume or from sections; ``section_rows`` turns sections (time down the rows)
back into the file's trace rows, line by line as the pass reaches them. ``textual_header``
keeps the survey's textual header and writes what the file holds into its blank cards.
"""
from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from collections.abc import Callable, Mapping, Sequence
from typing import Optional, Union

import numpy as np

from rather.common.errors import BadInput
from rather.common.storage import PathLike, atomic_path, check_space

from . import headers
from .headers import IEEE_FLOAT, TEXT_BYTES, TEXT_CARD_MARKS, TRACE_HEADER_BYTES
from .section import LINE_KINDS, to_trace_rows
from .survey import Survey, open_survey

AttributeValues = Union[np.ndarray, Mapping[int, np.ndarray]]
Rows = Callable[[np.ndarray], np.ndarray]
"""File trace indices (ascending) -> their values (..., len(traces), n_samples)."""
CARD = 80
"""Characters per card (line) of a SEG-Y textual header: 40 cards of 80."""
EBCDIC = "cp037"


def _float32(values, name: str, what: str, shape: tuple, *, nan: bool = False) -> np.ndarray:
    """``values`` as float32 of ``shape``; Inf refused, and NaN too unless ``nan`` (NaN: no value there)."""
    array = np.asarray(values)
    if array.dtype.kind not in "iuf":
        raise BadInput(f"{name}: {what} has dtype {array.dtype}; give real numbers (float32)")
    if array.shape != shape:
        raise BadInput(f"{name}: {what} has shape {array.shape}, the survey needs {shape}")
    array = array.astype(np.float32, copy=False)
    if nan and np.isinf(array).any():
        raise BadInput(f"{name}: {what} holds Inf values; an attribute holds numbers, or NaN where it has none")
    if not nan and not np.all(np.isfinite(array)):
        raise BadInput(f"{name}: {what} holds NaN or Inf values; an attribute volume must be finite")
    return array


def _volume_rows(survey: Survey, values: np.ndarray) -> Rows:
    """Rows of the traces asked for, from a full array shaped like the survey."""
    shape = survey.shape + (len(survey.samples),)
    flat = _float32(values, survey.path.name, "the attribute volume", shape).reshape(-1, shape[-1])
    return lambda traces: flat[survey.trace_cells()[traces]]


def line_traces(survey: Survey, kind: str, numbers: Sequence[Optional[int]]) -> np.ndarray:
    """The file indices (ascending) of the traces of lines ``numbers`` of ``kind``: every trace of a 2D file."""
    if survey.kind != "3d":
        return np.arange(survey.trace_count)
    if kind not in LINE_KINDS:
        raise BadInput(f"{survey.path.name}: sections are given by 'inline' or 'crossline', not {kind!r}")
    wanted = np.zeros(len(survey.inlines if kind == "inline" else survey.crosslines), dtype=bool)
    wanted[[survey.position(kind, number) for number in numbers]] = True
    return np.flatnonzero(wanted[survey.trace_positions()[LINE_KINDS.index(kind)]])


def section_rows(survey: Survey, kind: str, numbers: Sequence[Optional[int]],
                 section_of: Callable[[Optional[int]], np.ndarray], channels: tuple[int, ...] = (),
                 samples: slice = slice(None), fill: float = 0.0) -> Rows:
    """Trace rows from sections: the ``rows`` of ``write_attributes`` for some inlines or crosslines.

    ``rows(traces)`` is (*channels, len(traces), n_samples): the traces of those file
    indices (ascending), taken from the sections ``section_of(number)`` (*channels,
    n_samples, n_traces) of the lines ``numbers`` of ``kind``; other traces are ``fill``.
    Each line's section is asked for when its first trace is written and dropped after its
    last, so a survey sorted along ``kind`` holds one or two sections at a time; across the
    sorting, every requested line stays until the end of the pass. This is where sections
    turn back into the file's trace rows (``section.to_trace_rows``).

    A 2D or unstructured file holds one line (``lines.read_line``): ``numbers`` is that one
    line's [number] (None for a 2D line) and its section covers every trace. Sections of
    a time window hold the sample indices ``samples`` only; the other samples are ``fill``.
    """
    if survey.kind != "3d":
        return _one_line_rows(survey, numbers, section_of, channels, samples, fill)
    line_traces(survey, kind, numbers)  # the kind and numbers checked
    axis = LINE_KINDS.index(kind)
    line_numbers = survey.inlines if kind == "inline" else survey.crosslines
    wanted = np.zeros(len(line_numbers), dtype=bool)
    wanted[[survey.position(kind, number) for number in numbers]] = True
    line_of_trace = survey.trace_positions()[axis]
    last_trace = np.full(len(line_numbers), -1)
    np.maximum.at(last_trace, line_of_trace, np.arange(len(line_of_trace)))
    cache: dict[int, np.ndarray] = {}

    def rows(traces: np.ndarray) -> np.ndarray:
        positions = np.divmod(survey.trace_cells()[traces], len(survey.crosslines))
        line, trace = positions[axis], positions[1 - axis]
        out = np.full((*channels, len(traces), len(survey.samples)), fill, dtype=np.float32)
        for index in np.unique(line[wanted[line]]):
            if index not in cache:
                cache[index] = section_of(int(line_numbers[index]))
            here = line == index
            out[..., here, samples] = to_trace_rows(cache[index][..., trace[here]])
        for index in [i for i in cache if last_trace[i] <= traces[-1]]:
            del cache[index]
        return out

    return rows


def _one_line_rows(survey: Survey, numbers: Sequence[Optional[int]], section_of: Callable[[Optional[int]], np.ndarray],
                   channels: tuple[int, ...], samples: slice, fill: float) -> Rows:
    """``section_rows`` of the one line of a 2D or unstructured file: trace t is column ``trace_cells()[t]``."""
    if len(numbers) != 1:
        raise BadInput(f"{survey.path.name}: a {survey.kind} file holds one line, not {len(numbers)}; give its "
                       "one section")
    held: list[np.ndarray] = []

    def rows(traces: np.ndarray) -> np.ndarray:
        if not held:
            held.append(section_of(numbers[0]))
        out = np.full((*channels, len(traces), len(survey.samples)), fill, dtype=np.float32)
        out[..., samples] = to_trace_rows(held[0])[..., survey.trace_cells()[traces], :]
        return out

    return rows


def _sections_rows(survey: Survey, sections: Mapping[int, np.ndarray], by: str) -> Rows:
    """``section_rows`` of the sections given as {line number: values (n_samples, n_traces)}, checked first."""
    if survey.kind != "3d":
        raise BadInput(f"{survey.path.name}: sections by {by} need a 3D survey; give a full array shaped like "
                       "the survey")
    checked: dict[int, np.ndarray] = {}
    rows = section_rows(survey, by, list(sections), checked.__getitem__)  # the survey, kind and numbers checked
    shape = (len(survey.samples), len(survey.crosslines if by == "inline" else survey.inlines))
    checked.update({number: _float32(values, survey.path.name, f"the section of {by} {number}", shape)
                    for number, values in sections.items()})
    return rows


def textual_header(original: bytes, lines: Sequence[str]) -> bytes:
    """The survey's 3200-byte textual header with ``lines`` written into its last blank cards, in its encoding.

    A card is blank when nothing (spaces or NUL bytes) follows its "Cnn" number. ``lines``
    go, in order, into the last ``len(lines)`` blank cards; where there are fewer, into the
    last cards that are not blank as well (the survey's first lines are kept longest). Each
    card keeps its number; a line is cut at 80 characters. The header stays EBCDIC or ASCII,
    as the survey's is (``_is_ebcdic``; the survey's own cards keep their bytes), and
    characters the encoding lacks become "?".
    """
    encoding = EBCDIC if _is_ebcdic(original[:TEXT_BYTES]) else "latin-1"
    text = original[:TEXT_BYTES].decode(encoding).ljust(TEXT_BYTES)
    cards = [text[start:start + CARD] for start in range(0, TEXT_BYTES, CARD)]
    blank = [index for index, card in enumerate(cards) if not card[3:].strip(" \0")]
    taken = blank[-len(lines):] if len(blank) >= len(lines) else sorted(
        blank + [index for index in range(len(cards)) if index not in blank][len(blank) - len(lines):])
    for index, line in zip(taken, lines):
        cards[index] = f"C{index + 1:2d} {line}"[:CARD].ljust(CARD)
    return "".join(cards).encode(encoding, errors="replace")


def _is_ebcdic(text: bytes) -> bool:
    """Whether a textual header is EBCDIC: its first card's "C" says so, else its spaces (0x40, not 0x20) do."""
    if text[:1] in (bytes([TEXT_CARD_MARKS[0]]), bytes([TEXT_CARD_MARKS[1]])):
        return text[0] == TEXT_CARD_MARKS[0]
    return text.count(0x40) > text.count(0x20)


def _write_segy(survey: Survey, targets: Mapping[str, Path], rows: Callable[[np.ndarray], Mapping[str, np.ndarray]],
                traces: np.ndarray, texts: Mapping[str, Sequence[str]]) -> None:
    """One pass over the source's ``traces``: their headers byte for byte, format 5, each target's rows as floats.

    The textual header of a target named in ``texts`` gets those lines (``textual_header``).
    """
    layout = survey.layout
    n_samples = len(survey.samples)
    order = ">" if layout.endian == "big" else "<"
    source_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"V{n_samples * layout.sample_bytes}")])
    target_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"{order}f4", (n_samples,))])
    chunk = max(1, headers.CHUNK_BYTES // layout.trace_bytes)
    with open(survey.path, "rb") as source, ExitStack() as files:
        head = bytearray(source.read(layout.trace0))
        head[3224:3226] = IEEE_FLOAT.to_bytes(2, layout.endian, signed=True)
        outputs = {name: files.enter_context(open(path, "wb")) for name, path in targets.items()}
        for name, out in outputs.items():
            text = textual_header(bytes(head[:TEXT_BYTES]), texts[name]) if name in texts else head[:TEXT_BYTES]
            out.write(text + head[TEXT_BYTES:])
        every = np.memmap(source, dtype=source_trace, mode="r", offset=layout.trace0, shape=(survey.trace_count,))
        for first in range(0, len(traces), chunk):
            picked = traces[first:first + chunk]
            values = rows(picked)
            block = np.empty(len(picked), dtype=target_trace)
            block["header"] = every["header"][picked]
            for name, out in outputs.items():
                block["samples"] = values[name]
                out.write(block.tobytes())
        del every


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

    ``values`` is either a full array shaped like the survey, samples last —
    (n_inlines, n_crosslines, n_samples) for 3D as ``volume()``, (n_traces,
    n_samples) for 2D, the traces of ``line()`` in their order — or, for 3D, a
    mapping {line number of kind ``by``: section values (n_samples, n_traces)} as
    ``inline(n).values`` or ``crossline(n).values``, whose other traces are written
    as zeros. Values must be finite.

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
        rows = _sections_rows(survey, values, by) if isinstance(values, Mapping) else _volume_rows(survey, values)
        written = write_attributes(survey, {"attribute": target}, lambda traces: {"attribute": rows(traces)})
    return written["attribute"]


def write_attributes(survey: Survey, targets: Mapping[str, PathLike],
                     rows: Callable[[np.ndarray], Mapping[str, np.ndarray]], *,
                     traces: Optional[np.ndarray] = None, texts: Mapping[str, Sequence[str]] = {}) -> dict[str, Path]:
    """Several attribute files in one streamed pass over an open survey; returns {name: path}.

    The files hold the survey's ``traces`` (file indices, ascending; None: every trace), in
    file order, each with its trace header byte for byte: ``line_traces`` gives those of
    some lines, so one inline of any survey writes one inline's traces. ``rows(picked)``
    gives, for every name of ``targets``, the float32 samples (len(picked), n_samples) of
    the traces ``picked`` (a chunk of ``traces``; ``Survey.trace_cells`` says where they
    sit); NaN marks samples without a value, Inf is refused. Only one chunk of traces is in
    memory at a time, so a caller computing values on demand keeps memory bounded.
    ``texts``: per name, lines for its textual header (``textual_header``); the others keep
    the survey's. Headers, atomicity and refusals as ``write_attribute``; every file appears
    only when all are complete.

    >>> with open_survey("f3.sgy") as survey:
    ...     write_attributes(survey, {"abs": "abs.sgy"}, lambda picked: {"abs": np.abs(traces_at(picked))})
    """
    paths = {name: Path(path) for name, path in targets.items()}
    for path in paths.values():
        _refuse_overwrite(survey.path, path)
    traces = np.arange(survey.trace_count) if traces is None else np.asarray(traces, dtype=np.int64)

    def checked(picked: np.ndarray) -> dict[str, np.ndarray]:
        values = rows(picked)
        shape = (len(picked), len(survey.samples))
        return {name: _float32(values[name], survey.path.name, f"attribute '{name}'", shape, nan=True)
                for name in paths}

    each = survey.layout.trace0 + len(traces) * (TRACE_HEADER_BYTES + 4 * len(survey.samples))
    folders = [path.parent for path in paths.values()]
    for folder in set(folders):  # all files, before any is written: a full disk is one line and nothing written
        check_space(folder, each * folders.count(folder))
    with ExitStack() as stack:
        temporaries = {name: stack.enter_context(atomic_path(path)) for name, path in paths.items()}
        _write_segy(survey, temporaries, checked, traces, texts)
    return paths
