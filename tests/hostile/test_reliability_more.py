"""Hostile conditions, second part (issue 21): a full disk, data check on things that are not files,
failed runs and the folders they made, library messages, a closed stdout, bad arguments.

Each ends in one line on stderr and leaves the case's folder as it was: no partial output,
no staging, no new parent folder.
"""
from __future__ import annotations

import errno
import importlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tracemalloc
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from rather.common import BadInput, figures, save_checkpoint, storage
from rather.common.networks import SmallCNN
from rather.common.summaries import write_json
from rather.suites import data_cmd, manifests
from rather.suites.cli import Stopped, main, refusal

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

from .conftest import snapshot
from .test_paths import inputs, small_model  # noqa: F401 (fixtures: placeholder inputs, a model and a picture)

ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


# -- a full disk ---------------------------------------------------------------------------------------

def fill_after(monkeypatch, allowed: int) -> None:
    """The disk under every HDF5 output holds ``allowed`` bytes; the next write finds no room (ENOSPC)."""
    written = []
    original = storage._SpaceWatch._write_through

    def write(self, view):
        if sum(written) + len(view) > allowed:
            raise ENOSPC
        written.append(len(view))
        return original(self, view)

    monkeypatch.setattr(storage._SpaceWatch, "_write_through", write)


@pytest.mark.parametrize("allowed", [0, 2000, 9000], ids=["at-once", "after-2-kB", "after-9-kB"])
def test_a_disk_full_while_writing_explanations_h5_is_one_line(allowed, inputs, small_model, monkeypatch,
                                                               refuse):
    fill_after(monkeypatch, allowed)
    line = refuse(small_model, says=("rather explain: error: no space left on /", "out/new/explanations.h5: ",
                                     "bytes needed", "free space there or write the output elsewhere"))
    needed = int(line.split("explanations.h5: ")[1].split(" bytes")[0])
    assert needed > max(allowed, 4000)  # the whole store: maps, raw maps and outputs of one picture


def test_a_disk_full_while_drawing_the_figure_is_one_line(inputs, small_model, monkeypatch, refuse):
    def full(self, path, **kwargs):
        Path(path).write_bytes(b"\x89PNG partial")
        raise ENOSPC

    monkeypatch.setattr(Figure, "savefig", full)
    refuse(small_model, says=("rather explain: error: no space left on /", "out/new/figures/000_bug.png (the disk "
                              "filled after 12 bytes); free space there"))


def test_a_synthetic_survey_larger_than_the_free_space_is_refused_before_it_is_made(inputs, monkeypatch, refuse):
    monkeypatch.setattr(storage, "free_space", lambda path: 50_000)
    refuse("seismic synth new/s.sgy --inlines 3 --crosslines 60 --samples 60".split(),
           says="writing new/s.sgy: 90000 bytes needed, 50000 free")


def test_a_summary_larger_than_the_free_space_is_refused_before_it_is_written(tmp_path, monkeypatch):
    monkeypatch.setattr(storage, "free_space", lambda path: 10)
    with pytest.raises(BadInput, match=r"writing .*/summary.json: 27 bytes needed, 10 free"):
        write_json(tmp_path / "summary.json", {"command": "explain"})
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("filename, shown", [
    ("/data/.out.ab12cd34.staging/figure_inline_3.png", "/data/out/figure_inline_3.png"),
    ("/data/.summary.json.x_y1z2w3.tmp", "/data/summary.json"),
    (None, "the device an output was written to"),
], ids=["in-a-stage", "a-temporary", "no-file-named"])
def test_a_full_disk_met_outside_rathers_writers_is_one_line(filename, shown):
    """An ENOSPC that no atomic writer caught (a copy into the stage): exit 2, the output named as the user knows it."""
    line, status = refusal(OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), filename))
    assert status == 2 and line.startswith("error: no space left on ") and shown in line and "\n" not in line


# a real full disk: a tmpfs of a few kB (root only), every command run in its own process

