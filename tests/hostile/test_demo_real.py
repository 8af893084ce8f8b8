"""Hostile outputs aimed at the real data the demo ships (suites/real): refused before any work, the data untouched.

``rather demo`` names every shipped file as an input (``real_data.shipped_files``), so an ``--out``
that is one of them, holds them (the data folder, a piece's folder, the package above it) or leads
to them through a link is refused like any output on an input.
"""
from __future__ import annotations

import os

import pytest

from rather.suites.real_data import F3, REAL, TID2013

from .conftest import snapshot

TARGETS = [
    ("the-real-data-folder", REAL, "holds the input the shipped real data"),
    ("the-f3-folder", F3, "holds the input the shipped real data"),
    ("the-f3-patches", F3 / "patches", "holds the input the shipped real data"),
    ("one-class-of-patches", F3 / "patches" / "fault", "holds the input the shipped real data"),
    ("the-tid2013-folder", TID2013, "holds the input the shipped real data"),
    ("the-package-above-it", REAL.parent, "holds the input"),
    ("a-tid2013-image", TID2013 / "I01.BMP", "I01.BMP"),
    ("the-f3-licence", F3 / "LICENSE", "LICENSE"),
]


@pytest.fixture
def shipped_data_unchanged():
    before = snapshot(REAL)
    yield
    assert snapshot(REAL) == before


@pytest.mark.parametrize("target, says", [case[1:] for case in TARGETS], ids=[case[0] for case in TARGETS])
def test_an_out_on_the_shipped_real_data_is_refused(target, says, refuse, shipped_data_unchanged, tmp_path,
                                                    monkeypatch):
    monkeypatch.chdir(tmp_path)
    refuse(["demo", "--out", str(target)], says=("rather demo: error:", says))


def test_an_out_linked_to_the_shipped_real_data_is_refused(refuse, shipped_data_unchanged, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    os.symlink(F3, tmp_path / "mine")
    refuse(["demo", "--out", "mine"], says=("--out 'mine' (that is", "holds the input the shipped real data"))
