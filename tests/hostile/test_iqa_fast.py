"""``rather iqa explain --mode fast`` (issue 17 item 5) on hostile input: a stride it would ignore, grids that end
flush with the far edges, and a pair with no evidence anywhere.

Fast mode has its own windows (``options.FAST_STRIDE``) and image mode none: a ``--stride`` given with
either used to be ignored without a word; it is refused in one line, before any work.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rather.common import load

from rather.iqa.synthetic import photo

FAST = "--mode fast has its own windows (stride 4 down, 12 across); leave --stride out, or use --mode patchwise"
IMAGE = "--mode image cuts no windows (one question about the whole image); leave --stride out, or use --mode patchwise"
STRIDES = {  # (mode, --stride): fragment of the refusal
    ("fast", "8"): f"--stride 8: {FAST}",
    ("fast", "12"): f"--stride 12: {FAST}",  # fast mode's own stride across, given: still refused, not half-read
    ("fast", "4"): f"--stride 4: {FAST}",  # the patchwise default, given: still not fast mode's
    ("fast", "1"): f"--stride 1: {FAST}",
    ("fast", "0"): f"--stride 0: {FAST}",  # out of range too: the mode's refusal says what to do
    ("fast", "33"): f"--stride 33: {FAST}",
    ("image", "8"): f"--stride 8: {IMAGE}",
    ("image", "4"): f"--stride 4: {IMAGE}",
}


def write_pair(folder: Path, height: int, width: int, flat: bool = False) -> tuple[Path, Path]:
    """A (distorted, reference) pair of PNGs: a crop of chelsea and its darkened copy, or one flat grey image twice."""
    if flat:
        image = np.full((height, width, 3), 128, dtype=np.uint8)
        distorted = image
    else:
        image = np.rint(photo("chelsea")[20:20 + height, 100:100 + width] * 255).astype(np.uint8)
        distorted = image // 2
    Image.fromarray(distorted).save(folder / "distorted.png")
    Image.fromarray(image).save(folder / "reference.png")
    return folder / "distorted.png", folder / "reference.png"


@pytest.mark.parametrize("mode, stride", list(STRIDES))
def test_a_stride_that_the_mode_would_ignore_is_refused(mode, stride, tmp_path, refuse):
    pair = write_pair(tmp_path, 48, 64)
    refuse(["iqa", "explain", *pair, "--rather-than", "0.5", "--mode", mode, "--stride", stride,
            "--out", tmp_path / "out"], says=STRIDES[mode, stride])


@pytest.mark.parametrize("height, width, windows", [
    (32, 32, 1),  # one window
    (32, 41, 2),  # columns 0 and 9: the last window flush with the right edge
    (37, 32, 3),  # rows 0, 4 and 5
    (36, 73, 2 * 5),  # rows 0, 4; columns 0, 12, 24, 36 and 41
])
def test_fast_mode_covers_every_pixel_of_an_awkward_size(height, width, windows, tmp_path, run_cli):
    outcome = run_cli(["iqa", "explain", *write_pair(tmp_path, height, width), "--rather-than", "0.5", "--mode",
                       "fast", "--out", tmp_path / "out", "--json"])
    assert outcome.status == 0, outcome.err
    summary = json.loads(outcome.out)
    assert summary["windows"]["count"] == windows and summary["stride"] == [4, 12]
    maps = np.load(tmp_path / "out" / "sides.npy")
    assert maps.shape == (1, height, width) and np.isfinite(maps).all()


def test_a_flat_grey_pair_is_explained_without_nan_or_warning(tmp_path, run_cli):
    """Nothing differs and nothing varies (every window the same): maps in [0, 1], never NaN, and numpy says nothing."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # 'invalid value encountered in divide' would fail the command here
        outcome = run_cli(["iqa", "explain", *write_pair(tmp_path, 40, 48, flat=True), "--rather-than", "0.5", "0.9",
                           "--mode", "fast", "--out", tmp_path / "out", "--json"])
    assert outcome.status == 0, outcome.err
    summary = json.loads(outcome.out)
    assert summary["windows"]["count"] == 3 * 3 and len(summary["questions"]) == 3
    maps = load(tmp_path / "out" / "explanations.h5").maps
    assert torch.isfinite(maps).all() and maps.min() >= 0 and maps.max() <= 1
    assert np.isfinite(np.load(tmp_path / "out" / "sides.npy")).all()