@pytest.fixture
def small_disk(inputs):
    """``small_disk(size)``: an empty tmpfs of ``size`` mounted at ./disk; unmounted after the test."""
    mounted = []

    def mount(size: str) -> Path:
        folder = inputs / "disk"
        folder.mkdir()
        made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)],
                              capture_output=True)
        if made.returncode:
            folder.rmdir()
            pytest.skip("cannot mount a tmpfs here (it needs root)")
        mounted.append(folder)
        return folder

    yield mount
    for folder in mounted:
        subprocess.run(["umount", str(folder)], check=True)


def run_apart(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "rather.suites.cli", *argv], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.slow
@pytest.mark.parametrize("size, argv, says", [
    ("8k", "explain --weights model.pt --layer features --image bug.png --out disk/a/b",
     "writing disk/a/b/explanations.h5: "),
    ("20k", "explain --weights model.pt --layer features --image bug.png --out disk/a/b",
     "writing disk/a/b/figures/000_bug.png"),
    ("8k", "seismic synth disk/a/s.sgy --inlines 3 --crosslines 60 --samples 60",
     "writing disk/a/s.sgy: 90000 bytes needed, 8192 free"),
    ("100k", "seismic synth disk/a/s.sgy --inlines 3 --crosslines 60 --samples 60",
     "writing disk/a/s.labels.h5: "),
    ("100k", "seismic explain s.sgy --all --stride 20 --out disk/a/b", "writing disk/a/b: 450000 bytes needed"),
    ("600k", "seismic explain s.sgy --all --stride 20 --out disk/a/b", "writing disk/a/b/"),
], ids=["explain-h5", "explain-figure", "synth-segy", "synth-labels", "seismic-explain-volumes",
        "seismic-explain-midway"])
def test_a_real_full_disk_ends_in_one_line_and_leaves_it_empty(size, argv, says, inputs, small_model, small_disk):
    """The issue's case: a full tmpfs made the HDF5 library crash (exit 139) after 22 lines of tracebacks."""
    if argv.startswith("seismic explain"):
        assert run_apart("seismic synth s.sgy --inlines 3 --crosslines 60 --samples 60".split()).returncode == 0
    disk = small_disk(size)
    before = snapshot(inputs)
    run = run_apart(argv.split())
    lines = run.stderr.strip().splitlines()
    assert run.returncode == 2 and len(lines) == 1, run.stderr
    assert lines[0].startswith("rather seismic: error: no space left on " if "seismic" in argv else
                               "rather explain: error: no space left on ")
    assert says in lines[0]
    assert list(disk.iterdir()) == [] and snapshot(inputs) == before  # no stage, no lock, no new folder


# -- data check: only regular files, bounded reads --------------------------------------------------------

MANIFEST = {"name": "Tiny", "title": "a tiny data set", "task": "test", "domain": "iqa", "summary": "two files",
            "root": "tiny/", "conventions": {}, "checksums": {}, "citation": "", "licence": "", "obtain": {"url": ""},
            "layouts": [{"name": "flat", "expect": [{"path": "index.txt", "lines": 2, "what": "the index"},
                                                    {"path": "data.bin", "sha256": "00" * 32}]}]}


