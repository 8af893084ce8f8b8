"""Many contrasts without the memory: ``Rather.top(k)``, maps made on first read, saving a block at a time."""
import h5py
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import rather.common.results as results
from rather.common import BadQuestion, Explainer, Rather, Why, load


def straightforward_maps(raw, size):
    """Bilinear resize (align_corners=False) and min-max of each (h, w) map, one map at a time."""
    maps = torch.zeros(*raw.shape[:2], *size, dtype=raw.dtype)
    for n in range(raw.shape[0]):
        for j in range(raw.shape[1]):
            cam = F.interpolate(raw[n, j][None, None], size=size, mode="bilinear", align_corners=False)[0, 0]
            low, high = cam.min(), cam.max()
            maps[n, j] = (cam - low) / (high - low) if high > low else 0.0
    return maps


@pytest.mark.parametrize("k", [1, 3, 9])
def test_top_asks_the_k_most_probable_rivals_of_each_input(k, resnet, images):
    logits = resnet(images).detach()
    result = Explainer(resnet, layer="layer2")(images, Rather.top(k))
    for n in range(len(images)):
        ranked = [int(c) for c in logits[n].argsort(descending=True)]
        assert result.p[n].tolist() == [ranked[0]] * k
        assert result.q[n].tolist() == ranked[1:k + 1]
    assert result.kinds == ("rather",) * k
    one_by_one = Explainer(resnet, layer="layer2")(images, Rather(result.q))
    torch.testing.assert_close(result.raw, one_by_one.raw)


def test_top_with_a_named_p_leaves_p_out_and_asks_the_margin(resnet, images):
    logits = resnet(images).detach()
    result = Explainer(resnet, layer="layer2")(images, Rather.top(2, p=4))
    for n in range(len(images)):
        ranked = [int(c) for c in logits[n].argsort(descending=True) if c != 4]
        assert result.q[n].tolist() == ranked[:2]
    assert result.p.eq(4).all() and result.kinds == ("rather_margin",) * 2
    assert repr(Rather.top(2, p=4)) == "Rather.top(2, p=4)" and repr(Rather.top(3)) == "Rather.top(3)"


def test_top_one_is_the_runner_up(resnet, images):
    explainer = Explainer(resnet, layer="layer2")
    top, runner_up = explainer(images, Rather.top(1)), explainer(images, Rather())
    assert torch.equal(top.q, runner_up.q) and torch.equal(top.raw, runner_up.raw)


@pytest.mark.parametrize("ask, says", [
    (lambda: Rather.top(0), "Rather.top(k) takes a whole number of rivals k >= 1; got 0"),
    (lambda: Rather.top(-2), "got -2"),
    (lambda: Rather.top(2.5), "got 2.5"),
    (lambda: Rather.top(True), "got True"),
    (lambda: Rather.top("3"), "got '3'"),
    (lambda: Rather(3, top=2), "Rather takes one of q, every_class or top"),
    (lambda: Rather(every_class=True, top=2), "Rather takes one of q, every_class or top"),
])
def test_top_refuses_what_is_not_a_number_of_rivals(ask, says):
    with pytest.raises(BadQuestion, match=says.replace("(", r"\(").replace(")", r"\)")):
        ask()


def test_top_refuses_more_rivals_than_classes(resnet, images):
    with pytest.raises(BadQuestion, match=r"^Rather.top\(10\) asks for 10 rivals, but the model has 10 classes: "
                                          r"at most 9 besides P$"):
        Explainer(resnet, layer="layer2")(images, Rather.top(10))


@pytest.mark.parametrize("network, layer", [("resnet", "layer2"), ("vgg", "features.7")])
def test_maps_are_made_on_first_read_as_the_straightforward_resize_and_min_max(network, layer, images, request):
    model = request.getfixturevalue(network)
    result = Explainer(model, layer=layer)(images, [Why(), Rather.all()])
    assert not result.maps_made
    assert "made on first read" in repr(result) and not result.maps_made
    expected = straightforward_maps(result.raw, (32, 32))
    torch.testing.assert_close(result.maps_at((1, slice(2, 5))), expected[1, 2:5], rtol=0, atol=1e-6)
    torch.testing.assert_close(result.maps_at(2), expected[2], rtol=0, atol=1e-6)
    assert not result.maps_made
    maps = result.maps
    assert result.maps_made and result.maps is maps and maps.shape == (3, 11, 32, 32)
    torch.testing.assert_close(maps, expected, rtol=0, atol=1e-6)
    assert result.maps_at((1, 3)).data_ptr() == maps[1, 3].data_ptr()  # read from the made maps, not made again


