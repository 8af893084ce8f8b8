"""Attribute volumes as SEG-Y: the source survey's headers byte for byte, new samples as IEEE floats.

``write_attributes`` writes several volumes in one pass over an open survey, asking a
``rows(start, stop)`` callback for each chunk of traces in file order;
``write_attribute`` writes one from a volume or from sections; ``section_rows`` turns
sections (time down the rows) back into the file's trace rows, line by line as the
pass reaches them.
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
from .headers import IEEE_FLOAT, TRACE_HEADER_BYTES
from .section import LINE_KINDS, to_trace_rows
from .survey import Survey, open_survey

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
    shape = survey.shape + (len(survey.samples),)
    flat = _finite_float32(values, survey.path.name, "the attribute volume", shape).reshape(-1, shape[-1])
    return lambda start, stop: flat[survey.trace_cells(start, stop)]


def section_rows(survey: Survey, kind: str, numbers: Sequence[Optional[int]],
                 section_of: Callable[[Optional[int]], np.ndarray],
                 channels: tuple[int, ...] = (), samples: slice = slice(None)) -> Callable[[int, int], np.ndarray]:
    """Trace rows from sections: the ``rows`` of ``write_attributes`` for some inlines or crosslines.

    ``rows(start, stop)`` is (*channels, stop - start, n_samples): the traces start..stop-1
    in file order, taken from the sections ``section_of(number)`` (*channels, n_samples,
    n_traces) of the lines ``numbers`` of ``kind``; other traces are zeros. Each line's
    section is asked for when its first trace is written and dropped after its last, so a
    survey sorted along ``kind`` holds one or two sections at a time; across the sorting,
    every requested line stays until the end of the pass. This is where sections turn
    back into the file's trace rows (``section.to_trace_rows``).

    A 2D or unstructured file holds one line (``lines.read_line``): ``numbers`` is that one
    line's [number] (None for a 2D line) and its section covers every trace. Sections of
    a time window hold the sample indices ``samples`` only; the other samples are zeros.
    """
    if survey.kind != "3d":
        return _one_line_rows(survey, numbers, section_of, channels, samples)
    if kind not in LINE_KINDS:
        raise BadInput(f"{survey.path.name}: sections are given by 'inline' or 'crossline', not {kind!r}")
    axis = LINE_KINDS.index(kind)
    line_numbers = survey.inlines if kind == "inline" else survey.crosslines
    wanted = np.zeros(len(line_numbers), dtype=bool)
    wanted[[survey.position(kind, number) for number in numbers]] = True
    line_of_trace = survey.trace_positions()[axis]
    last_trace = np.full(len(line_numbers), -1)
    np.maximum.at(last_trace, line_of_trace, np.arange(len(line_of_trace)))
    cache: dict[int, np.ndarray] = {}

    def rows(start: int, stop: int) -> np.ndarray:
        positions = survey.trace_positions(start, stop)
        line, trace = positions[axis], positions[1 - axis]
        out = np.zeros((*channels, stop - start, len(survey.samples)), dtype=np.float32)
        for index in np.unique(line[wanted[line]]):
            if index not in cache:
                cache[index] = section_of(int(line_numbers[index]))
            here = line == index
            out[..., here, samples] = to_trace_rows(cache[index][..., trace[here]])
        for index in [i for i in cache if last_trace[i] < stop]:
            del cache[index]
        return out

    return rows


def _one_line_rows(survey: Survey, numbers: Sequence[Optional[int]], section_of: Callable[[Optional[int]], np.ndarray],
                   channels: tuple[int, ...], samples: slice) -> Callable[[int, int], np.ndarray]:
    """``section_rows`` of the one line of a 2D or unstructured file: trace t is column ``trace_cells()[t]``."""
    if len(numbers) != 1:
        raise BadInput(f"{survey.path.name}: a {survey.kind} file holds one line, not {len(numbers)}; give its "
                       "one section")
    held: list[np.ndarray] = []

    def rows(start: int, stop: int) -> np.ndarray:
        if not held:
            held.append(section_of(numbers[0]))
        out = np.zeros((*channels, stop - start, len(survey.samples)), dtype=np.float32)
        out[..., samples] = to_trace_rows(held[0])[..., survey.trace_cells(start, stop), :]
        return out

    return rows


def _sections_rows(survey: Survey, sections: Mapping[int, np.ndarray], by: str) -> Callable[[int, int], np.ndarray]:
    """``section_rows`` of the sections given as {line number: values (n_samples, n_traces)}, checked first."""
    if survey.kind != "3d":
        raise BadInput(f"{survey.path.name}: sections by {by} need a 3D survey; give a full array shaped like "
                       "the survey")
    checked: dict[int, np.ndarray] = {}
    rows = section_rows(survey, by, list(sections), checked.__getitem__)  # the survey, kind and numbers checked
    shape = (len(survey.samples), len(survey.crosslines if by == "inline" else survey.inlines))
    checked.update({number: _finite_float32(values, survey.path.name, f"the section of {by} {number}", shape)
                    for number, values in sections.items()})
    return rows


def _write_segy(survey: Survey, targets: Mapping[str, Path],
                rows: Callable[[int, int], Mapping[str, np.ndarray]]) -> None:
    """One pass over the source: its headers byte for byte, format 5, and each target's rows as IEEE floats."""
    layout = survey.layout
    n_samples = len(survey.samples)
    order = ">" if layout.endian == "big" else "<"
    source_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"V{n_samples * layout.sample_bytes}")])
    target_trace = np.dtype([("header", f"V{TRACE_HEADER_BYTES}"), ("samples", f"{order}f4", (n_samples,))])
    chunk = max(1, headers.CHUNK_BYTES // layout.trace_bytes)
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

    each = survey.layout.trace0 + survey.trace_count * (TRACE_HEADER_BYTES + 4 * len(survey.samples))
    folders = [path.parent for path in paths.values()]
    for folder in set(folders):  # all files, before any is written: a full disk is one line and nothing written
        check_space(folder, each * folders.count(folder))
    with ExitStack() as stack:
        temporaries = {name: stack.enter_context(atomic_path(path)) for name, path in paths.items()}
        _write_segy(survey, temporaries, checked)
    return paths
