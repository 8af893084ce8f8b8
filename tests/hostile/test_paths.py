"""Hostile paths: outputs aimed at inputs, outputs another run is writing, runs stopped mid-write.

Every command that writes files names its outputs and its inputs first thing
(``rather.common.storage.claim_outputs``): an output equal to an input, a folder output
holding one (``--out .`` beside the survey, ``--out`` above it, a link to its folder), an
output of the wrong kind (a file where a folder goes, a folder where a file goes, a path
under a file) and an output another run is writing are refused before any work, so the
inputs here can be placeholders: reading them would be work. A run stopped mid-write
(KeyboardInterrupt, sys.exit, SIGKILL) leaves no output and its inputs untouched.
"""
from __future__ import annotations

import hashlib
import importlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import io

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN
from rather.common.storage import claimed
from rather.iqa import quality_model
from rather.recognition import classifier as birds
from rather.seismic import classifier as seismic
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

COMMITTED = (seismic.DEFAULT_CHECKPOINT, quality_model.DEFAULT_CHECKPOINT, birds.DEFAULT_CHECKPOINT)


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """The working folder ``tmp_path``, with placeholder inputs:

    why.sgy, why.labels.h5, model.pt, a.png, b.png, names.txt, notes.txt (no one's input),
    ex/rather_than_fault.sgy, ex/model.pt, deep/er/a.png, data/cats/1.jpg, lnk -> ex,
    models -> the folder of rather's committed seismic model.
    """
    monkeypatch.chdir(tmp_path)
    for name in ("why.sgy", "why.labels.h5", "model.pt", "a.png", "b.png", "names.txt", "notes.txt",
                 "ex/rather_than_fault.sgy", "ex/model.pt", "deep/er/a.png", "data/cats/1.jpg"):
        Path(name).parent.mkdir(parents=True, exist_ok=True)
        Path(name).write_bytes(f"placeholder {name}".encode())
    Path("lnk").symlink_to("ex")
    Path("models").symlink_to(seismic.DEFAULT_CHECKPOINT.parent)
    return tmp_path


@pytest.fixture
def committed_models_unchanged():
    """The committed checkpoints, byte for byte, after the test as before."""
    before = [hashlib.sha256(path.read_bytes()).hexdigest() for path in COMMITTED]
    yield
    assert [hashlib.sha256(path.read_bytes()).hexdigest() for path in COMMITTED] == before


HOLDS = "rather never writes into a folder that holds its inputs: choose another --out"
IS_INPUT = "rather never writes over its inputs: choose another --out"
EXPLAIN = "explain --weights model.pt --image a.png"
IQA = "iqa explain a.png b.png --rather-than 0.5"

