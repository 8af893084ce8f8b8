"""``rather explain`` with the classifier options every classifier command shares."""
import json

import h5py
import numpy as np
import torch
from PIL import Image

from rather.common import load
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


def test_batches_give_the_store_one_batch_gives(tmp_path, capsys):
    """Five images in batches of 2 (three batches appended) and in one batch: the same store, figure per image."""
    images = pictures(tmp_path / "in", 5)
    common = ["explain", "--weights", str(classifier.DEFAULT_CHECKPOINT), "--size", "48", "48", "--all",
              "--image", *images]
    assert main([*common, "--batch-size", "2", "--sheet", "3", "--out", str(tmp_path / "two")]) == 0
    assert main([*common, "--batch-size", "5", "--out", str(tmp_path / "five")]) == 0
    two, five = load(tmp_path / "two" / "explanations.h5"), load(tmp_path / "five" / "explanations.h5")
    assert two.ids == five.ids and len(two.ids) == 5
    for name in ("maps", "raw", "p", "q", "outputs"):
        torch.testing.assert_close(getattr(two, name), getattr(five, name), atol=1e-5, rtol=1e-5)
    summary = json.loads((tmp_path / "two" / "summary.json").read_text())
    assert [image["figure"] for image in summary["images"]] == [f"figures/{name}.png" for name in two.ids]
    assert sorted(p.name for p in (tmp_path / "two" / "figures").iterdir()) == sorted(f"{n}.png" for n in two.ids)
    assert not list((tmp_path / "two").glob(".batch*"))
    with h5py.File(tmp_path / "two" / "explanations.h5") as store:
        assert [store["inputs"][name].attrs["index"] for name in two.ids] == list(range(5))


def test_the_contact_sheet_is_bounded_whatever_the_number_of_images(tmp_path):
    images = pictures(tmp_path / "in", 7)
    common = ["explain", "--weights", str(classifier.DEFAULT_CHECKPOINT), "--size", "48", "48", "--image"]
    assert main([*common, *images[:2], "--sheet", "2", "--out", str(tmp_path / "few")]) == 0
    assert main([*common, *images, "--sheet", "2", "--out", str(tmp_path / "many")]) == 0
    sizes = [Image.open(tmp_path / name / "figure.png").size for name in ("few", "many")]
    assert sizes[0] == sizes[1]
