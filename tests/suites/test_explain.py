"""``rather explain`` with the classifier options every classifier command shares."""
import json

import numpy as np
import torch
from PIL import Image

from rather.common.networks import ResNetLike
from rather.recognition import classifier
from rather.suites.cli import main

KWARGS = {"blocks": [1, 1], "widths": [8, 16], "num_classes": 3, "bottleneck": False, "stem": 8}


def pictures(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        rng = np.random.default_rng(index)
        path = folder / f"img{index}.png"
        Image.fromarray(rng.integers(0, 255, (40 + index, 30, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


def test_explain_takes_model_kwargs_and_names_the_factory(tmp_path, capsys):
    torch.manual_seed(0)
    torch.save(ResNetLike(**KWARGS).state_dict(), tmp_path / "w.pt")
    assert main(["explain", "--model", "rather.common.networks:ResNetLike", "--model-kwargs", json.dumps(KWARGS),
                 "--weights", str(tmp_path / "w.pt"), "--layer", "layer2", "--size", "32", "32",
                 "--image", *pictures(tmp_path / "in", 2), "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == "rather.common.networks:ResNetLike" and len(summary["images"]) == 2


def test_a_rather_checkpoint_names_its_factory_and_layer(tmp_path, capsys):
    assert main(["explain", "--weights", str(classifier.DEFAULT_CHECKPOINT), "--image",
                 *pictures(tmp_path / "in", 1), "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["model"] == classifier.FACTORY and summary["layer"] == classifier.LAYER
