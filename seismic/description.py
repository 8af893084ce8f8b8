"""What ``rather seismic info`` reports about a SEG-Y file, as a dict and as text."""
from __future__ import annotations

from dataclasses import asdict

import numpy as np

from rather.common.storage import PathLike

from .geometry import line_step
from .survey import open_survey


def _number_range(numbers: np.ndarray) -> dict:
    """{first, last, step, count} of sorted line numbers; None where undefined."""
    if len(numbers) == 0:
        return {"first": None, "last": None, "step": None, "count": 0}
    return {"first": int(numbers[0]), "last": int(numbers[-1]), "step": line_step(numbers), "count": int(len(numbers))}


def describe(path: PathLike, **options) -> dict:
    """What ``rather seismic info`` reports; ``options`` go to ``open_survey`` (iline, xline, ignore_geometry).

    Keys: path, kind, inlines and crosslines ({first, last, step, count}; step
    is the common step of the numbers present, None for fewer than two),
    traces, missing_traces (grid positions without a trace, 3D only), samples
    ({count, first, last, interval, unit}; unit "ms", which is m for depth
    data stored in mm), format ({code, name}), endian, sorting, size_bytes,
    line (2D and unstructured: {key, first, last, step, count}; None for 3D),
    coordinates (CDP X and Y ranges after the coordinate scalar, and that scalar:
    ``Survey.coordinates``), suggested_geometry (for a file that is not read as 3D:
    {iline, xline, inlines, crosslines}, the byte locations that would place its traces
    on a 3D grid, from a scan of the trace headers; None when none does), and notes (what the reader decided about a questionable file, e.g. sample
    intervals that disagree; empty for a clean file).
    Plain Python values, ready for ``json.dumps``.

    >>> describe("f3.sgy")["inlines"]
    {'first': 111, 'last': 133, 'step': 1, 'count': 23}
    """
    with open_survey(path, **options) as survey:
        samples = survey.samples
        line = None if survey.kind == "3d" else {"key": survey.line_key, **_number_range(survey.line_numbers)}
        suggestion = None if survey.kind == "3d" else survey.suggestion()
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
            "size_bytes": survey.layout.size,
            "line": line,
            "coordinates": survey.coordinates(),
            "suggested_geometry": None if suggestion is None else asdict(suggestion),
            "notes": list(survey.notes),
        }


def _range_text(numbers: dict, noun: str) -> str:
    if numbers["count"] == 0:
        return "none"
    if numbers["count"] == 1:
        return f"{numbers['first']} (1 {noun})"
    return f"{numbers['first']} to {numbers['last']} step {numbers['step']} ({numbers['count']:,} {noun}s)"


def _coordinates_text(coordinates: dict) -> str:
    x, y, scalar = coordinates["cdp_x"], coordinates["cdp_y"], coordinates["scalar"]
    shown = scalar if isinstance(scalar, int) else "varies: " + ", ".join(map(str, scalar[:4]))
    return (f"  cdp x, y    {x['min']:.10g} to {x['max']:.10g}, {y['min']:.10g} to {y['max']:.10g} "
            f"(coordinate scalar {shown}, applied)")


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
        _coordinates_text(d["coordinates"]),
    ]
    suggested = d["suggested_geometry"]
    if suggested:
        lines.append(f"  suggest     --iline {suggested['iline']} --xline {suggested['xline']}: a 3D grid of "
                     f"{suggested['inlines']} x {suggested['crosslines']} lines in the first traces")
    lines += [f"  note        {note}" for note in d["notes"]]
    return "\n".join(lines)
