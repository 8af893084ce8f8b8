"""``rather seismic``: info, synth, train, evaluate and explain from the command line."""
import json
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
import segyio

from rather.seismic.patches import patch_grid
from rather.suites.cli import main

from help_text import defaults_said


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A small synthetic survey and a quickly trained (weak) classifier, shared by the tests."""
    folder = tmp_path_factory.mktemp("seismic")
    assert main(["seismic", "synth", str(folder / "survey.sgy"), "--inlines", "60", "--crosslines", "120",
                 "--samples", "150", "--seed", "3"]) == 0
    assert main(["seismic", "train", "--out", str(folder / "model.pt"), "--surveys", "1", "--per-class", "16",
                 "--epochs", "1"]) == 0
    assert main(["seismic", "synth", str(folder / "narrow.sgy"), "--inlines", "60", "--crosslines", "30",
                 "--samples", "150"]) == 0
    return folder


def test_info_describes_the_survey(workspace, capsys):
    capsys.readouterr()
    assert main(["seismic", "info", str(workspace / "survey.sgy"), "--json"]) == 0
    description = json.loads(capsys.readouterr().out)
    assert description["kind"] == "3d" and description["traces"] == 60 * 120
    assert description["inlines"]["count"] == 60 and description["samples"]["count"] == 150
    assert description["format"]["code"] == 5


def test_explain_an_inline_writes_every_output(workspace, capsys):
    out = workspace / "explained"
    assert main(["seismic", "explain", str(workspace / "survey.sgy"), "--model", str(workspace / "model.pt"),
                 "--inline", "102", "--stride", "20", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    assert printed.err == ""  # off a terminal, without --progress: no bars, no notes
    summary = json.loads(printed.out)
    (section,) = summary["sections"]
    assert section["kind"] == "inline" and section["number"] == 102 and section["patch"] == 99
    assert set(section["predicted_counts"]) == {"horizon", "chaotic", "fault", "salt_dome"}
    rows, cols = patch_grid(150, 120, patch=99, stride=20)
    assert sum(section["predicted_counts"].values()) == len(rows) * len(cols)
    assert sorted(p.name for p in out.iterdir()) == sorted(
        ["summary.json", "explanations.h5", "figure_inline_102.png"] + [f"{q}.sgy" for q in summary["questions"]])
    with segyio.open(str(workspace / "survey.sgy")) as source, segyio.open(str(out / "why.sgy")) as why:
        assert why.bin[segyio.BinField.Format] == 5 and why.text[0][:80 * 20] == source.text[0][:80 * 20]
        assert list(why.ilines) == [102] and list(why.xlines) == list(source.xlines)  # inline 102's traces only
        first = 2 * len(source.xlines)  # inline 102 is the third inline of an inline-sorted file
        assert all(why.header[t] == source.header[first + t] for t in range(why.tracecount))
        volume = segyio.tools.cube(why)
        text = why.text[0].decode("ascii")
    assert (out / "why.sgy").stat().st_size == 3600 + 120 * (240 + 4 * 150)  # one inline's bytes
    with h5py.File(out / "explanations.h5", "r") as store:
        maps = store["sections/inline_102/maps"][()]
        assert store.attrs["normalise"] == "volume" and store.attrs["scale_factor"] == summary["scaling"]["factor"]
    np.testing.assert_array_equal(volume[0], maps[0].T)
    assert maps.shape == (5, 150, 120) and 0 <= np.nanmin(maps) and np.nanmax(maps) <= 1
    assert not np.isnan(maps[0]).any()  # "Why P?" is always asked
    for question, values in zip(summary["questions"][1:], maps[1:]):  # NaN exactly where P = Q
        with h5py.File(out / "explanations.h5", "r") as store:
            asked = store["sections/inline_102/asked"][summary["questions"].index(question)]
        assert np.array_equal(np.isnan(values), ~asked)
    assert f"MODEL {summary['model_checksum']}" in text and "SCALING volume: raw / " in text
    assert "NaN = not asked" in text and "the traces of inline 102 only" in text


def test_explain_a_crossline(workspace, capsys):
    out = workspace / "crossline"
    capsys.readouterr()
    assert main(["seismic", "explain", str(workspace / "survey.sgy"), "--model", str(workspace / "model.pt"),
                 "--crossline", "350", "--out", str(out), "--progress"]) == 0
    printed = capsys.readouterr()
    assert printed.out == f"wrote {out}: summary.json, explanations.h5, 5 SEG-Y attributes, 1 figure(s)\n"
    assert re.search(r"crossline 350: horizon \d+, chaotic \d+, fault \d+, salt_dome \d+\n", printed.err)
    assert "crosslines: 100%" in printed.err  # the bar over the lines, with its rate
    with segyio.open(str(out / "rather_than_fault.sgy")) as attribute:  # crossline 350's traces, one per inline
        assert list(attribute.xlines) == [350] and len(attribute.ilines) == 60
        volume = segyio.tools.cube(attribute)
    with h5py.File(out / "explanations.h5", "r") as store:
        np.testing.assert_array_equal(volume.reshape(60, 150), store["sections/crossline_350/maps"][3].T)


@pytest.mark.parametrize("arguments, message", [
    (["explain", "{ws}/missing.sgy", "--out", "{ws}/x"], "missing.sgy"),
    (["explain", "{ws}/survey.sgy", "--inline", "999", "--out", "{ws}/x"], "inline 999"),
    (["explain", "{ws}/survey.sgy", "--stride", "0", "--out", "{ws}/x"], "--stride must be a positive"),
    (["info", "{ws}/model.pt"], "model.pt"),
    (["explain", "{ws}/narrow.sgy", "--out", "{ws}/x"], "each inline has 30 traces of 150 samples; the classifier reads"),
])
def test_bad_input_is_one_line_with_status_2(arguments, message, workspace, capsys):
    arguments = [a.format(ws=workspace) for a in arguments]
    if arguments[0] == "explain":
        arguments += ["--model", str(workspace / "model.pt")]
    capsys.readouterr()
    assert main(["seismic", *arguments]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (workspace / "x").exists()


def test_evaluate_on_a_landmass_copy(workspace, tmp_path, capsys):
    from scipy.io import savemat

    rng = np.random.default_rng(0)
    for folder in ("Horizon", "Chaotic", "Fault", "Salt Dome"):
        (tmp_path / folder).mkdir()
        for index in range(3):
            savemat(tmp_path / folder / f"patch_{index}.mat", {"img": rng.uniform(-1, 1, (99, 99))})
    capsys.readouterr()
    assert main(["seismic", "evaluate", "--model", str(workspace / "model.pt"), "--landmass", str(tmp_path),
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["patches"] == 12 and np.array(report["confusion"]).sum(axis=1).tolist() == [3, 3, 3, 3]
    assert report["data"].startswith("LANDMASS-1") and 0 <= report["balanced_accuracy"] <= 1
    assert main(["seismic", "evaluate", "--model", str(workspace / "model.pt"), "--landmass", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"LANDMASS-1 at {tmp_path}, 12 patches"
    assert lines[1] == f"balanced accuracy {report['balanced_accuracy']:.3f} (accuracy {report['accuracy']:.3f})"
    assert lines[2] == (f"reflections every {report['dominant_period_samples']:.1f} samples down a trace "
                        "(dominant period)")
    assert lines[4].split() == ["horizon", *map(str, report["confusion"][0])] and len(lines) == 8


def test_explain_all_streams_one_section_at_a_time(tmp_path):
    import gc
    import weakref

    from rather.seismic.attributes import section_rows
    from rather.seismic.sections import QUESTIONS
    from rather.seismic.segy import open_survey, write_attributes

    assert main(["seismic", "synth", str(tmp_path / "s.sgy"), "--inlines", "5", "--crosslines", "8",
                 "--samples", "16"]) == 0
    alive, most, calls = [], [0], []

    def fake_section(number):  # (5, samples, traces) with values that say where they come from
        calls.append(number)
        maps = np.fromfunction(lambda q, s, t: number + q / 10 + t / 100 + s / 10000, (5, 16, 8), dtype=np.float32)
        alive.append(weakref.ref(maps))
        return maps

    with open_survey(tmp_path / "s.sgy") as survey:
        rows = section_rows(survey, "inline", survey.inlines.tolist(), fake_section, channels=(len(QUESTIONS),))

        def watched(traces):
            values = dict(zip(QUESTIONS, rows(traces)))
            gc.collect()
            most[0] = max(most[0], sum(ref() is not None for ref in alive))
            return values

        import rather.seismic.headers as headers
        headers.CHUNK_BYTES, saved = 3 * (240 + 16 * 4), headers.CHUNK_BYTES  # three traces per chunk
        try:
            write_attributes(survey, {q: tmp_path / f"{q}.sgy" for q in QUESTIONS}, watched)
        finally:
            headers.CHUNK_BYTES = saved
        inlines = survey.inlines.tolist()
    assert calls == inlines and most[0] <= 2
    with segyio.open(str(tmp_path / "rather_than_fault.sgy")) as attribute:
        volume = segyio.tools.cube(attribute)
    for index, number in enumerate(inlines):
        np.testing.assert_allclose(volume[index], fake_section(number)[3].T)


def test_explain_all_inlines(workspace, tmp_path):
    assert main(["seismic", "synth", str(tmp_path / "s.sgy"), "--inlines", "3", "--crosslines", "110",
                 "--samples", "120"]) == 0
    out = tmp_path / "all"
    assert main(["seismic", "explain", str(tmp_path / "s.sgy"), "--model", str(workspace / "model.pt"), "--all",
                 "--stride", "30", "--out", str(out)]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert [s["number"] for s in summary["sections"]] == [100, 101, 102]
    with segyio.open(str(out / "why.sgy")) as why, h5py.File(out / "explanations.h5", "r") as store:
        volume = segyio.tools.cube(why)
        for index, number in enumerate((100, 101, 102)):
            np.testing.assert_allclose(volume[index], store[f"sections/inline_{number}/maps"][0].T)


@pytest.mark.parametrize("command", ["info", "character", "synth", "train", "evaluate", "explain"])
def test_help_shows_each_default_once(command, capsys):
    assert main(["seismic", command, "--help"]) == 0
    options = capsys.readouterr().out.split("options:")[1]
    entries = [" ".join(entry.split()) for entry in re.split(r"\n  (?=-)", options)]
    said = {entry: defaults_said(entry) for entry in entries}
    assert all(count <= 1 for count in said.values()), [entry for entry, count in said.items() if count > 1]
    if command == "explain":
        (stride,) = [entry for entry in entries if entry.startswith("--stride")]
        assert stride.endswith("with the committed classifier, a multiple of 8 needs a single pass of its trunk "
                               "(default: 10)")


@pytest.mark.slow
def test_train_shows_its_progress_on_stderr_only(tmp_path, capsys):
    capsys.readouterr()
    assert main(["seismic", "train", "--out", str(tmp_path / "m.pt"), "--surveys", "1", "--per-class", "8",
                 "--epochs", "1", "--progress"]) == 0
    printed = capsys.readouterr()
    assert re.fullmatch(rf"training accuracy \d\.\d{{3}}; wrote {tmp_path / 'm.pt'} in \d+ s\n", printed.out)
    assert ("training the seismic classifier (joint recipe, seed 0, 1 surveys, 8 patches per class, 1 epochs)"
            in printed.err)
    assert "synthetic surveys: 100%" in printed.err
    assert re.search(r"\n\d+ training patches of 99 x 99 and \d+ training patches of 45 x 45; distinct patches per "
                     r"class: \{'horizon': \d+", printed.err)


def test_seismic_info_does_not_import_torch(workspace):
    probe = ("import sys; from rather.suites.cli import main; status = main(['seismic', 'info', sys.argv[1]]); "
             "sys.exit(3 if 'torch' in sys.modules else status)")
    completed = subprocess.run([sys.executable, "-c", probe, str(workspace / "survey.sgy")], capture_output=True,
                               text=True)
    assert completed.returncode == 0, completed.stderr
    assert "3D, inline-sorted" in completed.stdout
