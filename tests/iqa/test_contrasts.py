"""Score contrasts: the algebra of (s - q)^2; patchwise and image mode against straightforward computations."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from rather.common import BadInput, Explainer, Kind, ScoreRather, Task, WhatIfNot, Why, load_model
from rather.common.windows import taper_weights
from rather.iqa.contrasts import explain_image, explain_patchwise
from rather.iqa.distortions import distort
from rather.iqa.options import FAST_STRIDE
from rather.iqa.quality_model import DEFAULT_CHECKPOINT, pairs
from rather.iqa.sides import region_sides, same_map_notes, silent_side_notes
from rather.iqa.synthetic import photo


@pytest.fixture(scope="module")
def model():
    """The committed default model (a random network's maps are often all zero)."""
    return load_model(weights=DEFAULT_CHECKPOINT)[0]


def pair(kind: str, seed: int, height: int, width: int) -> torch.Tensor:
    """(1, 6, height, width): a crop of a held-out photo damaged by ``kind``, and the crop."""
    reference = photo("chelsea")[20 + seed:20 + seed + height, 100:100 + width]
    return pairs(distort(reference, kind, 3, seed=seed).transpose(2, 0, 1)[None], reference.transpose(2, 0, 1)[None])


def test_score_contrast_is_gradcam_scaled_by_twice_the_gap(model):
    """For one scalar s: map(s rather than q) = 2 (s - q) map(Why s) if s > q, 2 (q - s) map(What if not s) if s < q."""
    # the default model's window maps are one-sided: blur windows answer Why s?, noise windows What if not s?
    windows = torch.cat([pair(kind, seed, 32, 32) for kind in ("gaussian_blur", "white_noise") for seed in (0, 40)])
    explainer = Explainer(model, layer="features", call=0, head="autograd")
    s = explainer(windows, Why()).scores.double()
    below, above = (s - 0.2).reshape(-1, 1), (s + 0.3).reshape(-1, 1)
    result = explainer(windows, [Why(), WhatIfNot(), ScoreRather(torch.cat([below, above], 1))])
    raw = result.raw.double()
    assert raw[:, 0].abs().sum() > 0 and raw[:, 1].abs().sum() > 0
    torch.testing.assert_close(raw[:, 2], 2 * 0.2 * raw[:, 0], rtol=1e-5, atol=1e-9)
    torch.testing.assert_close(raw[:, 3], 2 * 0.3 * raw[:, 1], rtol=1e-5, atol=1e-9)
    equal = explainer(windows, ScoreRather(s.reshape(-1, 1))).raw
    assert not equal.any()  # s = q: nothing to explain


def starts(size, stride, window=32):
    """0, stride, 2 stride, ... and the window flush with the far edge."""
    offsets = list(range(0, size - window + 1, stride))
    return offsets if offsets[-1] == size - window else offsets + [size - window]


def gaussian_window(sigma=8.0):
    """The paper's (32, 32) blending window g(i) g(j), g(k) = exp(-(k + 1/2 - 16)^2 / (2 sigma^2))."""
    g = torch.exp(-(torch.arange(32, dtype=torch.float64) + 0.5 - 16) ** 2 / (2 * sigma ** 2))
    return g[:, None] * g[None, :]


def straightforward_patchwise(model, x, q, stride, signed=False):
    """One window at a time: forward, (s - q)^2 backward to conv10's output on the distorted branch, Grad-CAM;
    ``signed``: each window's map times sign(s_window - q); ``stride``: one for both axes, or (down, across)."""
    height, width = x.shape[-2:]
    down, across = stride if isinstance(stride, tuple) else (stride, stride)
    total = torch.zeros(height, width, dtype=torch.float64)
    weights = torch.zeros(height, width, dtype=torch.float64)
    window = gaussian_window()
    for r in starts(height, down):
        for c in starts(width, across):
            seen = []
            handle = model.features.register_forward_hook(lambda m, i, o: seen.append(o))
            score = model(x[:, :, r:r + 32, c:c + 32])
            handle.remove()
            (grad,) = torch.autograd.grad((score - q).pow(2).sum(), seen[0])
            cam = F.relu((grad.mean(dim=(2, 3), keepdim=True) * seen[0]).sum(1, keepdim=True))
            up = F.interpolate(cam, size=(32, 32), mode="bilinear", align_corners=False)[0, 0].double()
            sign = float(torch.sign(score.detach() - q)) if signed else 1.0
            total[r:r + 32, c:c + 32] += window * sign * up.detach()
            weights[r:r + 32, c:c + 32] += window
    return (total / weights).float()


def test_patchwise_equals_the_straightforward_loop(model):
    x = torch.cat([pair("white_noise", 3, 48, 28), pair("gaussian_blur", 3, 48, 28)], dim=3)
    result, window_scores, sides = explain_patchwise(model, x, [0.9, 0.1], stride=8, batch=5)
    assert result.maps.shape == (1, 3, 48, 56) and window_scores.shape == (3, 4)
    for column, q in ((1, 0.9), (2, 0.1)):
        expected = straightforward_patchwise(model, x, q, stride=8)
        assert expected.abs().max() > 0
        torch.testing.assert_close(result.raw[0, column], expected, rtol=1e-4, atol=1e-7)
    with torch.no_grad():
        score = float(model(x)[0])
    assert result.scores[0] == pytest.approx(score, abs=1e-6)
    assert result.title(0, 1) == f"Why {score:.3g}, rather than 0.9?"
    assert 0 <= result.maps.min() and result.maps.max() == 1
    assert result.kinds == (Kind.WHY, Kind.SCORE_RATHER, Kind.SCORE_RATHER) and result.task is Task.SCORE
    torch.testing.assert_close(result.q, torch.tensor([[float("nan"), 0.9, 0.1]], dtype=torch.float64), equal_nan=True)
    torch.testing.assert_close(result.p, torch.full((1, 3), score, dtype=torch.float64), rtol=0, atol=1e-7)
    torch.testing.assert_close(result.maps, (result.raw - result.raw.amin((2, 3), keepdim=True))
                               / (result.raw.amax((2, 3), keepdim=True) - result.raw.amin((2, 3), keepdim=True)))


@pytest.mark.parametrize("stride, grid", [((4, 8), (5, 4)), (FAST_STRIDE, (5, 3))])
def test_patchwise_with_a_stride_down_and_another_across_equals_the_straightforward_loop(model, stride, grid):
    """Fast mode's grid (``options.FAST_STRIDE``: every third column of windows) is the same question on fewer
    windows, each window's map exact: the blend of those windows one at a time."""
    x = pair("white_noise", 3, 48, 56)
    result, window_scores, _ = explain_patchwise(model, x, [0.9], stride=stride)
    assert window_scores.shape == grid  # rows 0, 4, ..., 16 by columns 0, 8, 16, 24 or 0, 12, 24
    expected = straightforward_patchwise(model, x, 0.9, stride=stride)
    assert expected.abs().max() > 0
    torch.testing.assert_close(result.raw[0, 1], expected, rtol=1e-4, atol=1e-7)
    assert f"windows of 32 x 32 at stride 4 down, {stride[1]} across" in result.notes[0]


def test_side_maps_sign_each_window_by_the_side_of_q_its_score_lies_on(model):
    x = torch.cat([pair("white_noise", 3, 48, 28), pair("gaussian_blur", 3, 48, 28)], dim=3)
    median = float(np.median(explain_patchwise(model, x, [0.5], stride=8)[1]))
    _, window_scores, sides = explain_patchwise(model, x, [0.9, 0.1, median], stride=8)
    for index, q in enumerate((0.9, 0.1)):
        expected = straightforward_patchwise(model, x, q, stride=8, signed=True).double()
        torch.testing.assert_close(sides.maps[index].double(), expected / expected.abs().max(), rtol=1e-4, atol=1e-6)
    records = sides.records([0.9, 0.1, median])
    assert records[0]["windows_below"] == 12 and records[0]["below_share"] == 1.0  # every window scores below 0.9
    assert records[1]["windows_above"] == 12 and records[1]["above_share"] == 1.0
    assert records[2]["windows_above"] == records[2]["windows_below"] == 6  # the median splits the windows
    assert sides.maps[2].min() < 0 < sides.maps[2].max()
    assert sides.unit == "window" and sides.scores.shape == (12,)


def test_two_contrasts_on_the_same_side_of_every_window_are_said_to_give_the_same_map(model):
    x = pair("white_noise", 3, 48, 56)
    result, window_scores, sides = explain_patchwise(model, x, [0.95, 0.99], stride=8)
    assert window_scores.max() < 0.95
    notes = same_map_notes(result.maps[0, 1:], [0.95, 0.99], sides.scores, sides.unit)
    assert len(notes) == 1 and notes[0].startswith("Why s, rather than 0.95? and Why s, rather than 0.99? give the same "
                                                   "map (correlation ")
    assert notes[0].endswith("): every window scores below both, so each map is What if not s? of every window, scaled "
                             "by its gap to q: it shows where the image falls short of both, not which q is nearer; the "
                             "side maps say on which side of q each window lies")
    assert same_map_notes(result.maps[0, :2], [0.95, -0.5], sides.scores, sides.unit) == []  # Why s? is another map


def window_has_evidence(model, window, q):
    """One window alone: does Grad-CAM of (s - q)^2 at conv10's output have any non-zero value?"""
    seen = []
    handle = model.features.register_forward_hook(lambda m, i, o: seen.append(o))
    score = model(window)
    handle.remove()
    (grad,) = torch.autograd.grad((score - q).pow(2).sum(), seen[0])
    return bool(F.relu((grad.mean(dim=(2, 3), keepdim=True) * seen[0]).sum(1)).gt(0).any())


def test_windows_without_evidence_are_counted_per_side_and_said_when_they_are_half_of_it(model):
    """Noise windows answer What if not s? but have no Why s? (see the first test): above a low q, where each
    window's question is Why s_w?, none of them shows evidence, and the all-blue or empty side map must say so."""
    x = pair("white_noise", 3, 48, 56)
    scores = explain_patchwise(model, x, [0.5], stride=8)[1]
    low, high = float(scores.min()) - 0.05, float(scores.max()) + 0.05
    _, _, sides = explain_patchwise(model, x, [low, high], stride=8)
    expected = np.array([[window_has_evidence(model, x[:, :, r:r + 32, c:c + 32], q) for q in (low, high)]
                         for r in starts(48, 8) for c in starts(56, 8)])
    np.testing.assert_array_equal(sides.evidence, expected)
    assert not expected[:, 0].any() and expected[:, 1].all()
    above, below = sides.records([low, high])
    assert (above["windows_above"], above["windows_above_without_evidence"]) == (12, 12)
    assert (below["windows_below"], below["windows_below_without_evidence"]) == (12, 0)
    notes = silent_side_notes([above, below], [low, high], sides.unit)
    assert notes == [f"Why s, rather than {low:.3g}?: all 12 windows scoring above q show no evidence at this layer "
                     "(for them the question is Why s? of the window, all zero after the ReLU), so the side map's "
                     "shares weigh evidence, not windows: 12 of 12 score above q"]


def test_image_mode_side_maps_are_each_tile_s_share_of_s_minus_q(model):
    x = pair("white_noise", 5, 40, 70)
    sides = region_sides(model, x, [0.5], score=None)
    rows, cols = starts(40, 32), starts(70, 32)
    with torch.no_grad():
        quality, weight = model.patch_outputs(torch.cat([x[:, :, r:r + 32, c:c + 32] for r in rows for c in cols]))
        image = float(model(x)[0])
    shares = weight.double() * (quality.double() - 0.5) / weight.double().sum()
    assert float(shares.sum()) == pytest.approx(image - 0.5, abs=1e-6)  # exact: s - q is the sum of the shares
    top_left = float(shares[0] / shares.abs().max())
    assert float(sides.maps[0, 0, 0]) == pytest.approx(top_left, abs=1e-6)
    assert sides.unit == "region" and sides.scores.shape == (len(rows) * len(cols),)


def test_image_mode_follows_the_weighted_average(model):
    """J = (s_image - q)^2 through the weighted average: each tile's Grad-CAM with the gradient of the image score."""
    x = pair("white_noise", 5, 40, 70)
    q = 0.95
    result = explain_image(model, x, [q])
    rows, cols = starts(40, 32), starts(70, 32)
    seen = []
    handle = model.features.register_forward_hook(lambda m, i, o: seen.append(o))
    score = model(x)
    handle.remove()
    activation = seen[0]  # (tiles, K, 2, 2), distorted branch
    (grad,) = torch.autograd.grad((score - q).pow(2).sum(), activation)
    cams = F.relu((grad.mean(dim=(2, 3), keepdim=True) * activation).sum(1, keepdim=True))
    tiles = F.interpolate(cams, size=(32, 32), mode="bilinear", align_corners=False)[:, 0].detach()
    total, count = torch.zeros(40, 70), torch.zeros(40, 70)
    for index, (r, c) in enumerate((r, c) for r in rows for c in cols):
        total[r:r + 32, c:c + 32] += tiles[index]
        count[r:r + 32, c:c + 32] += 1
    assert total.abs().max() > 0
    torch.testing.assert_close(result.raw[0, 1], total / count, rtol=1e-4, atol=1e-7)
    assert result.maps.shape == (1, 2, 40, 70) and result.kinds == ("why", "score_rather")


def test_patchwise_refuses_bad_arguments(model):
    for stride in (0, 33, 2.5, True, (4, 0), (33, 4), (4, 2.5), (4, True)):  # 33 would leave pixels uncovered
        with pytest.raises(BadInput, match="stride must be a positive number of pixels, at most the window's 32"):
            explain_patchwise(model, pair("jpeg", 1, 40, 70), [0.5], stride=stride)
    with pytest.raises(BadInput, match="smaller than the 32 x 32 patch"):
        explain_patchwise(model, pair("jpeg", 1, 32, 32)[..., :20], [0.5])
    with pytest.raises(BadInput, match="one pair at a time"):
        explain_patchwise(model, torch.cat([pair("jpeg", 1, 32, 32)] * 2), [0.5])


def test_the_blending_window_is_a_centred_gaussian_of_sigma_8():
    """The taper patchwise mode blends with (``rather.common.windows``' "gaussian" at its default sigma)."""
    g = taper_weights("gaussian", 32)
    window = np.outer(g, g)
    np.testing.assert_allclose(window, window[::-1, ::-1])
    assert window[15, 15] == pytest.approx(np.exp(-(0.5 ** 2) / 64))
    assert window[0, 16] == pytest.approx(np.exp(-(15.5 ** 2) / 128) * np.exp(-(0.5 ** 2) / 128))
    np.testing.assert_allclose(window, gaussian_window().numpy())