@pytest.fixture
def never_hangs():
    """The test fails (TimeoutError) instead of hanging when the command blocks for 20 s."""
    def expire(signum, frame):
        raise TimeoutError("the command blocked for 20 s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def tiny(tmp_path, monkeypatch):
    """The working folder with ``tiny.json`` (a manifest) and ``copy/`` (a valid copy of it but for its checksum)."""
    monkeypatch.chdir(tmp_path)
    Path("tiny.json").write_text(json.dumps(MANIFEST))
    Path("copy").mkdir()
    Path("copy/index.txt").write_text("a 1\nb 2\n")
    Path("copy/data.bin").write_bytes(b"\0" * 10)
    return tmp_path


@contextmanager
def bounded_memory(limit: int) -> Iterator[None]:
    """Fail unless the block holds less than ``limit`` bytes of Python memory at once."""
    tracemalloc.start()
    try:
        yield
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < limit, f"{peak} bytes held at once"


def replace_with(path: str, kind: str) -> None:
    """Put something that is not a regular file at ``path``."""
    Path(path).unlink(missing_ok=True)
    if kind == "pipe":
        os.mkfifo(path)
    elif kind == "folder":
        Path(path).mkdir()
    elif kind == "broken-link":
        Path(path).symlink_to("nowhere")
    else:  # a device
        Path(path).symlink_to(f"/dev/{kind}")


NOT_FILES = {"pipe": "a named pipe", "folder": "a folder", "zero": "a character device", "null": "a character device",
             "broken-link": "a broken link"}


@pytest.mark.parametrize("kind", NOT_FILES, ids=[f"manifest-{kind}" for kind in NOT_FILES])
def test_a_manifest_that_is_not_a_file_is_refused_without_reading_it(kind, tiny, refuse, never_hangs):
    replace_with("tiny.json", kind)
    refuse(["data", "check", "tiny.json", "copy"],
           says=f"rather data: error: manifest file tiny.json: is {NOT_FILES[kind]}; pass a manifest .json file")


def test_a_huge_manifest_without_line_breaks_is_refused_after_a_bounded_read(tiny, refuse):
    with open("tiny.json", "wb") as handle:
        handle.truncate(64 * 2 ** 20)  # 64 MiB of zero bytes, sparse: nothing on disk
    with bounded_memory(4 * 2 ** 20):
        refuse(["data", "check", "tiny.json", "copy"],
               says="manifest file tiny.json: larger than 1048576 bytes, too large for a manifest")


@pytest.mark.parametrize("kind", ["pipe", "zero", "broken-link"], ids=["copy-a-pipe", "copy-a-device",
                                                                       "copy-a-broken-link"])
def test_a_copy_path_that_is_not_a_folder_is_refused(kind, tiny, refuse, never_hangs):
    shutil.rmtree("copy")
    replace_with("copy", kind)
    says = "does not exist" if kind == "broken-link" else f"copy: is {NOT_FILES[kind]}, not a folder"
    refuse(["data", "check", "tiny.json", "copy"], says=says)


@pytest.mark.parametrize("name, kind", [(name, kind) for name in ("index.txt", "data.bin") for kind in NOT_FILES],
                         ids=[f"{name}-{kind}" for name in ("index", "data") for kind in NOT_FILES])
def test_a_file_of_the_copy_that_is_not_a_file_is_a_problem_not_a_hang(name, kind, tiny, run_cli, never_hangs):
    replace_with(f"copy/{name}", kind)
    outcome = run_cli(["data", "check", "tiny.json", "copy"])
    what = " (the index)" if name == "index.txt" else ""
    assert outcome.status == 1 and outcome.err == ""
    assert f"not a file: {name} is {NOT_FILES[kind]}{what}" in outcome.out.splitlines()


def test_an_index_without_line_breaks_is_counted_in_bounded_memory(tiny, run_cli):
    with open("copy/index.txt", "wb") as handle:
        handle.truncate(64 * 2 ** 20)  # one "line" of 64 MiB of zero bytes (sparse)
    with bounded_memory(4 * 2 ** 20):
        outcome = run_cli(["data", "check", "tiny.json", "copy"])
    assert outcome.status == 1 and "wrong length: index.txt has 1 lines, expected 2 (the index)" in outcome.out


@pytest.mark.parametrize("content, lines", [(b"", 0), (b"a", 1), (b"a\n", 1), (b"\n\n \t\n", 0), (b"a\r\n\r\nb", 2),
                                            (b" \n" * 5 + b"x", 1), (b"x" * (2 ** 20 - 1) + b"\ny\n", 2),
                                            (b" " * 2 ** 20 + b"y", 1), (b"y" + b" " * 2 ** 20 + b"\n", 1)],
                         ids=["empty", "no-break", "one", "blank", "crlf", "last-unended", "break-at-block-end",
                              "blank-block-then-text", "text-then-blank-block"])
def test_non_blank_lines_are_counted_across_blocks(content, lines, tmp_path):
    (tmp_path / "index.txt").write_bytes(content)
    assert manifests._non_blank_lines(tmp_path / "index.txt") == lines


# -- a failed run leaves no new parent folder -------------------------------------------------------------

def fail_at(monkeypatch, target: str) -> None:
    """Make ``target`` (module.name or module.Class.method) raise BadInput: a run that fails midway."""
    owner, _, name = target.rpartition(".")
    try:
        holder = importlib.import_module(owner)
    except ModuleNotFoundError:
        module, _, cls = owner.rpartition(".")
        holder = getattr(importlib.import_module(module), cls)

    def fail(*args, **kwargs):
        raise BadInput(f"injected failure in {name}")

    monkeypatch.setattr(holder, name, fail)


FAILING_RUNS = {  # argv (OUT: an output under three new folders), what fails, a real survey first
    "explain": ("explain --weights model.pt --layer features --image bug.png --out OUT",
                "rather.common.figures.plot_explanation", False),
    "explain-store": ("explain --weights model.pt --layer features --image bug.png --out OUT",
                      "rather.common.results.ExplanationResult.save", False),
    "seismic-synth": ("seismic synth OUT/s.sgy --inlines 3 --crosslines 60 --samples 60",
                      "rather.seismic.synthetic._write_labels", False),
    "seismic-explain": ("seismic explain s.sgy --all --stride 20 --out OUT",
                        "rather.seismic.survey_explanation.write_attributes", True),
    "seismic-train": ("seismic train --out OUT/m.pt", "rather.seismic.classifier.train_checkpoint", False),
    "iqa-train": ("iqa train --out OUT/m.pt", "rather.iqa.quality_model.train_checkpoint", False),
    "iqa-explain": ("iqa explain a.png b.png --rather-than 0.5 --out OUT", "rather.iqa.explanations.explain_pair",
                    False),
    "recognition-train": ("recognition train --out OUT/m.pt", "rather.recognition.classifier.train", False),
    "recognition-audit": ("recognition audit --format synthetic --out OUT", "rather.recognition.pipeline.audit",
                          False),
    "suite": ("suite seismic --out OUT", "rather.suites.suite_cmd.suite", False),
    "demo": ("demo --out OUT", "rather.suites.suite_cmd.suite", False),
}


@pytest.mark.parametrize("argv, target, survey", FAILING_RUNS.values(), ids=FAILING_RUNS.keys())
def test_a_failed_run_removes_the_folders_it_made(argv, target, survey, inputs, small_model, monkeypatch, refuse):
    """``--out new/a/b`` of a run that fails after its outputs were claimed: new/ is gone again."""
    if survey:
        write_survey(make_survey(3, SurveyParameters(inlines=3, crosslines=60, samples=60)), "s.sgy")
    fail_at(monkeypatch, target)
    refuse(argv.replace("OUT", "new/a/b").split(), says=f"error: injected failure in {target.rpartition('.')[2]}")


@pytest.mark.parametrize("stop, status, says", [(KeyboardInterrupt(), 130, "rather explain: interrupted"),
                                                (Stopped(signal.SIGTERM), 143, "rather explain: stopped by SIGTERM")],
                         ids=["ctrl-c", "sigterm"])
def test_a_stopped_run_removes_the_folders_it_made(stop, status, says, inputs, small_model, monkeypatch, refuse):
    def stopping(*args, **kwargs):
        raise stop

    monkeypatch.setattr(figures, "plot_explanation", stopping)
    refuse([*small_model[:-1], "new/a/b"], says=says, status=status)


# -- messages: library warnings and errors in rather's words ----------------------------------------------

def complex_cast():
    np.array([1j]).astype(float)


def overflow():
    np.array([1e39]).astype(np.float32)


def division_by_zero():
    np.array([1.0]) / 0


def invalid_value():
    np.array([0.0]) / 0


def pillow_guard(folder: Path):
    Image.fromarray(np.zeros((40, 48), dtype=np.uint8)).save(folder / "grey.png")
    Image.MAX_IMAGE_PIXELS = 1000  # restored by the test's monkeypatch
    Image.open(folder / "grey.png").close()


def dask_port():
    warnings.warn("Port 8787 is already in use.\nPerhaps you already have a cluster running?\n"
                  "Hosting the HTTP server on port 40123 instead")  # distributed's text, as node.py writes it


def unknown_library_warning():
    warnings.warn("first line of a library's warning\n  and its second line", UserWarning)


WARNED = {
    "numpy-complex": (complex_cast, "complex numbers were made real, their imaginary parts dropped; give real "
                                    "numbers"),
    "numpy-overflow": (overflow, "a number too large for its type became infinite (in a cast); check that the "
                                 "inputs' values are in range"),
    "numpy-divide": (division_by_zero, "a division by zero gave an infinite value (in a divide); check for constant "
                                       "or empty inputs"),
    "numpy-invalid": (invalid_value, "a computation gave NaN, not a number (in a divide); check for constant, empty "
                                     "or NaN inputs"),
    "pillow-bomb": (pillow_guard, "an image of 1920 pixels was decoded, more than Pillow's guard of 1000 pixels "
                                  "expects; rather's own limit (RATHER_MAX_PIXELS) allowed it"),
    "dask-port": (dask_port, "Dask's dashboard port 8787 was in use, so the dashboard ran on port 40123"),
    "unknown": (unknown_library_warning, "first line of a library's warning"),
}


@pytest.mark.parametrize("cause, note", WARNED.values(), ids=WARNED.keys())
def test_a_library_warning_is_one_note_in_rathers_words(cause, note, tmp_path, monkeypatch, run_cli):
    """Each warning is raised by the library itself (but Dask's, whose text is used) during a run that succeeds."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", Image.MAX_IMAGE_PIXELS)
    listed = data_cmd.all_manifests

    def listing():
        cause(tmp_path) if cause is pillow_guard else cause()
        return listed()

    monkeypatch.setattr(data_cmd, "all_manifests", listing)
    outcome = run_cli(["data", "list"])
    assert outcome.status == 0 and outcome.err.splitlines() == [f"rather data: note: {note}"]


def test_reading_an_image_over_pillows_own_guard_gives_no_note(inputs, small_model, monkeypatch, run_cli):
    """rather reads with Pillow's guard off (its own limit checked first): no warning to rephrase at all."""
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)  # the 40 x 48 picture is over it, under twice it
    outcome = run_cli(small_model)
    assert outcome.status == 0 and outcome.err == "", outcome.err