OUTPUT_ON_INPUT = [
    # rather explain
    ("explain-out-is-the-image", f"{EXPLAIN} --out a.png", ["--out 'a.png' is the input --image 'a.png'", IS_INPUT]),
    ("explain-out-dot", f"{EXPLAIN} --out .", ["--out '.' holds the input --weights 'model.pt'", HOLDS]),
    ("explain-out-above-the-image", "explain --weights model.pt --image deep/er/a.png --out deep",
     ["--out 'deep' holds the input --image 'deep/er/a.png'", HOLDS]),
    ("explain-out-links-to-the-weights-folder", "explain --weights ex/model.pt --image a.png --out lnk",
     ["--out 'lnk' (that is '{tmp}/ex') holds the input --weights 'ex/model.pt'"]),
    ("explain-out-holds-the-classes", f"{EXPLAIN} --classes deep/er/a.png --out deep/er",
     ["holds the input --classes 'deep/er/a.png'"]),
    ("explain-out-is-one-of-the-images", "explain --weights model.pt --image b.png a.png --out a.png",
     ["is the input --image 'a.png'"]),
    ("explain-image-reached-through-the-out-link", "explain --weights model.pt --image lnk/model.pt --out ex",
     ["--out 'ex' holds the input --image 'lnk/model.pt'"]),
    ("explain-out-inside-the-image", f"{EXPLAIN} --out a.png/maps",
     ["--out 'a.png/maps' lies under '{tmp}/a.png', which is not a folder"]),
    ("explain-out-an-existing-file", f"{EXPLAIN} --out notes.txt",
     ["--out 'notes.txt' is a file, not a folder; give --out a folder"]),
    # rather seismic explain
    ("seismic-out-dot", "seismic explain why.sgy --out .", ["--out '.' holds the input survey 'why.sgy'", HOLDS]),
    ("seismic-out-is-the-survey-folder", "seismic explain ex/rather_than_fault.sgy --out ex",
     ["--out 'ex' holds the input survey 'ex/rather_than_fault.sgy'"]),
    ("seismic-out-links-to-the-survey-folder", "seismic explain ex/rather_than_fault.sgy --out lnk",
     ["--out 'lnk' (that is '{tmp}/ex') holds the input survey"]),
    ("seismic-out-is-the-survey", "seismic explain why.sgy --out why.sgy", ["--out 'why.sgy' is the input survey"]),
    ("seismic-out-holds-the-model", "seismic explain why.sgy --model ex/model.pt --out ex",
     ["--out 'ex' holds the input --model 'ex/model.pt'"]),
    ("seismic-out-holds-the-default-model", "seismic explain why.sgy --out models",
     ["--out 'models' (that is '{models}') holds the input --model '{model}'"]),
    ("seismic-dask-out-dot", "seismic explain why.sgy --all --workers 2 --out .", ["holds the input survey"]),
    ("seismic-out-an-existing-file", "seismic explain why.sgy --out notes.txt", ["is a file, not a folder"]),
    ("seismic-out-inside-the-survey", "seismic explain why.sgy --out why.sgy/maps",
     ["lies under '{tmp}/why.sgy', which is not a folder"]),
    ("synth-out-a-folder", "seismic synth ex", ["OUT 'ex' is a folder; give OUT the path of a file"]),
    ("synth-out-inside-a-file", "seismic synth why.sgy/new.sgy", ["OUT 'why.sgy/new.sgy' lies under"]),
    ("synth-labels-a-folder", "seismic synth data.sgy", ["the labels file 'data.labels.h5' is a folder"]),
    ("seismic-train-out-a-folder", "seismic train --out ex", ["--out 'ex' is a folder; give --out the path of a file"]),
    ("seismic-train-out-inside-a-file", "seismic train --out model.pt/new.pt", ["lies under '{tmp}/model.pt'"]),
    # rather iqa
    ("iqa-out-dot", f"{IQA} --out .", ["--out '.' holds the input distorted image 'a.png'", HOLDS]),
    ("iqa-out-is-the-reference", f"{IQA} --out b.png", ["--out 'b.png' is the input reference image 'b.png'"]),
    ("iqa-out-holds-the-model", f"{IQA} --weights ex/model.pt --out lnk", ["holds the input --weights 'ex/model.pt'"]),
    ("iqa-out-above-the-distorted", "iqa explain deep/er/a.png b.png --rather-than 0.5 --out deep",
     ["--out 'deep' holds the input distorted image 'deep/er/a.png'"]),
    ("iqa-train-out-a-folder", "iqa train --out deep", ["--out 'deep' is a folder"]),
    # rather recognition
    ("audit-out-is-the-data", "recognition audit --format cub200 --data data --out data",
     ["--out 'data' is the input --data 'data'", IS_INPUT]),
    ("audit-out-above-the-data", "recognition audit --format cub200 --data data/cats --out data",
     ["--out 'data' holds the input --data 'data/cats'"]),
    ("audit-out-holds-the-weights", "recognition audit --format synthetic --weights ex/model.pt --layer x --out lnk",
     ["holds the input --weights 'ex/model.pt'"]),
    ("audit-out-an-existing-file", "recognition audit --format synthetic --out notes.txt", ["is a file, not a folder"]),
    ("recognition-train-out-a-folder", "recognition train --out data", ["--out 'data' is a folder"]),
    # rather suite and rather demo
    ("suite-seismic-out-dot", "suite seismic --data why.sgy --out .", ["--out '.' holds the input --data 'why.sgy'"]),
    ("suite-seismic-out-is-the-labels", "suite seismic --data why.sgy --out why.labels.h5",
     ["--out 'why.labels.h5' is the input --data 'why.labels.h5'"]),
    ("suite-iqa-out-holds-the-reference", "suite iqa --data a.png,deep/er/a.png --out deep/er",
     ["--out 'deep/er' holds the input --data 'deep/er/a.png'"]),
    ("suite-recognition-out-is-the-data", "suite recognition --data cub200:data --out data",
     ["--out 'data' is the input --data 'data'"]),
    ("suite-out-holds-the-model", "suite iqa --model ex/model.pt --out ex", ["holds the input --model 'ex/model.pt'"]),
    ("suite-out-holds-the-default-model", "suite seismic --out models",
     ["--out 'models' (that is '{models}') holds the input --model"]),
    ("demo-out-holds-a-committed-model", "demo --out models",
     ["--out 'models' (that is '{models}') holds the input a committed model '{model}'"]),
    ("demo-out-an-existing-file", "demo --out notes.txt", ["--out 'notes.txt' is a file, not a folder"]),
]


