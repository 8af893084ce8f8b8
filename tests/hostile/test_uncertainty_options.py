"""Hostile options of ``rather explain --uncertainty``: each refused in one line, nothing written.

Most cases need no real input: the options are checked before the model is read. The number of
classes GradTrust compares can only be checked against a real model.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from skimage import io

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN

PLACEHOLDERS = "explain --weights model.pt --image a.png --out out"
THRESHOLD = "--uncertainty-threshold must be a probability strictly between 0 and 1"
TOP_K = "--trust-top-k must be a whole number from 2 to the number of classes"


@pytest.fixture
def placeholders(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for name in ("model.pt", "a.png"):
        Path(name).write_bytes(b"placeholder")


@pytest.mark.parametrize("options, says", [
    ("--uncertainty --uncertainty-threshold 0", [THRESHOLD, "got 0.0"]),
    ("--uncertainty --uncertainty-threshold 1", [THRESHOLD, "got 1.0"]),
    ("--uncertainty --uncertainty-threshold -0.5", [THRESHOLD, "got -0.5"]),
    ("--uncertainty --uncertainty-threshold 1.5", [THRESHOLD, "got 1.5"]),
    ("--uncertainty --uncertainty-threshold nan", [THRESHOLD, "got nan"]),
    ("--uncertainty --uncertainty-threshold inf", [THRESHOLD, "got inf"]),
    ("--uncertainty --uncertainty-threshold 1e-400", [THRESHOLD, "got 0.0"]),  # a float that underflows to 0
    ("--uncertainty --trust-top-k 1", [TOP_K, "got 1"]),
    ("--uncertainty --trust-top-k 0", [TOP_K, "got 0"]),
    ("--uncertainty --trust-top-k -3", [TOP_K, "got -3"]),
    ("--uncertainty --uncertainty-threshold half", ["argument --uncertainty-threshold: invalid float value: 'half'"]),
    ("--uncertainty --trust-top-k 2.5", ["argument --trust-top-k: invalid int value: '2.5'"]),
    ("--uncertainty --trust-top-k", ["argument --trust-top-k: expected one argument"]),
    ("--uncertainty-threshold 0.1", ["--uncertainty-threshold and --trust-top-k set the uncertainty; "
                                     "add --uncertainty"]),
    ("--trust-top-k 3", ["add --uncertainty"]),
])
def test_bad_uncertainty_options_are_refused_before_any_work(placeholders, refuse, options, says):
    refuse(f"{PLACEHOLDERS} {options}".split(), says=tuple(says))


def test_more_classes_to_compare_than_the_model_has_is_refused(tmp_path, monkeypatch, refuse):
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(0)
    save_checkpoint("model.pt", SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4}, {"preprocess": {"size": [32, 32], "channels": 3}})
    io.imsave("a.png", np.zeros((32, 32, 3), dtype=np.uint8), check_contrast=False)
    refuse(f"{PLACEHOLDERS} --layer features --uncertainty --trust-top-k 4".split(),
           says="--trust-top-k must be a whole number from 2 to the model's 3 classes")
