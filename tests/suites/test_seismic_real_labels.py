"""``rather seismic train`` and ``evaluate`` on a user's labels: patch folders and labelled sections.

The data are small and made here (patches of three sizes in every accepted format,
sections with masks as PNG and .npy); the shared real F3 patches are used where present.
"""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from rather.seismic.labelled import load_patch_folder, load_sections, section_split
from rather.seismic.options import ModelChoice
from rather.seismic.seismic_model import load_seismic_model
from rather.suites.cli import main
from real_seismic import REAL_SEISMIC

F3_PATCHES = REAL_SEISMIC / "f3-faults-cunha2020/dataset"


def layered(rng, size: int, dip: float) -> np.ndarray:
    """A patch of dipping sine layers (dip 0: flat), with noise."""
    rows, cols = np.mgrid[0:size, 0:size]
    return np.sin(0.8 * (rows + dip * cols)) + 0.1 * rng.standard_normal((size, size))


@pytest.fixture(scope="module")
def patch_folder(tmp_path_factory):
    """Two classes, 'flat' and 'dipping', of patches 20 x 20 (.npy), 24 x 24 (.csv) and 20 x 20 (.png)."""
    root = tmp_path_factory.mktemp("patches")
    rng = np.random.default_rng(0)
    for name, dip in (("flat", 0.0), ("dipping", 1.0)):
        (root / name).mkdir()
        for index in range(6):
            np.save(root / name / f"p{index}.npy", layered(rng, 20, dip))
        np.savetxt(root / name / "text.csv", layered(rng, 24, dip), delimiter=",")
        grey = ((layered(rng, 20, dip) + 1.2) / 2.4 * 255).clip(0, 255).astype(np.uint8)
        Image.fromarray(grey).save(root / name / "image.png")
    (root / "classes.txt").write_text("flat\ndipping\n")
    return root


@pytest.fixture(scope="module")
def section_folder(tmp_path_factory):
    """Four sections 40 x 64: layers with a 'bright' zone (class 1) below a random depth; masks PNG and .npy."""
    root = tmp_path_factory.mktemp("sections")
    (root / "sections").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(1)
    for index in range(4):
        depth = 15 + 3 * index
        amplitude = np.sin(0.9 * np.arange(40))[:, None] * np.ones((1, 64)) + 0.05 * rng.standard_normal((40, 64))
        amplitude[depth:] *= 4
        mask = np.zeros((40, 64), dtype=np.uint8)
        mask[depth:] = 1
        np.save(root / "sections" / f"s{index}.npy", amplitude)
        if index % 2:
            Image.fromarray(mask).save(root / "masks" / f"s{index}_mask.png")
        else:
            np.save(root / "masks" / f"s{index}_mask.npy", mask)
    (root / "classes.txt").write_text("layers\nbright\n")
    return root


def test_a_patch_folder_reads_every_format_at_one_size(patch_folder):
    data = load_patch_folder(patch_folder)
    assert data.class_names == ("flat", "dipping") and data.patches.shape == (16, 20, 20)
    assert data.counts == {"flat": 8, "dipping": 8}
    assert np.abs(data.patches).max() == pytest.approx(1.0)  # each scaled on its own
    assert load_patch_folder(patch_folder, 32).patches.shape == (16, 32, 32)


def test_train_and_evaluate_on_patches(patch_folder, tmp_path, capsys):
    model = tmp_path / "model.pt"
    assert main(["seismic", "train", "--patches", str(patch_folder), "--epochs", "2", "--out", str(model)]) == 0
    assert "held out: balanced accuracy" in capsys.readouterr().out
    network = load_seismic_model(ModelChoice(weights=str(model)))
    assert network.class_names == ("flat", "dipping") and network.patch == 20 and not network.dense
    assert network.meta["held_out_patches"] == 4  # 20 % of each class of 8, rounded
    assert main(["seismic", "evaluate", "--model", str(model), "--patches", str(patch_folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["patches"] == 16 and np.array(report["confusion"]).sum(1).tolist() == [8, 8]
    assert 0 <= report["balanced_accuracy"] <= 1 and report["class_names"] == ["flat", "dipping"]


def test_sections_are_held_out_whole():
    train, held = section_split(10, 0.2, seed=3)
    assert len(held) == 2 and sorted(train + held) == list(range(10)) and not set(train) & set(held)
    assert section_split(1, 0.2, 0) == ([0], [])


def test_train_and_evaluate_on_sections(section_folder, tmp_path, capsys):
    data = load_sections(section_folder)
    assert data.names == ("s0", "s1", "s2", "s3") and data.class_names == ("layers", "bright")
    model = tmp_path / "unet.pt"
    assert main(["seismic", "train", "--sections", str(section_folder), "--patch", "32", "--epochs", "2",
                 "--hold-out", "0.25", "--out", str(model)]) == 0
    assert "held out: mean IoU" in capsys.readouterr().out
    network = load_seismic_model(ModelChoice(weights=str(model)))
    assert network.dense and network.patch == 32 and network.class_names == ("layers", "bright")
    held = network.meta["held_out_sections"]
    assert len(held) == 1 and sorted(held + network.meta["trained_sections"]) == list(data.names)
    assert main(["seismic", "evaluate", "--model", str(model), "--sections", str(section_folder), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["left_out"] == network.meta["trained_sections"]  # only the held-out section is scored
    assert report["samples"] == 40 * 64 and set(report["per_class_iou"]) == {"layers", "bright"}
    assert 0 <= report["miou"] <= 1 and 0 <= report["pixel_accuracy"] <= 1


def test_the_unet_gives_per_pixel_logits():
    from rather.seismic.networks import SeismicUNet

    torch.manual_seed(0)
    assert SeismicUNet(num_classes=5, depth=3).eval()(torch.zeros(2, 1, 48, 40)).shape == (2, 5, 48, 40)


@pytest.mark.skipif(not F3_PATCHES.is_dir(), reason="the shared real F3 patches are not here")
def test_the_real_f3_patches_load_as_two_classes():
    data = load_patch_folder(F3_PATCHES)
    assert data.class_names == ("fault", "nonfault") and data.patches.shape == (200, 45, 45)
    assert data.counts == {"fault": 100, "nonfault": 100}
