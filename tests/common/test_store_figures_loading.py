"""HDF5 round trips, figures, checkpoints, images and map metrics."""
import os

import h5py
import numpy as np
import pytest
import torch
from torch import nn

from rather.common import BadInput, BadModel, Explainer, Rather, ScoreRather, Why, load, load_model, save_checkpoint
from rather.common.figures import panel_caption, plot_explanation
from rather.common.images import prepare, read_image
from rather.common.metrics import energy_share, pointing_game
from rather.common.storage import atomic_path, staged_folder


def assert_same_result(a, b):
    for name in ("maps", "raw", "p", "q", "outputs"):
        torch.testing.assert_close(getattr(a, name), getattr(b, name), rtol=0, atol=0, equal_nan=True, msg=name)
    for name in ("kinds", "task", "layer", "method", "call", "gradient_path", "ids", "notes", "class_names",
                 "model_checksum", "version"):
        assert getattr(a, name) == getattr(b, name), name


def test_class_result_round_trips_through_hdf5(resnet, images, tmp_path):
    resnet.train()
    result = Explainer(resnet, layer="layer2")(images, [Why(), Rather.all()], ids=["a", "b", "c"],
                                               class_names=[f"class {i}" for i in range(10)])
    path = result.save(tmp_path / "explanations.h5")
    assert_same_result(load(path), result)
    assert os.listdir(tmp_path) == ["explanations.h5"]
    mask = os.umask(0)
    os.umask(mask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~mask


def test_score_result_round_trips_through_hdf5(regression, images, tmp_path):
    result = Explainer(regression, layer="layer2")(images, [Why(), ScoreRather([0.1, 0.9])])
    loaded = load(result.save(tmp_path / "scores.h5"))
    assert_same_result(loaded, result)
    assert loaded.p.dtype == torch.float64 and torch.isnan(loaded.q[:, 0]).all()


def test_store_is_readable_with_plain_h5py(resnet, images, tmp_path):
    result = Explainer(resnet, layer="layer2")(images, Rather([1, 2]), ids=["x1", "x2", "x3"])
    result.save(tmp_path / "r.h5")
    with h5py.File(tmp_path / "r.h5", "r") as store:
        assert store.attrs["format"] == "rather.explanations" and store.attrs["schema"] == 1
        assert store.attrs["layer"] == "layer2" and store.attrs["method"] == "gradcam"
        assert len(store.attrs["model_checksum"]) == 64
        assert [i.decode() for i in store["ids"][()]] == ["x1", "x2", "x3"]
        group = store["inputs/x2"]
        assert group["maps"].shape == (2, 32, 32) and group["maps"].dtype == np.float32
        assert group.attrs["q"].tolist() == [1, 2] and group.attrs["index"] == 1
        np.testing.assert_array_equal(group["maps"][()], result.maps[1].numpy())


def test_a_failed_write_leaves_nothing(tmp_path, resnet, images):
    result = Explainer(resnet, layer="layer2")(images, Why(), ids=["a", "a", "b"])
    with pytest.raises(BadInput, match="ids must be unique"):
        result.save(tmp_path / "r.h5")
    with pytest.raises(RuntimeError):
        with atomic_path(tmp_path / "x.bin") as temporary:
            temporary.write_bytes(b"half")
            raise RuntimeError("killed")
    assert os.listdir(tmp_path) == []


def test_staged_folder_lands_all_or_nothing(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(RuntimeError):
        with staged_folder(out) as stage:
            (stage / "a.json").write_text("{}")
            raise RuntimeError("failed half way")
    assert not out.exists() and os.listdir(tmp_path) == []
    with staged_folder(out) as stage:
        (stage / "a.json").write_text("{}")
    assert os.listdir(out) == ["a.json"] and os.listdir(tmp_path) == ["out"]


def test_loading_something_else_is_refused(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as store:
        store["x"] = 1
    with pytest.raises(BadInput, match="is not a rather explanation store"):
        load(tmp_path / "other.h5")
    (tmp_path / "text.h5").write_text("hello")
    with pytest.raises(BadInput, match="cannot open"):
        load(tmp_path / "text.h5")


def test_figure_has_input_and_one_panel_per_question(resnet, images, tmp_path):
    names = [f"bird {i}" for i in range(10)]
    p = int(resnet(images[:1]).argmax())
    q = (p + 1) % 10
    result = Explainer(resnet, layer="layer2")(images, [Why(), Rather(q), Rather(p)], class_names=names)
    path = tmp_path / "figure.png"
    figure = plot_explanation(result, images, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from skimage import io

    height, width = io.imread(path).shape[:2]
    assert width > 3 * height  # four panels side by side
    assert len(figure.axes) == 4 + 3  # the input, three maps, a colour bar per map
    plot_explanation(result, images, tmp_path / "rows.png", indices=[0, 2], questions=[1])
    height, width = io.imread(tmp_path / "rows.png").shape[:2]
    assert height > width  # two rows of two panels
    probs = result.probs[0]
    assert panel_caption(result, 0, 0) == f"Why bird {p}?\np(bird {p})={probs[p]:.2f}"
    assert panel_caption(result, 0, 1) == (
        f"Why bird {p}, rather than bird {q}?\np(bird {p})={probs[p]:.2f}, p(bird {q})={probs[q]:.2f}"
    )
    blank = "\nno positive evidence at this layer" if result.blank()[0, 2] else ""
    assert panel_caption(result, 0, 2) == f"Why bird {p}, rather than bird {p}?\np(bird {p})={probs[p]:.2f}{blank}"


def test_checkpoint_round_trip_and_factory_spec(tmp_path, resnet, images):
    save_checkpoint(tmp_path / "model.pt", resnet, "conftest:make_resnet", {"num_classes": 10}, {"classes": ["a"]})
    save_checkpoint(tmp_path / "again.pt", resnet, "conftest:make_resnet", {"num_classes": 10}, {"classes": ["a"]})
    assert (tmp_path / "model.pt").read_bytes() == (tmp_path / "again.pt").read_bytes()
    with pytest.raises(BadModel, match="names the factory 'conftest:make_resnet', which is not one of rather's"):
        load_model(weights=tmp_path / "model.pt")  # a name read from a file is never run...
    model, meta = load_model("conftest:make_resnet", tmp_path / "model.pt")  # ...a name the user gives is
    assert meta == {"classes": ["a"]}
    torch.testing.assert_close(model(images), resnet(images))
    torch.save(resnet.state_dict(), tmp_path / "plain.pth")
    model, meta = load_model("conftest:make_resnet", tmp_path / "plain.pth")
    assert meta == {} and not model.training
    torch.testing.assert_close(model(images), resnet(images))


def test_model_checksum_follows_the_weights(resnet, images):
    explainer = Explainer(resnet, layer="layer2")
    before = explainer(images[:1], Why()).model_checksum
    assert explainer(images[:1], Why()).model_checksum == before
    with torch.no_grad():
        resnet.fc.bias.add_(1.0)
    assert explainer(images[:1], Why()).model_checksum != before


def test_checkpoints_that_need_code_are_refused(tmp_path, resnet):
    torch.save(resnet, tmp_path / "whole-model.pt")
    with pytest.raises(BadModel, match=r"needs arbitrary code to unpickle, which rather refuses \(weights_only=True\)"):
        load_model("conftest:make_resnet", tmp_path / "whole-model.pt")


@pytest.mark.parametrize("spec, message", [
    ("conftest", "model must be given as module:factory"),
    ("no_such_module_here:f", "cannot import 'no_such_module_here'"),
    ("conftest:nothing", "'conftest' has no attribute 'nothing'"),
    ("conftest:TOLERANCE_NOT_THERE", "has no attribute"),
])
def test_bad_model_specs(spec, message):
    with pytest.raises(BadModel, match=message):
        load_model(spec)


def test_weights_that_do_not_fit_are_refused(tmp_path):
    torch.save(nn.Linear(2, 2).state_dict(), tmp_path / "linear.pth")
    with pytest.raises(BadModel, match=r"do not fit 'conftest:make_resnet': missing \['bn1.bias'"):
        load_model("conftest:make_resnet", tmp_path / "linear.pth")
    with pytest.raises(BadInput, match="does not exist"):
        load_model("conftest:make_resnet", tmp_path / "missing.pth")
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(BadModel, match="not a readable PyTorch checkpoint"):
        load_model("conftest:make_resnet", tmp_path / "junk.pth")


def test_images_are_read_scaled_and_prepared(tmp_path):
    from skimage import io

    rgba = np.zeros((6, 8, 4), dtype=np.uint8)
    rgba[..., 0] = 255
    io.imsave(tmp_path / "red.png", rgba, check_contrast=False)
    image = read_image(tmp_path / "red.png")
    assert image.shape == (3, 6, 8) and image.dtype == np.float32
    assert image[0].min() == 1.0 and image[1:].max() == 0.0
    x = prepare(image, size=(12, 16), mean=[0.5, 0.5, 0.5], std=[0.5, 0.5, 0.5])
    assert x.shape == (1, 3, 12, 16)
    torch.testing.assert_close(x[0, 0], torch.ones(12, 16))
    torch.testing.assert_close(x[0, 1], -torch.ones(12, 16))
    np.save(tmp_path / "gray.npy", np.arange(12, dtype=np.float32).reshape(3, 4) / 11)
    assert prepare(read_image(tmp_path / "gray.npy"), channels=3).shape == (1, 3, 3, 4)
    with pytest.raises(BadInput, match="does not exist"):
        read_image(tmp_path / "missing.png")
    (tmp_path / "bad.png").write_bytes(b"not an image")
    with pytest.raises(BadInput, match="cannot read image"):
        read_image(tmp_path / "bad.png")


def test_energy_share_and_pointing_game_known_answers():
    maps = torch.tensor([[[0.0, 1.0], [3.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]])
    mask = torch.tensor([[False, True], [False, False]])
    shares = energy_share(maps, mask)
    assert shares[0].item() == pytest.approx(0.25) and torch.isnan(shares[1])
    assert pointing_game(maps, mask).tolist() == [False, False]
    assert pointing_game(maps, torch.tensor([[False, False], [True, False]])).tolist() == [True, False]