@pytest.mark.parametrize("shape, channels", [((40, 48), 1), ((40, 48, 2), 1), ((5, 40, 48), 5)],
                         ids=["grey", "grey-and-alpha", "five-channels"])
def test_a_channel_count_the_model_cannot_take_is_named(shape, channels, inputs, small_model, refuse):
    """A checkpoint without preprocess.channels: torch's convolution message, said with channels named."""
    torch.manual_seed(0)
    save_checkpoint("free.pt", SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4}, {"class_names": ["a", "b", "c"], "preprocess": {"size": [32, 32]}})
    np.save("odd.npy", np.random.default_rng(0).random(shape, dtype=np.float32))
    refuse(["explain", "--weights", "free.pt", "--layer", "features", "--image", "odd.npy", "--out", "out"],
           says=(f"the model cannot run on an input of shape (1, {channels}, 32, 32): its first layer takes 3 channels "
                 f"but the input has {channels}; give an input of 3 channels, or record preprocess.channels = 3"))


@pytest.mark.parametrize("body, says", [
    ("def build(**kwargs):\n    sys.exit(0)\n", "failed: SystemExit: 0"),
    ("def build(**kwargs):\n    sys.exit()\n", "failed: SystemExit"),
    ("def build(**kwargs):\n    sys.exit('bye')\n", "failed: SystemExit: bye"),
    ("def build(**kwargs):\n    raise SystemExit(5)\n", "failed: SystemExit: 5"),
    ("sys.exit(0)\n\n\ndef build(**kwargs):\n    pass\n", "importing 'quitting' for model 'quitting:build' failed"),
], ids=["exit-0", "exit-none", "exit-text", "raise-systemexit", "exit-on-import"])
def test_a_factory_that_exits_is_reported_not_obeyed(body, says, inputs, small_model, monkeypatch, refuse):
    Path("quitting.py").write_text(f"import sys\n\n\n{body}")
    monkeypatch.syspath_prepend(inputs)
    try:
        refuse(["explain", "--model", "quitting:build", *small_model[1:]], says=("quitting", says))
    finally:
        sys.modules.pop("quitting", None)


