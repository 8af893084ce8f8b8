"""Explainer(assemble=...): models that run the explained layer on tiles of each input."""
import pytest
import torch
from torch import nn

from rather.common import BadModel, Explainer, Why


class TwoHalves(nn.Module):
    """Cuts each (N, 1, 8, 16) input into its left and right 8 x 8 halves, scores each with a conv, sums."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.head = nn.Linear(4, 1)

    def forward(self, x):
        halves = torch.cat([x[..., :8], x[..., 8:]])  # (2N, 1, 8, 8): all left halves, then all right halves
        features = torch.relu(self.conv(halves))
        scores = self.head(features.mean(dim=(2, 3)))[:, 0]
        return scores.view(2, -1).sum(0)


def side_by_side(raw, shape):
    n = shape[0]
    return torch.cat([raw[:n], raw[n:]], dim=-1)


def test_tiled_layer_without_assemble_is_refused():
    with pytest.raises(BadModel, match="ran on 4 items for 2 inputs.*assemble="):
        Explainer(TwoHalves(), layer="conv", head="autograd")(torch.rand(2, 1, 8, 16), Why())


def test_assembled_maps_equal_each_half_explained_on_its_own():
    model = TwoHalves()
    x = torch.rand(2, 1, 8, 16)
    result = Explainer(model, layer="conv", head="autograd", assemble=side_by_side)(x, Why())
    assert result.raw.shape == (2, 1, 8, 16) and result.maps.shape == (2, 1, 8, 16)
    # the score is a sum over halves, so each half's gradient is that of its own score
    for n in range(2):
        for half in range(2):
            features = model.conv(x[n:n + 1, :, :, 8 * half:8 * half + 8]).detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(model.head(torch.relu(features).mean(dim=(2, 3))).sum(), features)
            cam = torch.relu((grad.mean(dim=(2, 3), keepdim=True) * features).sum(1))[0]
            torch.testing.assert_close(result.raw[n, 0, :, 8 * half:8 * half + 8], cam.detach())
