"""WaDIQaM / DIQaM: shapes, the weighted average over tiles, the trunk run twice, the four variants."""
import numpy as np
import pytest
import torch

from rather.common import BadInput
from rather.iqa.networks import diqam_fr, diqam_nr, wadiqam_fr, wadiqam_nr


def test_tiles_known_answers():
    model = wadiqam_fr(4)
    assert [axis.tolist() for axis in model.tiles(32, 96)] == [[0], [0, 32, 64]]
    assert [axis.tolist() for axis in model.tiles(100, 40)] == [[0, 32, 64, 68], [0, 8]]  # the last flush
    with pytest.raises(BadInput, match="smaller than the 32 x 32 patch"):
        model.tiles(31, 64)


def test_image_score_is_the_weighted_average_of_tile_scores():
    torch.manual_seed(0)
    model = wadiqam_fr(4).eval()
    x = torch.rand(2, 6, 40, 70)
    with torch.no_grad():
        scores = model(x)
        rows, cols = (0, 8), (0, 32, 38)  # non-overlapping tiles, the last flush with the far edge
        quality, weight = [], []
        for n in range(2):
            for r in rows:
                for c in cols:
                    q, w = model.patch_outputs(x[n:n + 1, :, r:r + 32, c:c + 32])
                    quality.append(q)
                    weight.append(w)
        quality, weight = torch.cat(quality).view(2, -1), torch.cat(weight).view(2, -1)
    assert scores.shape == (2,)
    torch.testing.assert_close(scores, (quality * weight).sum(1) / weight.sum(1))
    with torch.no_grad():
        single = model(x[:1, :, :32, :32])
        torch.testing.assert_close(single, model.patch_outputs(x[:1, :, :32, :32])[0])


def test_diqam_is_the_plain_mean_and_nr_takes_three_channels():
    torch.manual_seed(1)
    x = torch.rand(1, 6, 64, 64)
    model = diqam_fr(4).eval()
    with torch.no_grad():
        tiles = torch.stack([x[0, :, r:r + 32, c:c + 32] for r in (0, 32) for c in (0, 32)])
        torch.testing.assert_close(model(x), model.patch_outputs(tiles)[0].mean().reshape(1))
        assert wadiqam_nr(4).eval()(x[:, :3]).shape == (1,)
        assert diqam_nr(4).eval()(x[:, :3]).shape == (1,)
    assert model.weight is None and wadiqam_fr(4).weight is not None
    with pytest.raises(BadInput, match=r"6 channels, \(N, 6, H, W\)"):
        model(x[:, :3])
    with pytest.raises(BadInput, match=r"3 channels"):
        wadiqam_nr(4)(x)


def test_full_reference_runs_the_trunk_twice_distorted_first():
    torch.manual_seed(2)
    model = wadiqam_fr(4).eval()
    x = torch.rand(1, 6, 32, 32)
    seen = []
    handle = model.features.register_forward_hook(lambda module, inputs, output: seen.append(inputs[0].clone()))
    with torch.no_grad():
        model(x)
    handle.remove()
    assert len(seen) == 2
    torch.testing.assert_close(seen[0], x[:, :3])
    torch.testing.assert_close(seen[1], x[:, 3:])


def test_width_scales_the_trunk():
    assert wadiqam_fr(4).features[-2].out_channels == 64
    assert wadiqam_fr(32).features[-2].out_channels == 512  # the paper's conv10
    convs = [m for m in wadiqam_fr(8).features if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 10 and all(c.kernel_size == (3, 3) for c in convs)
    assert sum(isinstance(m, torch.nn.MaxPool2d) for m in wadiqam_fr(8).features) == 4
    assert np.prod(wadiqam_fr(8)(torch.rand(1, 6, 32, 32)).shape) == 1
