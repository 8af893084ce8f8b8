"""Hostile output folders: an existing ``--out`` that rather did not write is refused before any work.

A command replaces its output folder as a whole (``rather.common.storage.staged_folder``),
so it may only replace an empty folder or one a rather command wrote, which carries a
``summary.json`` naming its ``"command"``. Anything else (a user's files, a look-alike
summary) is refused in one line before any input is read, so the inputs here can be
placeholders, and the folder is left exactly as it was.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

COMMANDS = {
    "explain": "explain --weights model.pt --image a.png --out OUT",
    "seismic-explain": "seismic explain why.sgy --out OUT",
    "seismic-explain-dask": "seismic explain why.sgy --all --workers 2 --out OUT",
    "iqa-explain": "iqa explain a.png b.png --rather-than 0.5 --out OUT",
    "recognition-audit": "recognition audit --format synthetic --out OUT",
    "suite-seismic": "suite seismic --out OUT",
    "suite-iqa": "suite iqa --out OUT",
    "suite-recognition": "suite recognition --out OUT",
    "demo": "demo --out OUT",
}


def summary(content: str):
    def make(folder: Path) -> None:
        (folder / "summary.json").write_text(content)
    return make


FOREIGN = {
    "a-file": lambda folder: (folder / "notes.txt").write_text("mine"),
    "a-hidden-file": lambda folder: (folder / ".config").write_text("mine"),
    "an-empty-subfolder": lambda folder: (folder / "drafts").mkdir(),
    "a-broken-link": lambda folder: (folder / "old").symlink_to("nowhere"),
    "summary-without-command": summary('{"version": "0.1.0", "suites": {}}'),
    "summary-command-not-text": summary('{"command": ["explain"]}'),
    "summary-a-list": summary('[{"command": "explain"}]'),
    "summary-not-json": summary("command: explain\n"),
    "summary-cut-short": summary('{"command": "explain", "images": ['),
    "summary-empty": summary(""),
    "summary-a-folder": lambda folder: (folder / "summary.json").mkdir(),
    "summary-a-link-to-a-rather-summary": lambda folder: (folder / "summary.json").symlink_to(folder.parent /
                                                                                             "real-summary.json"),
}


@pytest.fixture
def placeholders(tmp_path, monkeypatch):
    """The working folder ``tmp_path`` with placeholder inputs and a real rather summary beside them."""
    monkeypatch.chdir(tmp_path)
    for name in ("model.pt", "a.png", "b.png", "why.sgy"):
        Path(name).write_bytes(f"placeholder {name}".encode())
    Path("real-summary.json").write_text(json.dumps({"command": "explain"}))
    return tmp_path


@pytest.mark.parametrize("contents", FOREIGN.values(), ids=FOREIGN.keys())
@pytest.mark.parametrize("argv", COMMANDS.values(), ids=COMMANDS.keys())
def test_an_out_folder_rather_did_not_write_is_refused(argv, contents, placeholders, refuse):
    Path("mine").mkdir()
    contents(Path("mine").absolute())
    refuse(argv.replace("OUT", "mine").split(),
           says="--out 'mine' holds files that rather did not write (it has no summary.json of a rather command); "
                "rather replaces --out as a whole: give a new or empty folder")


@pytest.mark.parametrize("argv", ["explain --weights model.pt --image a.png --out OUT", "demo --out OUT"],
                         ids=["explain", "demo"])
def test_a_link_to_a_folder_rather_did_not_write_is_refused(argv, placeholders, refuse):
    Path("elsewhere").mkdir()
    Path("elsewhere/thesis.tex").write_text("mine")
    Path("lnk").symlink_to("elsewhere")
    refuse(argv.replace("OUT", "lnk").split(),
           says=f"--out 'lnk' (that is '{placeholders}/elsewhere') holds files that rather did not write")
