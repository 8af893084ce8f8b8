"""``rather seismic explain`` on every vertical line a user has, with the user's own class set and model.

2D lines (numbered by CDP, or read in file order with --unstructured), files holding a
single inline, every crossline, a six-class classifier named by its checkpoint or by
--classes, and the real USGS 2D line from the shared data (skipped where it is absent).
"""
import json
from pathlib import Path

import h5py
import numpy as np
import pytest
import segyio
import torch

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN
from rather.seismic.patches import patch_grid
from rather.suites.cli import main
from real_seismic import REAL_SEISMIC

FACIES = ("sand", "shale", "carbonate", "salt", "basement", "channel")
FACTORY = "rather.common.networks:SmallCNN"
KWARGS = {"num_classes": 6, "in_channels": 1, "width": 4, "pools": 2, "padding": 0}
PATCH = 33
REAL_LINE = REAL_SEISMIC / "usgs-npra-2d-line/31_81_PR.SGY"


def six_class_network() -> SmallCNN:
    torch.manual_seed(0)
    return SmallCNN(**KWARGS).eval()


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small survey, a single-inline survey, a 2D line numbered by CDP, and a six-class model two ways."""
    folder = tmp_path_factory.mktemp("lines")
    assert main(["seismic", "synth", str(folder / "survey.sgy"), "--inlines", "4", "--crosslines", "40",
                 "--samples", "60", "--seed", "5", "--faults", "1", "--salt-domes", "0", "--chaotic-zones", "0"]) == 0
    assert main(["seismic", "synth", str(folder / "one_inline.sgy"), "--inlines", "1", "--crosslines", "50",
                 "--samples", "60", "--seed", "6", "--faults", "1", "--salt-domes", "0",
                 "--chaotic-zones", "0"]) == 0
    assert main(["seismic", "synth", str(folder / "narrow.sgy"), "--inlines", "18", "--crosslines", "5",
                 "--samples", "40", "--seed", "7", "--faults", "1", "--salt-domes", "0", "--chaotic-zones", "0"]) == 0
    network = six_class_network()
    save_checkpoint(folder / "facies.pt", network, FACTORY, KWARGS,
                    {"class_names": list(FACIES), "layer": "features", "patch": PATCH})
    torch.save(network.state_dict(), folder / "facies_state.pt")
    write_cdp_line(folder / "line2d.sgy", traces=45, samples=50)
    return folder


def write_cdp_line(path: Path, traces: int, samples: int) -> None:
    """A 2D line whose traces carry only CDP numbers (inline and crossline left at 0), in reverse CDP order."""
    spec = segyio.spec()
    spec.format, spec.tracecount, spec.samples = 5, traces, np.arange(samples) * 4.0
    rng = np.random.default_rng(0)
    with segyio.create(str(path), spec) as file:
        for trace in range(traces):
            file.header[trace] = {segyio.TraceField.CDP: 1000 - trace, segyio.TraceField.TRACE_SAMPLE_COUNT: samples,
                                  segyio.TraceField.CDP_X: 5000 + 25 * trace}
            file.trace[trace] = rng.standard_normal(samples).astype(np.float32)
        file.bin.update(hns=samples, format=5)


def explained(arguments: list[str], capsys) -> dict:
    capsys.readouterr()
    assert main(["seismic", "explain", *map(str, arguments), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def assert_headers_kept(source: Path, attribute: Path) -> None:
    """Every trace header of the attribute is the source's, and so is every card of its textual header but rather's."""
    with segyio.open(str(source), ignore_geometry=True) as a, segyio.open(str(attribute), ignore_geometry=True) as b:
        assert a.tracecount == b.tracecount
        assert all(a.header[t] == b.header[t] for t in range(a.tracecount))
        cards = [bytes(text[start:start + 80]) for text in (a.text[0], b.text[0]) for start in range(0, 3200, 80)]
    ours = [index for index in range(40) if cards[index] != cards[40 + index]]
    assert len(ours) == 7 and cards[40 + ours[0]][4:].startswith(b"RATHER ")


def test_a_six_class_checkpoint_names_its_classes(workspace, capsys):
    out = workspace / "six"
    summary = explained([workspace / "survey.sgy", "--model", workspace / "facies.pt", "--inline", 101,
                         "--stride", 9, "--out", out], capsys)
    assert summary["class_names"] == list(FACIES)
    assert summary["questions"] == ["why"] + [f"rather_than_{name}" for name in FACIES]
    (section,) = summary["sections"]
    rows, cols = patch_grid(60, 40, patch=PATCH, stride=9)
    assert section["patch"] == PATCH and list(section["predicted_counts"]) == list(FACIES)
    assert sum(section["predicted_counts"].values()) == len(rows) * len(cols)
    with h5py.File(out / "explanations.h5", "r") as store:
        assert list(store.attrs["class_names"]) == list(FACIES)
        assert store["sections/inline_101/maps"].shape == (7, 60, 40)
        assert store["sections/inline_101/probabilities"].shape == (6, 60, 40)
    assert sorted(p.name for p in out.glob("*.sgy")) == sorted(f"{q}.sgy" for q in summary["questions"])


def test_a_state_dict_with_its_architecture_layer_and_classes_from_the_command_line(workspace, capsys):
    out = workspace / "state"
    summary = explained([workspace / "survey.sgy", "--model", FACTORY, "--weights", workspace / "facies_state.pt",
                         "--model-kwargs", json.dumps(KWARGS), "--layer", "features.6", "--patch", PATCH,
                         "--classes", ",".join(FACIES), "--inline", 101, "--stride", 9, "--out", out], capsys)
    assert summary["factory"] == FACTORY and summary["layer"] == "features.6"
    assert summary["class_names"] == list(FACIES)
    with h5py.File(out / "explanations.h5", "r") as store:
        assert store["sections/inline_101/maps"].shape == (7, 60, 40)


def test_every_crossline(workspace, capsys):
    out = workspace / "crosslines"
    summary = explained([workspace / "narrow.sgy", "--model", workspace / "facies.pt", "--all-crosslines",
                         "--stride", 20, "--out", out], capsys)
    assert [(s["kind"], s["number"]) for s in summary["sections"]] == [("crossline", n) for n in range(300, 305)]
    assert_headers_kept(workspace / "narrow.sgy", out / "rather_than_salt.sgy")
    with segyio.open(str(out / "why.sgy")) as why, h5py.File(out / "explanations.h5", "r") as store:
        volume = segyio.tools.cube(why)
        for index in range(5):
            np.testing.assert_allclose(volume[:, index], store[f"sections/crossline_{300 + index}/maps"][0].T)


def test_a_file_of_one_inline_is_that_inline(workspace, capsys):
    out = workspace / "single"
    summary = explained([workspace / "one_inline.sgy", "--model", workspace / "facies.pt", "--stride", 9,
                         "--out", out], capsys)
    assert summary["survey_kind"] == "2d"
    assert [(s["kind"], s["number"]) for s in summary["sections"]] == [("inline", 100)]
    assert (out / "figure_inline_100.png").is_file()
    assert_headers_kept(workspace / "one_inline.sgy", out / "why.sgy")
    with segyio.open(str(out / "why.sgy"), ignore_geometry=True) as why, \
            h5py.File(out / "explanations.h5", "r") as store:
        np.testing.assert_allclose(why.trace.raw[:], store["sections/inline_100/maps"][0].T)


def test_a_2d_line_by_cdp_and_unstructured(workspace, capsys):
    line = workspace / "line2d.sgy"
    for extra, name in (([], "cdp"), (["--unstructured"], "unstructured")):
        out = workspace / name
        summary = explained([line, "--model", workspace / "facies.pt", "--stride", 8, "--out", out, *extra], capsys)
        assert [(s["kind"], s["number"]) for s in summary["sections"]] == [("line", None)]
        assert_headers_kept(line, out / "why.sgy")
        with segyio.open(str(out / "why.sgy"), ignore_geometry=True) as why, \
                h5py.File(out / "explanations.h5", "r") as store:
            maps = store["sections/line/maps"][0]  # traces along the line: ascending CDP, or file order
            traces = why.trace.raw[:]
        file_order = maps.T[::-1] if name == "cdp" else maps.T  # the file holds CDPs descending
        np.testing.assert_allclose(traces, file_order)


def test_a_time_window_leaves_nan_outside(workspace, capsys):
    out = workspace / "window"
    summary = explained([workspace / "one_inline.sgy", "--model", workspace / "facies.pt", "--time", 40, 200,
                         "--stride", 9, "--out", out], capsys)
    assert summary["time"] == [40.0, 200.0]
    with segyio.open(str(out / "why.sgy"), ignore_geometry=True) as why:
        traces = why.trace.raw[:]
        times = why.samples
    inside = (times >= 40) & (times <= 200)
    assert np.isnan(traces[:, ~inside]).all() and not np.isnan(traces[:, inside]).any()


@pytest.mark.skipif(not REAL_LINE.is_file(), reason="the shared real data (USGS NPRA 2D line) is not here")
def test_the_real_usgs_2d_line_end_to_end(tmp_path, capsys):
    """A real 2D post-stack line (USGS NPRA 31-81, 534 traces, SEG-Y rev 0, IBM floats), 400-1200 ms."""
    out = tmp_path / "npra"
    summary = explained([REAL_LINE, "--time", 400, 1200, "--stride", 48, "--out", out], capsys)
    (section,) = summary["sections"]
    assert summary["survey_kind"] == "2d" and section["kind"] == "line"
    assert sum(section["predicted_counts"].values()) == np.prod([len(a) for a in patch_grid(201, 534, 99, 48)])
    assert_headers_kept(REAL_LINE, out / "rather_than_fault.sgy")
    with segyio.open(str(out / "why.sgy"), ignore_geometry=True) as why:
        assert why.tracecount == 534 and len(why.samples) == 1501
        assert why.trace.raw[:][:, 100:301].any() and np.isnan(why.trace.raw[:][:, 301:]).all()
