"""Attribute volumes as SEG-Y: the source survey's headers byte for byte, new samples as IEEE floats."""
from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from collections.abc import Callable, Mapping
from typing import Union

import numpy as np

from rather.common.errors import BadInput
from rather.common.storage import PathLike, atomic_path

from . import headers
from .headers import IEEE_FLOAT, TRACE_HEADER_BYTES
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


def _section_rows(survey: Survey, sections: Mapping[int, np.ndarray], by: str) -> Callable[[int, int], np.ndarray]:
    """Rows for traces start..stop-1 from {line number: section} of inlines or crosslines; other traces are zeros.

    An inline's section is (n_crosslines, n_samples), a crossline's (n_inlines, n_samples).
    """
    name = survey.path.name
    if survey.kind != "3d":
        raise BadInput(f"{name}: sections by {by} need a 3D survey; give a full array shaped like line()")
    if by not in ("inline", "crossline"):
        raise BadInput(f"{name}: sections are given by 'inline' or 'crossline', not {by!r}")
    n_samples = len(survey.samples)
    numbers, across = (survey.inlines, survey.crosslines) if by == "inline" else (survey.crosslines, survey.inlines)
    slot = np.full(len(numbers), -1, dtype=np.int64)
    stack = np.zeros((len(sections), len(across), n_samples), dtype=np.float32)
    for position, (number, section) in enumerate(sections.items()):
        slot[survey.position(by, number)] = position
        stack[position] = _finite_float32(section, name, f"the section of {by} {number}", (len(across), n_samples))

    def rows(start: int, stop: int) -> np.ndarray:
        inline_at, crossline_at = survey.trace_positions(start, stop)
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
