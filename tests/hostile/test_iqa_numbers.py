"""Numbers out of range given to ``rather iqa`` (issue 21): each refused in one line, exit 2, before any work.

Contrast scores (``--rather-than``) must be finite and within [-1, 2]: the model's scale
[0, 1] widened by its width on each side (1e39 used to overflow float32 and write NaN maps
with exit 0); people's score (``--mos``) within the scale itself unless ``--mos-scale`` names
the scale it was published on. Training options are bounded by ``TRAINING``, seeds by
``SEED``, the patchwise stride by the 32 x 32 window. Digits of other scripts (superscripts,
fullwidth) are not numbers here.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from rather.iqa.synthetic import photo
from rather.suites.cli import main

SCALE = "its scale is [0, 1] (higher is better); give a finite score in [-1, 2]"
NOT_A_SCORE = "--rather-than takes scores or 'human'"
CONTRASTS = {  # --rather-than tokens (and --mos): fragment of the refusal
    "1e39": f"--rather-than 1e+39 is not a score the model can be asked about: {SCALE}",
    "=-1e39": "--rather-than -1e+39 is not a score",
    "99999999999999999999": "--rather-than 1e+20 is not a score",
    "nan": "--rather-than nan is not a score",
    "NaN": "--rather-than nan is not a score",
    "inf": "--rather-than inf is not a score",
    "=-inf": "--rather-than -inf is not a score",
    "1e309": "--rather-than inf is not a score",  # float() overflows to inf
    "2.5": "--rather-than 2.5 is not a score",
    "-1.5": "--rather-than -1.5 is not a score",
    "1_000": "--rather-than 1000 is not a score",
    "\u00b2": NOT_A_SCORE,  # superscript two
    "0.\u00b9": NOT_A_SCORE,
    "\uff10.\uff15": NOT_A_SCORE,  # fullwidth 0.5, which float() would read
    "\u0660.\u0665": NOT_A_SCORE,  # Arabic-Indic 0.5
    "0x1": NOT_A_SCORE,
    "": NOT_A_SCORE,
    "0.5 human": "--rather-than human needs --mos M",
}
OUTSIDE = ("is outside the model's scale [0, 1] (higher is better); give people's score on that scale, or the raw "
           "MOS/DMOS with --mos-scale tid2013|kadid10k|live|csiq|unit")
MOS = {
    "1e39": f"--mos (people's score) 1e+39 {OUTSIDE}",
    "nan": "--mos (people's score) nan is outside the model's scale",
    "inf": "--mos (people's score) inf is outside the model's scale",
    "-5": "--mos (people's score) -5 is outside the model's scale",
    "99999999999999999999": "--mos (people's score) 1e+20 is outside the model's scale",
    "4.2": "--mos (people's score) 4.2 is outside the model's scale",  # a raw TID2013 MOS without --mos-scale
    "1.5": "--mos (people's score) 1.5 is outside the model's scale",  # within [-1, 2], but not a score people give
}
STRIDE = {value: "--stride must be a positive number of pixels" for value in ("0", "-1", "33", "99999999999999999999")}
TRAINING = {
    ("--epochs", "0"): "--epochs 0 is out of range; give a whole number in [1, 1000]",
    ("--epochs", "-1"): "--epochs -1 is out of range",
    ("--epochs", "99999999999999999999"): "--epochs 99999999999999999999 is out of range",
    ("--width", "0"): "--width 0 is out of range; give a whole number in [1, 64]",
    ("--width", "65"): "--width 65 is out of range",
    ("--width", "100000"): "--width 100000 is out of range",
    ("--crops", "0"): "--crops 0 is out of range; give a whole number in [1, 100]",
    ("--crops", "-1"): "--crops -1 is out of range",
    ("--crops", "99999999999"): "--crops 99999999999 is out of range",
    ("--seed", "-1"): "--seed -1 is out of range; give a whole number in [0, 4294967295]",
    ("--seed", "99999999999999999999"): "--seed 99999999999999999999 is out of range",
}


@pytest.fixture
def pair(tmp_path) -> tuple[Path, Path]:
    image = np.rint(photo("chelsea")[20:68, 100:164] * 255).astype(np.uint8)
    Image.fromarray(image).save(tmp_path / "reference.png")
    Image.fromarray(image // 2).save(tmp_path / "distorted.png")
    return tmp_path / "distorted.png", tmp_path / "reference.png"


def contrast_words(token: str) -> list[str]:
    """``--rather-than TOKEN`` as argv words ('=-inf' is given as --rather-than=-inf, as a negative number must be)."""
    if token.startswith("="):
        return [f"--rather-than{token}"]
    return ["--rather-than", *(token.split() or [""])]


@pytest.mark.parametrize("token", list(CONTRASTS))
def test_a_contrast_score_out_of_range_is_refused(token, pair, tmp_path, refuse):
    refuse(["iqa", "explain", *pair, *contrast_words(token), "--out", tmp_path / "out"], says=CONTRASTS[token])


@pytest.mark.parametrize("mode", ["patchwise", "image"])
@pytest.mark.parametrize("mos", list(MOS))
def test_people_s_score_out_of_range_is_refused(mos, mode, pair, tmp_path, refuse):
    refuse(["iqa", "explain", *pair, "--rather-than", "0.5", "human", "--mos", mos, "--mode", mode,
            "--out", tmp_path / "out"], says=MOS[mos])


@pytest.mark.parametrize("stride", list(STRIDE))
def test_a_stride_out_of_range_is_refused(stride, pair, tmp_path, refuse):
    refuse(["iqa", "explain", *pair, "--rather-than", "0.5", "--stride", stride, "--out", tmp_path / "out"],
           says=STRIDE[stride])


@pytest.mark.parametrize("option, value", list(TRAINING))
def test_a_training_option_out_of_range_is_refused(option, value, tmp_path, refuse):
    refuse(["iqa", "train", "--out", tmp_path / "model.pt", option, value], says=TRAINING[option, value])


@pytest.mark.parametrize("seed", ["-1", "4294967296", "99999999999999999999"])
def test_an_evaluation_seed_out_of_range_is_refused(seed, refuse):
    refuse(["iqa", "evaluate", "--seed", seed], says=f"--seed {seed} is out of range")


def test_the_edges_of_the_contrast_range_are_asked_about(pair, tmp_path, run_cli):
    outcome = run_cli(["iqa", "explain", *pair, "--rather-than", "-1", "2", "human", "--mos", "0", "--mode", "image",
                       "--out", tmp_path / "out"])
    assert outcome.status == 0, outcome.err
    assert (tmp_path / "out" / "summary.json").is_file()


PARSER = {  # what the command's parser refuses itself (exit 2, its one line): options typed int or float
    "--mos": ["--rather-than", "human", "--mos", "\u00b2"],
    "--stride": ["--rather-than", "0.5", "--stride", "\u00b2"],
    "--stride ": ["--rather-than", "0.5", "--stride", "1.5"],
}


@pytest.mark.parametrize("option", list(PARSER))
def test_a_number_the_parser_cannot_read_is_refused_in_one_line(option, pair, tmp_path, capsys):
    status = main(["iqa", "explain", *map(str, pair), *PARSER[option], "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1
    assert f"argument {option.strip()}: invalid" in lines[0] and not (tmp_path / "out").exists()
