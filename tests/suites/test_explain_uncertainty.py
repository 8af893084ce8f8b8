"""``rather explain --uncertainty``: the VOICE figure and the per-input scores beside the explanations."""
import json

import numpy as np
import pytest
import torch
from skimage import io

from rather.common import load, save_checkpoint
from rather.common.networks import SmallCNN
from rather.suites.cli import main

CLASSES = ["ant", "bee", "cicada"]


@pytest.fixture
def case(tmp_path):
    """A three-class checkpoint and two pictures; the argv that explains them into tmp_path / 'out'."""
    torch.manual_seed(0)
    save_checkpoint(tmp_path / "model.pt", SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4},
                    {"class_names": CLASSES, "preprocess": {"size": [32, 32], "channels": 3}})
    rng = np.random.default_rng(0)
    for name in ("a.png", "b.png"):
        io.imsave(tmp_path / name, rng.integers(0, 256, (40, 48, 3), dtype=np.uint8), check_contrast=False)
    return ["explain", "--weights", tmp_path / "model.pt", "--layer", "features", "--image", tmp_path / "a.png",
            tmp_path / "b.png", "--out", tmp_path / "out"]


def test_uncertainty_writes_its_figure_and_scores(case, tmp_path, capsys):
    assert main([str(arg) for arg in case] + ["--uncertainty", "--uncertainty-threshold", "0.2"]) == 0
    out = tmp_path / "out"
    assert sorted(p.name for p in out.iterdir()) == ["explanations.h5", "figure.png", "figures", "summary.json",
                                                     "uncertainty.png"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["uncertainty"]["threshold"] == 0.2 and summary["uncertainty"]["top_k"] == 3  # 5, but 3 classes
    assert summary["outputs"]["uncertainty"] == "uncertainty.png"
    probs = load(out / "explanations.h5").probs
    for index, image in enumerate(summary["images"]):
        scores = image["uncertainty"]
        ranked = [CLASSES[c] for c in probs[index].argsort(descending=True).tolist()]
        assert scores["gradtrust_classes"] == ranked and 1 <= scores["gradtrust"] <= 3
        assert scores["voice_contrasts"] == [name for c, name in enumerate(CLASSES)
                                             if name != ranked[0] and probs[index, c] > 0.2]
        assert 0 <= scores["voice_mean"] <= scores["voice_max"] <= 0.25
    assert "GradTrust" in capsys.readouterr().out


def test_without_the_option_nothing_changes(case, tmp_path):
    assert main([str(arg) for arg in case]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert "uncertainty" not in summary and "uncertainty" not in summary["images"][0]
    assert not (tmp_path / "out" / "uncertainty.png").exists()
