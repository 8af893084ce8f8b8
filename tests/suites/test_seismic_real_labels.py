"""``rather seismic train`` and ``evaluate`` on a user's labels: patch folders and labelled sections.

The data are small and made here (patches of three sizes in every accepted format,
sections with masks as PNG and .npy); the shared real F3 patches are used where present.
"""
import json

import h5py
import numpy as np
import segyio
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
    assert main(["seismic", "evaluate", "--model", str(model), "--sections", str(section_folder), "--zoom", "2",
                 "--json"]) == 0
    zoomed = json.loads(capsys.readouterr().out)       # the held-out section and its mask, twice as fine
    assert zoomed["samples"] == 80 * 128 and zoomed["zoom"] == 2.0 and zoomed["left_out"] == report["left_out"]


def test_the_unet_gives_per_pixel_logits():
    from rather.seismic.networks import SeismicUNet

    torch.manual_seed(0)
    assert SeismicUNet(num_classes=5, depth=3).eval()(torch.zeros(2, 1, 48, 40)).shape == (2, 5, 48, 40)


@pytest.mark.skipif(not F3_PATCHES.is_dir(), reason="the shared real F3 patches are not here")
def test_the_real_f3_patches_load_as_two_classes():
    data = load_patch_folder(F3_PATCHES)
    assert data.class_names == ("fault", "nonfault") and data.patches.shape == (200, 45, 45)
    assert data.counts == {"fault": 100, "nonfault": 100}


def test_a_segmentation_network_is_explained_per_zone(section_folder, tmp_path, capsys):
    """The U-Net trained on --sections explains a survey's inline: zone questions, class and margin attributes."""
    model, survey, out = tmp_path / "unet.pt", tmp_path / "s.sgy", tmp_path / "explained"
    assert main(["seismic", "train", "--sections", str(section_folder), "--patch", "32", "--epochs", "1",
                 "--out", str(model)]) == 0
    assert main(["seismic", "synth", str(survey), "--inlines", "2", "--crosslines", "50", "--samples", "40"]) == 0
    capsys.readouterr()
    assert main(["seismic", "explain", str(survey), "--model", str(model), "--inline", "101", "--stride", "16",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["segmentation"] and summary["questions"] == ["why", "rather_than_layers", "rather_than_bright"]
    assert sorted(summary["outputs"]["segy"]) == ["class", "margin", "rather_than_bright", "rather_than_layers", "why"]
    with h5py.File(out / "explanations.h5", "r") as store:
        group = store["sections/inline_101"]
        maps, predicted, margin = group["maps"][()], group["predicted"][()], group["margin"][()]
        probabilities = group["probabilities"][()]
    assert maps.shape == (3, 40, 50) and 0 <= np.nanmin(maps) and np.nanmax(maps) <= 1
    for index in range(2):  # "rather than Q" is not asked (NaN) where Q is predicted
        assert np.array_equal(np.isnan(maps[1 + index]), predicted == index)
    np.testing.assert_allclose(margin, np.abs(probabilities[0] - probabilities[1]), atol=1e-6)
    with segyio.open(str(out / "class.sgy")) as classes, segyio.open(str(out / "margin.sgy")) as margins:
        np.testing.assert_array_equal(segyio.tools.cube(classes)[0], predicted.T)
        np.testing.assert_allclose(segyio.tools.cube(margins)[0], margin.T)
        assert list(margins.ilines) == [101]  # inline 100 was not explained: its traces are not written


def test_zone_contrast_equals_a_hand_made_grad_cam():
    """One window over the whole section: "rather than class 1" is Grad-CAM of sum over zone 0 of -log p_1."""
    from rather.common import Explainer
    from rather.seismic.networks import SeismicUNet
    from rather.seismic.segmentation import explain_segmentation

    torch.manual_seed(5)
    model = SeismicUNet(num_classes=2, width=4, depth=2).eval()
    with torch.no_grad():
        model.head.weight.mul_(20)  # sharper logits: both classes predicted somewhere (82 % class 0)
    amplitude = np.random.default_rng(0).uniform(-1, 1, (16, 16)).astype(np.float32)
    explained = explain_segmentation(Explainer(model, layer="features"), amplitude, window=16, stride=16,
                                     class_names=("a", "b"))
    x = torch.from_numpy(amplitude)[None, None]
    captured = {}
    handle = model.features.register_forward_hook(lambda module, inputs, output: captured.update(a=output))
    logits = model(x)
    handle.remove()
    zone = logits.argmax(1)[0] == 0
    loss = -(logits.log_softmax(1)[0, 1] * zone).sum()
    gradient, = torch.autograd.grad(loss, captured["a"])
    weights = gradient.mean(dim=(2, 3), keepdim=True)
    expected = torch.relu((weights * captured["a"]).sum(1))[0].detach().numpy()
    assert zone.any() and not zone.all()
    np.testing.assert_allclose(explained.raw[2], expected, rtol=1e-4, atol=1e-6)


def test_class_weights_follow_the_inverse_frequency_rule():
    from rather.seismic.real_training import class_weights

    labels = np.array([0] * 9 + [1])
    np.testing.assert_allclose(class_weights(labels, 2, "inverse"), [5 / 9, 5], rtol=1e-6)
    sqrt = 1 / np.sqrt([0.9, 0.1])
    np.testing.assert_allclose(class_weights(labels, 2, "sqrt"), sqrt / (0.9 * sqrt[0] + 0.1 * sqrt[1]), rtol=1e-6)
    assert class_weights(labels, 2, "none").tolist() == [1, 1]
    np.testing.assert_allclose(class_weights(labels, 3, "inverse"), [5 / 9, 5, 5], rtol=1e-6)  # absent: the largest


def test_section_training_records_its_class_weights(section_folder, tmp_path, capsys):
    model = tmp_path / "unet.pt"
    assert main(["seismic", "train", "--sections", str(section_folder), "--patch", "32", "--epochs", "1",
                 "--class-weights", "sqrt", "--out", str(model)]) == 0
    recorded = load_seismic_model(ModelChoice(weights=str(model))).meta["class_weights"]
    assert recorded["rule"] == "sqrt" and len(recorded["weights"]) == 2
    assert recorded["weights"][0] > 1 > recorded["weights"][1]  # "layers" is the rarer class of these sections


@pytest.mark.skipif(not (REAL_SEISMIC / "f3-faults-cunha2020/data").is_dir(), reason="the shared GSB data are absent")
def test_the_patch_classifier_is_scored_on_windows_of_the_gsb_sections(tmp_path, capsys):
    from rather.seismic.cunha import write_gsb_sections

    gsb = write_gsb_sections(REAL_SEISMIC / "f3-faults-cunha2020/data", tmp_path / "gsb")
    assert main(["seismic", "evaluate", "--sections", str(gsb), "--binary", "fault", "--window", "45",
                 "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["class_names"] == ["fault", "not_fault"] and report["patch_size"] == 45
    assert sum(report["sections"].values()) == report["patches"] == np.array(report["confusion"]).sum()
    assert 0 <= report["balanced_accuracy"] <= 1
