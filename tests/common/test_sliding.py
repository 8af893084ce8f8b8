"""Shift-and-stitch: every window's answers equal explaining the window on its own; the feature grid."""
import copy

import numpy as np
import pytest
import torch
from torch import nn

from rather.common import Explainer, Rather, Why
from rather.common.errors import BadInput
from rather.common.maps import upsample
from rather.common.networks import SmallCNN
from rather.common.sliding import SlidingWindows
from rather.common.trunks import pool_step, trunk_segments


def randomised(model):
    """Non-trivial batch-norm statistics, so that a wrong crop cannot hide behind an identity."""
    torch.manual_seed(3)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.normal_(0, 0.2)
            module.running_var.uniform_(0.5, 2.0)
    return model.eval()


class AvgTrunkNet(nn.Module):
    """A trunk with nested Sequentials, average pools of step 3 and 2, a dilated conv; GAP-linear head."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.features = nn.Sequential(
            nn.Sequential(nn.Conv2d(2, 6, 3), nn.ReLU(), nn.AvgPool2d(3)),
            nn.Conv2d(6, 8, 3, dilation=2), nn.GELU(), nn.MaxPool2d(2), nn.Conv2d(8, 8, 1),
        )
        self.fc = nn.Linear(8, 3)

    def classify(self, features):
        return self.fc(features.mean((2, 3)))

    def forward(self, x):
        return self.classify(self.features(x))


def windows_one_by_one(explainer, image, rows, cols, window):
    x = torch.stack([image[:, r:r + window, c:c + window] for r in rows for c in cols])
    return explainer(x, [Why(), Rather.all()])


@pytest.mark.parametrize("model, channels, window, steps", [
    (randomised(SmallCNN(num_classes=4, in_channels=1, width=4, pools=3, padding=0)), 1, 45, [2, 2, 2, 1]),
    (AvgTrunkNet().eval(), 2, 30, [3, 2, 1]),
], ids=["SmallCNN", "average pools"])
def test_every_window_equals_its_own_explanation(model, channels, window, steps):
    assert [step for _, step in trunk_segments(model.features)] == steps
    explainer = Explainer(model, layer="features")
    windows = SlidingWindows.of(explainer, max_windows=7)  # several head passes, blocks split across them
    image = torch.randn(channels, 80, 97, generator=torch.Generator().manual_seed(0))
    rows, cols = np.array([0, 5, 13, 26, 35]), np.array([0, 3, 7, 11, 40, 49, 52])
    seen = np.zeros((len(rows), len(cols)), dtype=int)
    for row_index, col_index, result in windows.explain(image, rows, cols, window, [Why(), Rather.all()]):
        expected = windows_one_by_one(explainer, image, rows[row_index], cols[col_index], window)
        torch.testing.assert_close(result.raw, expected.raw, rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(result.outputs, expected.outputs, rtol=1e-4, atol=1e-5)
        assert torch.equal(result.p, expected.p) and torch.equal(result.q, expected.q)
        seen[np.ix_(row_index, col_index)] += 1
    assert (seen == 1).all(), "every window answered exactly once"
    with pytest.raises(BadInput, match="run past the image"):
        next(windows.explain(image, rows, cols + 60, window, [Why()]))


def test_padded_strided_or_unknown_trunks_are_explained_window_by_window():
    padded = SmallCNN(num_classes=4, in_channels=1, width=4, pools=2)
    assert trunk_segments(padded.features) is None and SlidingWindows.of(Explainer(padded, "features")) is None
    strided = nn.Sequential(nn.Conv2d(1, 4, 3, stride=2), nn.ReLU())
    overlapping = nn.Sequential(nn.Conv2d(1, 4, 3), nn.MaxPool2d(3, stride=2))
    custom = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Upsample(scale_factor=2))
    assert trunk_segments(strided) is None and trunk_segments(overlapping) is None and trunk_segments(custom) is None
    valid = SmallCNN(num_classes=4, in_channels=1, width=4, pools=2, padding=0)
    assert SlidingWindows.of(Explainer(valid, "features.3")) is None, "the layer must be the whole trunk"
    assert SlidingWindows.of(Explainer(valid, "features")) is not None


def test_result_subset_is_the_answers_about_those_inputs():
    model = randomised(SmallCNN(num_classes=4, in_channels=1, width=4, pools=3, padding=0))
    explainer = Explainer(model, layer="features")
    x = torch.randn(6, 1, 45, 45, generator=torch.Generator().manual_seed(1))
    whole = explainer(x, [Why(), Rather(2)])
    part = whole.subset(slice(2, 5))
    alone = explainer(x[2:5], [Why(), Rather(2)])
    torch.testing.assert_close(part.raw, alone.raw)
    torch.testing.assert_close(part.maps, alone.maps)
    assert part.ids == whole.ids[2:5] and torch.equal(part.q, alone.q) and part.kinds == alone.kinds


def positive_linear_twin(trunk):
    """The trunk with |weights|, average pools and no non-linearity: a cell's input gradient covers its whole reach."""
    layers = []
    for module in trunk.modules():
        if isinstance(module, nn.Conv2d):
            twin = copy.deepcopy(module)
            with torch.no_grad():
                twin.weight.abs_()
            layers.append(twin)
        elif pool_step(module):
            layers.append(nn.AvgPool2d(pool_step(module)))
    return nn.Sequential(*layers)


