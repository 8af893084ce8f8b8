"""``rather seismic info``: CDP coordinates with their scalar, and byte locations suggested from the headers."""
import json

import numpy as np
import segyio

from rather.suites.cli import main


def write(path, *, cdp=False, scalar=-100):
    """A 4 x 6 survey whose line numbers sit at bytes 17 (inline) and 13 (crossline), not 189/193.

    CDP X/Y are 1000.5 + 25 i and 2000.25 + 25 j metres, stored times 100 with the scalar -100.
    With ``cdp``, byte 21 numbers the traces too (the file then reads as a 2D line by CDP).
    """
    spec = segyio.spec()
    spec.format, spec.tracecount, spec.samples = 5, 24, np.arange(10) * 4.0
    with segyio.create(str(path), spec) as file:
        for trace in range(24):
            i, j = divmod(trace, 6)
            file.header[trace] = {17: 50 + i, 13: 7 + 2 * j, 71: scalar, 181: int((1000.5 + 25 * i) * 100),
                                  185: int((2000.25 + 25 * j) * 100), 21: 500 + trace if cdp else 0,
                                  segyio.TraceField.TRACE_SAMPLE_COUNT: 10}
            file.trace[trace] = np.zeros(10, dtype=np.float32)
        file.bin.update(hns=10, format=5)


def test_info_shows_scaled_coordinates_and_suggests_byte_locations(tmp_path, capsys):
    write(tmp_path / "cdp.sgy", cdp=True)
    assert main(["seismic", "info", str(tmp_path / "cdp.sgy"), "--json"]) == 0
    description = json.loads(capsys.readouterr().out)
    assert description["kind"] == "2d"
    assert description["coordinates"] == {"cdp_x": {"min": 1000.5, "max": 1075.5},
                                          "cdp_y": {"min": 2000.25, "max": 2125.25}, "scalar": -100}
    assert description["suggested_geometry"] == {"iline": 17, "xline": 13, "inlines": 4, "crosslines": 6}
    assert main(["seismic", "info", str(tmp_path / "cdp.sgy")]) == 0
    text = capsys.readouterr().out
    assert "  cdp x, y    1000.5 to 1075.5, 2000.25 to 2125.25 (coordinate scalar -100, applied)" in text
    assert "  suggest     --iline 17 --xline 13: a 3D grid of 4 x 6 lines in the first traces" in text
    assert main(["seismic", "info", str(tmp_path / "cdp.sgy"), "--iline", "17", "--xline", "13", "--json"]) == 0
    described = json.loads(capsys.readouterr().out)
    assert described["kind"] == "3d" and described["suggested_geometry"] is None
    assert described["inlines"]["count"] == 4 and described["crosslines"]["step"] == 2


def test_no_geometry_names_the_suggestion(tmp_path, capsys):
    write(tmp_path / "plain.sgy", scalar=10)
    assert main(["seismic", "info", str(tmp_path / "plain.sgy")]) == 2
    assert "the trace headers suggest --iline 17 --xline 13 (4 x 6 lines in the first traces)" in \
        capsys.readouterr().err
    assert main(["seismic", "info", str(tmp_path / "plain.sgy"), "--unstructured", "--json"]) == 0
    coordinates = json.loads(capsys.readouterr().out)["coordinates"]
    assert coordinates["cdp_x"] == {"min": 100050.0 * 10, "max": 107550.0 * 10} and coordinates["scalar"] == 10
