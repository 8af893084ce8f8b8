"""Explanation metrics against straightforward, independent computations."""

import numpy as np
import pytest
import scipy.ndimage
import scipy.stats
import torch

from rather.common.maps import upsample
from rather.common.metrics import box_masks, rank_correlation
from rather.common.perturbation import area_under, blurred, perturbation_curves, random_maps


def naive_curve(model, image, ranking_map, p, q, fill, steps, insertion):
    """One image, one step at a time, pixels sorted by Python's sort (value descending, raster order on ties)."""
    height, width = ranking_map.shape
    values = ranking_map.flatten().tolist()
    order = sorted(range(height * width), key=lambda i: (-values[i], i))
    margins, probabilities = [], []
    for k in range(steps + 1):
        count = int(round(k / steps * height * width))
        current = fill.clone() if insertion else image.clone()
        source = image if insertion else fill
        for index in order[:count]:
            row, col = divmod(index, width)
            current[:, row, col] = source[:, row, col]
        with torch.no_grad():
            logits = model(current[None])[0]
        margins.append(float(logits[p] - logits[q]))
        probabilities.append(float(logits.softmax(0)[p]))
    return margins, probabilities


@pytest.mark.parametrize("mode", ["deletion", "insertion"])
def test_curves_equal_the_pixel_by_pixel_loop(resnet, images, mode):
    maps = torch.rand(3, 32, 32, generator=torch.Generator().manual_seed(1))
    maps[0, :8] = 0.5  # ties: kept in raster order
    p, q = torch.tensor([1, 2, 3]), torch.tensor([4, 5, 1])
    curves = perturbation_curves(resnet, images, maps, p, q, mode=mode, steps=5, batch_size=2)
    fill = torch.zeros_like(images) if mode == "deletion" else blurred(images)
    for i in range(3):
        margins, probabilities = naive_curve(resnet, images[i], maps[i], int(p[i]), int(q[i]), fill[i], 5,
                                             mode == "insertion")
        torch.testing.assert_close(curves.margin[i], torch.tensor(margins), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(curves.probability[i], torch.tensor(probabilities), rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(curves.fractions, torch.linspace(0, 1, 6))


def test_area_is_the_trapezoid_rule():
    fractions = torch.tensor([0.0, 0.25, 0.5, 1.0])
    values = torch.tensor([[4.0, 2.0, 1.0, 0.0], [1.0, 1.0, 1.0, 1.0]])
    expected = [0.25 * 3 + 0.25 * 1.5 + 0.5 * 0.5, 1.0]
    torch.testing.assert_close(area_under(fractions, values), torch.tensor(expected, dtype=torch.float64))


def test_deleting_what_a_model_reads_first_drops_its_margin_first():
    """A model whose margin is the mean of the left half: deleting by a left-first map beats right-first."""
    class LeftHalf(torch.nn.Module):
        def forward(self, x):
            left = x[:, :, :, :8].mean(dim=(1, 2, 3))
            return torch.stack([left, torch.zeros_like(left)], dim=1)

    x = torch.ones(2, 1, 8, 16)
    left_first = torch.zeros(2, 8, 16)
    left_first[:, :, :8] = 1
    p, q = torch.zeros(2, dtype=torch.long), torch.ones(2, dtype=torch.long)
    good = perturbation_curves(LeftHalf(), x, left_first, p, q, steps=4).area()
    bad = perturbation_curves(LeftHalf(), x, 1 - left_first, p, q, steps=4).area()
    torch.testing.assert_close(good, torch.full((2,), 0.25, dtype=torch.float64))  # 1, .5, 0, 0, 0
    torch.testing.assert_close(bad, torch.full((2,), 0.75, dtype=torch.float64))  # 1, 1, 1, .5, 0


def test_blur_equals_scipy_gaussian_filter():
    x = torch.rand(2, 3, 20, 24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    ours = blurred(x, sigma=2.0)
    theirs = scipy.ndimage.gaussian_filter(x.numpy(), sigma=(0, 0, 2.0, 2.0), mode="nearest", truncate=3.0)
    np.testing.assert_allclose(ours.numpy(), theirs, atol=1e-12)


def test_random_maps_are_seeded():
    assert torch.equal(random_maps(2, (4, 5), 3), random_maps(2, (4, 5), 3))
    assert not torch.equal(random_maps(2, (4, 5), 3), random_maps(2, (4, 5), 4))
    coarse = random_maps(2, (8, 10), 3, cells=(4, 5))
    torch.testing.assert_close(coarse, upsample(random_maps(2, (4, 5), 3)[:, None], (8, 10))[:, 0])


def test_box_masks_hold_the_pixel_centres_inside():
    boxes = torch.tensor([[1.0, 2.0, 4.0, 3.0], [0.4, 0.6, 1.6, 2.5]])
    masks = box_masks(boxes, (5, 6))
    for n, (x0, y0, x1, y1) in enumerate(boxes.tolist()):
        for i in range(5):
            for j in range(6):
                assert bool(masks[n, i, j]) == (x0 <= j + 0.5 < x1 and y0 <= i + 0.5 < y1)
    assert masks[0].sum() == 3


def test_rank_correlation_equals_scipy_spearman():
    generator = torch.Generator().manual_seed(0)
    a = torch.rand(3, 2, 6, 7, generator=generator)
    b = a + 0.5 * torch.rand(3, 2, 6, 7, generator=generator)
    b[0, 0, :3] = 0  # ties
    ours = rank_correlation(a, b)
    for i in range(3):
        for j in range(2):
            expected = scipy.stats.spearmanr(a[i, j].flatten(), b[i, j].flatten()).statistic
            assert ours[i, j].item() == pytest.approx(expected, abs=1e-12)
    assert torch.isnan(rank_correlation(torch.zeros(4, 4), torch.rand(4, 4)))