@pytest.mark.parametrize("argv, says", [case[1:] for case in OUTPUT_ON_INPUT], ids=[case[0] for case in OUTPUT_ON_INPUT])
def test_an_output_on_an_input_is_refused_before_any_work(argv, says, inputs, refuse, committed_models_unchanged):
    if "data.sgy" in argv:
        Path("data.labels.h5").mkdir()
    values = {"tmp": inputs, "models": seismic.DEFAULT_CHECKPOINT.parent, "model": seismic.DEFAULT_CHECKPOINT}
    refuse(argv.split(), says=tuple(fragment.format(**values) for fragment in says))


WRITERS = [
    f"{EXPLAIN} --out OUT",
    "seismic explain why.sgy --out OUT",
    "seismic explain why.sgy --all --workers 2 --out OUT",
    "seismic synth OUT",
    "seismic train --out OUT",
    f"{IQA} --out OUT",
    "iqa train --out OUT",
    "recognition audit --format synthetic --out OUT",
    "recognition train --out OUT",
    "suite seismic --out OUT",
    "suite iqa --out OUT",
    "suite recognition --out OUT",
    "demo --out OUT",
]


@pytest.mark.parametrize("argv", WRITERS, ids=[" ".join(argv.split()[:2]) + (" dask" if "workers" in argv else "")
                                               for argv in WRITERS])
@pytest.mark.parametrize("spelling", ["ex/out", "lnk/out"])
def test_an_output_another_run_is_writing_is_refused(argv, spelling, inputs, refuse):
    with claimed("ex/out"):
        name = "OUT" if argv.startswith("seismic synth") else "--out"
        refuse(argv.replace("OUT", spelling).split(),
               says=f"{name} '{spelling}' is being written by another rather run (it holds '{inputs}/ex/.out.lock')")


# -- stopped mid-write --------------------------------------------------------------------------------

@pytest.fixture
def small_model(tmp_path):
    """A three-class SmallCNN checkpoint and a picture for ``rather explain`` (in tmp_path, the working folder)."""
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "model.pt", SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4}, {"class_names": ["a", "b", "c"],
                                                     "preprocess": {"size": [32, 32], "channels": 3}})
    io.imsave(tmp_path / "bug.png", np.random.default_rng(0).integers(0, 256, (40, 48, 3), dtype=np.uint8),
              check_contrast=False)
    return ["explain", "--weights", "model.pt", "--layer", "features", "--image", "bug.png", "--out", "out/new"]


def stop_while_writing(monkeypatch, target: str, stop: BaseException, after: int = 0):
    """Make ``target`` (module.function) raise ``stop`` on its call number ``after`` (counting from 0)."""
    owner, _, name = target.rpartition(".")
    module = importlib.import_module(owner)
    original = getattr(module, name)
    calls = []

    def stopping(*args, **kwargs):
        calls.append(name)
        if len(calls) > after:
            raise stop
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, stopping)
    return calls


def test_an_interrupted_explain_leaves_no_output(inputs, small_model, monkeypatch, refuse):
    """KeyboardInterrupt while the figure is drawn: explanations.h5 is already staged, and goes."""
    calls = stop_while_writing(monkeypatch, "rather.common.figures.plot_explanation", KeyboardInterrupt())
    refuse(small_model, says="rather explain: interrupted", status=130)
    assert calls == ["plot_explanation"]


def files_in(folder: Path) -> dict[str, bytes | None]:
    """Every path under ``folder`` with its bytes (None for a folder or link)."""
    return {str(path.relative_to(folder)): None if path.is_dir() or path.is_symlink() else path.read_bytes()
            for path in folder.rglob("*")}


def test_sys_exit_mid_write_leaves_no_output(inputs, small_model, monkeypatch, run_cli):
    before = files_in(inputs)
    calls = stop_while_writing(monkeypatch, "rather.common.figures.plot_explanation", SystemExit(3))
    with pytest.raises(SystemExit):
        run_cli(small_model)
    assert calls == ["plot_explanation"] and files_in(inputs) == before


def test_a_factory_calling_sys_exit_is_reported_and_leaves_no_output(inputs, small_model, monkeypatch, refuse):
    """A user factory's sys.exit(3) is a failed model (one line, exit 2), not obeyed."""
    Path("exiting_factory.py").write_text("import sys\n\n\ndef build(**kwargs):\n    sys.exit(3)\n")
    monkeypatch.syspath_prepend(inputs)
    try:
        refuse(["explain", "--model", "exiting_factory:build", *small_model[1:]], says=("exiting_factory:build", "exit"))
    finally:
        sys.modules.pop("exiting_factory", None)