# -- the command line: a closed output, usage errors, characters a terminal would act on --------------------

def test_a_closed_stdout_ends_quietly(tmp_path, monkeypatch, capsys):
    """``rather data list | head -0``: the reader is gone before the first write; status 141, nothing on stderr."""
    reader, writer = os.pipe()
    os.close(reader)
    monkeypatch.setattr(sys, "stdout", open(writer, "w"))
    try:
        assert main(["data", "list"]) == 141
    finally:
        sys.stdout.close()
    assert capsys.readouterr().err == ""


@pytest.mark.slow
@pytest.mark.parametrize("argv, status", [(["data", "list"], 141), (["seismic", "info", "s.sgy"], 141),
                                          (["--help"], 0)], ids=["data-list", "seismic-info", "help"])
def test_a_command_whose_reader_went_away_ends_quietly(argv, status, tmp_path):
    """The issue's case, in a process of its own: the pipe's reader closes before the command writes (argparse
    drops its help quietly itself, and exits 0)."""
    write_survey(make_survey(3, SurveyParameters(inlines=3, crosslines=60, samples=60)), tmp_path / "s.sgy")
    run = subprocess.Popen([sys.executable, "-m", "rather.suites.cli", *argv], cwd=tmp_path, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
    run.stdout.close()
    err = run.stderr.read()
    assert run.wait(timeout=120) == status and err == b""


@pytest.mark.parametrize("argv, says", [
    ("bench core --repeats \u00b2", "argument --repeats: expected a whole number from 1 to 100, got '\\xb2'"),
    ("iqa explain a.png b.png --rather-than 0.5 --stride \u00bd --out o",
     "argument --stride: invalid int value: '\\xbd'"),
    ("explain --weights model.pt --image a.png --out o --s\u00efze 3", "unrecognized arguments: --s\\xefze 3"),
    ("explain --weights model.pt --image a.png --out o --method \x1b[2J", "invalid choice: '\\x1b[2J'"),
    ("seismic info a.sgy --iline \u202e981", "argument --iline: invalid int value: '\\u202e981'"),
    ("data", "the following arguments are required: data_command"),
], ids=["superscript", "vulgar-fraction", "accented-option", "terminal-escape", "right-to-left-mark", "missing"])
def test_a_usage_error_returns_2_with_the_argument_escaped(argv, says, placeholders_here, refuse):
    line = refuse(argv.split(" "), says=says)
    assert line.isascii() and line.isprintable()


@pytest.fixture
def placeholders_here(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("model.pt", "a.png", "b.png", "a.sgy"):
        Path(name).write_bytes(b"placeholder")


@pytest.mark.parametrize("argv", [["--help"], ["--version"], ["seismic", "explain", "--help"]],
                         ids=["help", "version", "sub-command-help"])
def test_help_and_version_return_0(argv, capsys):
    assert main(argv) == 0
    assert capsys.readouterr().out


@pytest.mark.parametrize("name", ["\x1b[31mred.sgy", "\x9b2Jcsi.sgy", "bell\a.sgy", "tab\there.sgy", "del\x7f.sgy"],
                         ids=["colour-escape", "c1-control", "bell", "tab", "delete"])
def test_a_file_name_a_terminal_would_act_on_is_shown_escaped(name, placeholders_here, refuse):
    line = refuse(["seismic", "info", name], says=ascii(name)[1:-1])
    assert line.isprintable()