def test_subsets_and_cpu_copies_stay_unmade(vgg, images):
    result = Explainer(vgg, layer="features.7")(images, Rather.all())
    part, copy = result.subset(slice(1, 3)), result.cpu()
    assert not (part.maps_made or copy.maps_made or result.maps_made)
    torch.testing.assert_close(part.maps, result.maps[1:3])
    torch.testing.assert_close(copy.maps, result.maps)
    made_part = result.subset(slice(0, 1))
    assert made_part.maps_made and made_part.maps.data_ptr() == result.maps.data_ptr()


@pytest.mark.parametrize("block", [results.SAVE_BLOCK, 3 * 32 * 32 * 4])
def test_saving_writes_full_maps_block_by_block_without_making_them_all(block, vgg, images, tmp_path, monkeypatch):
    monkeypatch.setattr(results, "SAVE_BLOCK", block)
    result = Explainer(vgg, layer="features.7")(images, [Why(), Rather.all()])
    result.save(tmp_path / "lazy.h5")
    assert not result.maps_made
    eager = Explainer(vgg, layer="features.7")(images, [Why(), Rather.all()])
    eager.maps  # noqa: B018 (made before saving)
    eager.save(tmp_path / "eager.h5")
    loaded = load(tmp_path / "lazy.h5")
    assert loaded.maps_made
    torch.testing.assert_close(loaded.maps, result.maps, rtol=0, atol=0)
    with h5py.File(tmp_path / "lazy.h5") as lazy_store, h5py.File(tmp_path / "eager.h5") as eager_store:
        for name in result.ids:
            lazy_maps, eager_maps = lazy_store[f"inputs/{name}/maps"], eager_store[f"inputs/{name}/maps"]
            assert lazy_maps.dtype == np.float32 and lazy_maps.shape == (11, 32, 32)
            assert lazy_maps.chunks == eager_maps.chunks
            np.testing.assert_array_equal(lazy_maps[()], eager_maps[()])


def test_stitched_maps_are_made_on_read_too(resnet, images):
    outputs = resnet(images).detach()
    raw = torch.rand(3, 2, 12, 12, generator=torch.Generator().manual_seed(1))
    result = Explainer(resnet, layer="layer2").stitched(raw, outputs, [Why(), Rather()], gradient_path="autograd")
    assert not result.maps_made
    torch.testing.assert_close(result.maps, straightforward_maps(raw, (12, 12)), rtol=0, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
@pytest.mark.parametrize("network, layer", [("resnet", "layer2"), ("vgg", "features.9")])
def test_explanations_stay_on_the_cuda_device_and_equal_the_cpu_ones(network, layer, images, request):
    model = request.getfixturevalue(network)
    on_cpu = Explainer(model, layer=layer)(images, [Why(), Rather.top(3), Rather.all()])
    model = model.cuda()
    on_gpu = Explainer(model, layer=layer)(images, [Why(), Rather.top(3), Rather.all()])
    assert on_gpu.gradient_path == on_cpu.gradient_path != "autograd"
    assert on_gpu.raw.is_cuda and on_gpu.outputs.is_cuda and on_gpu.maps.is_cuda
    assert on_gpu.maps_at((0, 1)).is_cuda
    torch.testing.assert_close(on_gpu.raw.cpu(), on_cpu.raw, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(on_gpu.maps.cpu(), on_cpu.maps, rtol=0, atol=1e-4)


def test_a_model_in_double_precision_gives_double_maps(images):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 32 * 32, 5)).double()
    result = Explainer(model, layer="1")(images.double(), Rather.all())
    assert result.gradient_path == "first-linear" and result.maps.dtype == torch.float64
    torch.testing.assert_close(result.maps, straightforward_maps(result.raw, (32, 32)))