@pytest.mark.parametrize("model", [SmallCNN(num_classes=4, in_channels=1, width=4, pools=3, padding=0),
                                   AvgTrunkNet()], ids=["SmallCNN", "average pools"])
def test_feature_grid_is_where_each_cell_looks(model):
    """Cell (i, j)'s receptive field, found from the input gradient, is centred on the grid's position."""
    grid = Explainer(model.eval(), layer="features").grid
    twin = positive_linear_twin(model.features)
    x = torch.rand(1, twin[0].in_channels, 64, 64, requires_grad=True)
    activation = twin(x)
    for i, j in ((0, 0), (1, 2), (activation.shape[2] - 1, 0)):
        (gradient,) = torch.autograd.grad(activation[0, :, i, j].sum(), x, retain_graph=True)
        reach = gradient.abs().sum((0, 1)) > 0
        rows, cols = torch.nonzero(reach.any(1))[:, 0], torch.nonzero(reach.any(0))[:, 0]
        assert (float(rows.min() + rows.max()) / 2, float(cols.min() + cols.max()) / 2) == \
            (grid.first[0] + grid.spacing * i, grid.first[1] + grid.spacing * j)


def test_maps_are_placed_on_the_grid_not_stretched():
    model = randomised(SmallCNN(num_classes=4, in_channels=1, width=4, pools=3, padding=0))
    explainer = Explainer(model, layer="features")
    assert explainer.grid.first == (18.5, 18.5) and explainer.grid.spacing == 8  # 99 x 99 -> 8 x 8 cells
    raw = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    raw[0, 0, 2, 5] = 1.0  # centred on (34.5, 58.5)
    placed = upsample(raw, (99, 99), explainer.grid)
    assert placed.is_contiguous(), "normalise_ views the maps flat (einsum's layout differs on CUDA and torch 2.11)"
    placed = placed[0, 0]
    assert placed[34:36, 58:60].min() == placed.max() and float(placed.max()) == pytest.approx((15 / 16) ** 2)
    assert placed[:27, :].abs().max() == 0 and placed[43:, :].abs().max() == 0  # one cell's reach: +- 8 pixels
    edge = torch.zeros(1, 1, 8, 8, dtype=torch.float64)
    edge[0, 0, 0, :] = 1.0
    assert (upsample(edge, (99, 99), explainer.grid)[0, 0, :19] == 1).all(), "constant beyond the outer cells"
    stretched = Explainer(SmallCNN(num_classes=4, in_channels=1, width=4, pools=3), layer="features")
    assert stretched.grid is None


def test_the_image_is_never_modified():
    """A trunk that starts with an in-place ReLU works on a copy."""
    model = AvgTrunkNet()
    model.features = nn.Sequential(nn.ReLU(inplace=True), *model.features)
    windows = SlidingWindows.of(Explainer(model.eval(), layer="features"))
    image = torch.randn(2, 40, 40, generator=torch.Generator().manual_seed(4))
    before = image.clone()
    answers = list(windows.explain(image, np.array([0, 4]), np.array([1, 10]), 30, [Why()]))
    assert torch.equal(image, before) and sum(len(r) * len(c) for r, c, _ in answers) == 4
