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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import pytest
from matplotlib.figure import Figure

from rather.common import BadInput, figures, storage
from rather.common.summaries import write_json
from rather.suites import manifests
from rather.suites.cli import Stopped, refusal

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
    refuse(small_model, says=("rather explain: error: no space left on /", "out/new/figure.png (the disk filled "
                              "after 12 bytes); free space there"))


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
     "writing disk/a/b/figure.png"),
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
                        "rather.seismic.attributes.write_attributes", True),
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