@pytest.mark.slow
def test_an_interrupted_seismic_explain_leaves_no_output(inputs, monkeypatch, refuse):
    """KeyboardInterrupt on the second inline, with the attribute volumes and the HDF5 store half written."""
    write_survey(make_survey(3, SurveyParameters(inlines=3, crosslines=60, samples=60)), "survey.sgy")
    calls = stop_while_writing(monkeypatch, "rather.seismic.survey_explanation.explain_line", KeyboardInterrupt(), after=1)
    refuse(["seismic", "explain", "survey.sgy", "--all", "--stride", "20", "--out", "out"],
           says="rather seismic: interrupted", status=130)
    assert len(calls) == 2


# -- other processes: killed mid-write, writing at the same time ---------------------------------------

def explain_all(out: str) -> list[str]:
    return ["seismic", "explain", "survey.sgy", "--all", "--stride", "20", "--out", out]


def start_run(argv: list[str]) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "rather.suites.cli", *argv], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for_staged_figures(run: subprocess.Popen, count: int, limit: float = 120) -> None:
    """Until ``count`` figures are staged beside ``out`` (the run is mid-write)."""
    started = time.monotonic()
    while len(list(Path().glob(".out.*.staging/figure_*.png"))) < count:
        assert run.poll() is None, f"the run ended before writing {count} figures: {run.stderr.read()}"
        assert time.monotonic() - started < limit
        time.sleep(0.05)


@pytest.fixture
def survey(inputs):
    """A synthetic survey of 12 inlines in the working folder (about a second each), and every input's bytes."""
    write_survey(make_survey(5, SurveyParameters(inlines=12, crosslines=60, samples=60)), "survey.sgy")
    return files_in(inputs)


@pytest.mark.slow
@pytest.mark.parametrize("stop", ["SIGTERM", "SIGHUP"])
def test_a_run_stopped_by_a_signal_ends_like_ctrl_c(survey, inputs, stop):
    """What `timeout`, batch schedulers and container stops send: exit 128 + N, one line, no output, no stage."""
    run = start_run(explain_all("out"))
    try:
        wait_for_staged_figures(run, 2)
    finally:
        run.send_signal(getattr(signal, stop))
        _, err = run.communicate(timeout=60)
    assert run.returncode == 128 + getattr(signal, stop) and err.strip() == f"rather seismic: stopped by {stop}"
    left = files_in(inputs)
    assert {name: left[name] for name in survey} == survey and set(left) == set(survey)


@pytest.mark.slow
def test_a_run_killed_mid_write_leaves_no_output_and_the_next_run_completes(survey, inputs, run_cli):
    run = start_run(explain_all("out"))
    try:
        wait_for_staged_figures(run, 2)
    finally:
        run.send_signal(signal.SIGKILL)
        run.wait()
    assert not Path("out").exists()
    left = files_in(inputs)
    assert {name: left[name] for name in survey} == survey  # every input byte-identical
    assert all(name.startswith(".out.") for name in set(left) - set(survey))  # the stage and the lock, beside
    outcome = run_cli(explain_all("out"))
    assert outcome.status == 0, outcome.err
    assert set(files_in(inputs)) - set(survey) == {"out", *(f"out/{p.name}" for p in Path("out").iterdir())}
    assert len(list(Path("out").glob("figure_inline_*.png"))) == 12


@pytest.mark.slow
def test_a_second_run_into_the_same_out_is_refused_and_the_first_completes(survey, inputs, run_cli):
    first = start_run(explain_all("out"))
    try:
        wait_for_staged_figures(first, 1)
        second = run_cli(explain_all("out"))
        assert first.poll() is None, "the first run ended before the second was tried"
    finally:
        first.wait(timeout=300)
    assert first.returncode == 0, first.stderr.read()
    assert second.status == 2 and "Traceback" not in second.err
    assert second.err.strip().splitlines() == [
        "rather seismic: error: --out 'out' is being written by another rather run "
        f"(it holds '{inputs}/.out.lock'); wait for that run to end, or choose another --out"]
    assert set(files_in(inputs)) - set(survey) == {"out", *(f"out/{p.name}" for p in Path("out").iterdir())}
    assert len(list(Path("out").glob("figure_inline_*.png"))) == 12
    assert {name: files_in(inputs)[name] for name in survey} == survey
