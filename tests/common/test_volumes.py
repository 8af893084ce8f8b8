"""Volumes: Conv3d activations give maps (N, Q, D, H, W) over inputs (N, C, D, H, W) (issue 14, item 5).

The reference hooks the layer, takes ``torch.autograd.grad`` of the loss there and applies each
method's formula by hand, then resizes trilinearly and normalises each volume; nothing of rather.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import METHODS, BadInput, BadModel, Explainer, Rather, WhatIfNot, Why, load
from rather.common.regions import box


class VolumeNet(nn.Module):
    """A 3-D classifier: two Conv3d, global average pool, linear; or dense logits per voxel."""

    def __init__(self, dense=False):
        super().__init__()
        torch.manual_seed(12)
        self.features = nn.Sequential(nn.Conv3d(2, 4, 3, padding=1), nn.ReLU(), nn.Conv3d(4, 6, 3, stride=2, padding=1))
        self.head = nn.Conv3d(6, 3, 1) if dense else nn.Sequential(nn.ReLU(), nn.AdaptiveAvgPool3d(1), nn.Flatten(),
                                                                    nn.Linear(6, 3))
        self.dense = dense

    def forward(self, x):
        y = self.head(self.features(x))
        return F.interpolate(y, size=x.shape[2:], mode="trilinear") if self.dense else y


@pytest.fixture
def volumes():
    return torch.randn(2, 2, 6, 8, 10, generator=torch.Generator().manual_seed(6))


def hand_maps(model, x, loss_of_output, method):
    """Normalised (N, D, H, W) maps of one question at ``features``, each method's formula written out."""
    saved = []
    handle = model.features.register_forward_hook(lambda module, args, output: saved.append(output))
    loss = loss_of_output(model(x))
    handle.remove()
    (g,) = torch.autograd.grad(loss, saved[0])
    a = saved[0].detach()
    if method == "gradcam":
        raw = (g.mean(dim=(2, 3, 4), keepdim=True) * a).sum(dim=1)
    elif method == "hirescam":
        raw = (g * a).sum(dim=1)
    else:  # layercam
        raw = (F.relu(g) * a).sum(dim=1)
    raw = F.relu(raw)
    maps = F.interpolate(raw[:, None], size=x.shape[2:], mode="trilinear", align_corners=False)[:, 0]
    low = maps.flatten(1).amin(dim=1)[:, None, None, None]
    high = maps.flatten(1).amax(dim=1)[:, None, None, None]
    return raw, (maps - low) / (high - low)


@pytest.mark.parametrize("method", ["gradcam", "hirescam", "layercam"])
def test_volume_maps_follow_the_formulas(method, volumes):
    model = VolumeNet().eval()
    result = Explainer(model, layer="features", method=method)(volumes, [Rather(1), WhatIfNot()])
    raw, maps = hand_maps(model, volumes, lambda y: F.cross_entropy(y, torch.tensor([1, 1]), reduction="sum"), method)
    assert raw.amax() > 0 and result.maps.shape == (2, 2, 6, 8, 10) and result.raw.shape == (2, 2, 3, 4, 5)
    torch.testing.assert_close(result.raw[:, 0], raw, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(result.maps[:, 0], maps, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("method", list(METHODS))
def test_every_method_gives_volume_maps_and_all_contrasts_equal_the_loop(method, volumes):
    explainer = Explainer(VolumeNet().eval(), layer=None if METHODS[method].source == "input" else "features",
                          method=method)
    together = explainer(volumes, Rather.all())
    assert together.maps.shape == (2, 3, 6, 8, 10)
    assert together.maps.amin() >= 0 and together.maps.amax() <= 1
    for q in range(3):
        torch.testing.assert_close(together.raw[:, q], explainer(volumes, Rather(q)).raw[:, 0], rtol=1e-4, atol=1e-6)


def test_input_gradients_over_a_volume(volumes):
    model = VolumeNet().eval()
    x = volumes.clone().requires_grad_(True)
    (gradient,) = torch.autograd.grad(model(x)[:, 2].sum(), x)
    result = Explainer(model, method="gradient")(volumes, Why(2))
    torch.testing.assert_close(result.raw[:, 0], gradient.abs().amax(dim=1))


def test_a_dense_volume_output_takes_a_box_of_voxels(volumes):
    model = VolumeNet(dense=True).eval()
    region = box((6, 8, 10), (1, 2, 2), (4, 6, 9))
    result = Explainer(model, layer="features")(volumes, Rather(2, p=0, region=region))
    loss = lambda y: ((y[:, 0] - y[:, 2]) * region).sum()  # noqa: E731
    raw, _ = hand_maps(model, volumes, loss, "gradcam")
    torch.testing.assert_close(result.raw[:, 0], raw, rtol=1e-4, atol=1e-6)
    assert result.outputs.shape == (2, 3, 6, 8, 10)


def test_volume_results_are_saved_and_loaded(volumes, tmp_path):
    result = Explainer(VolumeNet().eval(), layer="features")(volumes, [Why(), Rather.all()])
    loaded = load(result.save(tmp_path / "volumes.h5"))
    torch.testing.assert_close(loaded.maps, result.maps)
    torch.testing.assert_close(loaded.raw, result.raw)


def test_a_volume_model_is_left_untouched(volumes, untouched):
    model = VolumeNet()
    model.train()
    with untouched(model):
        Explainer(model, layer="features.0", method="gradcampp")(volumes, Rather.all())


def test_a_layer_of_another_kind_than_the_input_is_refused(volumes):
    class Flattened(nn.Module):
        """Slices of a volume through a Conv2d: 2-D activations for 3-D inputs."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(2, 4, 3, padding=1)
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(self.conv(x.mean(dim=2)).mean(dim=(2, 3)))

    with pytest.raises(BadModel, match=r"layer 'conv' gives maps over \(8, 10\) for inputs over \(6, 8, 10\): pick "
                                       r"a layer of the same kind \(Conv3d for a volume"):
        Explainer(Flattened().eval(), layer="conv")(volumes, Why())


@pytest.mark.parametrize("x, message", [
    (torch.zeros(1, 2, 3, 4, 5, 6), r"input must have shape \(N, C, H, W\); got \(1, 2, 3, 4, 5, 6\) \(or "
                                    r"\(N, C, D, H, W\) for a volume\)"),
    (torch.zeros(1, 2, 0, 4, 5), r"input is empty: shape \(1, 2, 0, 4, 5\)"),
])
def test_bad_volumes_are_refused(x, message):
    with pytest.raises(BadInput, match=message):
        Explainer(VolumeNet().eval(), layer="features")(x, Why())
