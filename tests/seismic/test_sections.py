"""Section explanation equals explaining every patch on its own and overlap-adding by hand."""
import numpy as np
import pytest
import torch

from rather.common import Explainer, Rather, Why
from rather.common.maps import normalise, upsample
from rather.common.networks import SmallCNN
from rather.common.sliding import SlidingWindows
from rather.seismic.sections import QUESTIONS, explain_section

STRIDE = 7


def tiny_classifier(padding=1):
    torch.manual_seed(1)
    model = SmallCNN(num_classes=4, in_channels=1, width=4, pools=2, padding=padding).eval()
    with torch.no_grad():
        model.fc.weight.mul_(20.0)  # confident predictions that vary across the section below
        model.fc.bias.zero_()
    return model


def hann(patch):
    taper = np.sin(np.pi * (np.arange(patch) + 0.5) / patch) ** 2
    return taper[:, None] * taper[None, :]


@pytest.mark.parametrize("padding, PATCH", [(1, 21), (0, 33)], ids=["patch by patch", "shared trunk"])
def test_section_maps_equal_patch_by_patch_overlap_add(padding, PATCH):
    """Valid convolutions take the shift-and-stitch path (window phases 0-3 on both axes); same answers."""
    rng = np.random.default_rng(0)
    section = np.clip(rng.normal(size=(40, 50)), -1, 1).astype(np.float32)
    section[:, 25:] *= 0.1  # four regions of different character
    section[20:] = np.abs(section[20:])
    explainer = Explainer(tiny_classifier(padding), layer="features")
    assert (SlidingWindows.of(explainer) is not None) == (padding == 0) == (explainer.grid is not None)
    explained = explain_section(explainer, section, patch=PATCH, stride=STRIDE, batch=10)

    window = hann(PATCH)
    sums = np.zeros((len(QUESTIONS), 40, 50))
    weights = np.zeros((len(QUESTIONS), 40, 50))
    probability_sums = np.zeros((4, 40, 50))
    coverage = np.zeros((40, 50))
    classes = []
    for r in explained.rows:
        for c in explained.cols:
            x = torch.from_numpy(section[r:r + PATCH, c:c + PATCH].copy())[None, None]
            result = explainer(x, [Why(), Rather.all()])
            p = int(result.p[0, 0])
            classes.append(p)
            raw = upsample(result.raw, (PATCH, PATCH), explainer.grid)[0].numpy()
            for j in range(len(QUESTIONS)):
                if j > 0 and j - 1 == p:
                    continue  # "rather than P" is not asked of a patch predicted P
                sums[j, r:r + PATCH, c:c + PATCH] += window * raw[j]
                weights[j, r:r + PATCH, c:c + PATCH] += window
            probability_sums[:, r:r + PATCH, c:c + PATCH] += window * result.probs[0].numpy()[:, None, None]
            coverage[r:r + PATCH, c:c + PATCH] += window
    expected_raw = np.where(weights > 0, sums / np.where(weights > 0, weights, 1), 0)
    np.testing.assert_allclose(explained.raw, expected_raw, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(explained.probabilities, probability_sums / coverage, rtol=1e-5, atol=1e-6)
    expected_maps = normalise(torch.from_numpy(expected_raw).float()[None])[0].numpy()
    np.testing.assert_allclose(explained.maps, expected_maps, atol=1e-5)
    assert explained.patch_classes.ravel().tolist() == classes
    assert len(set(classes)) > 1, "all patches in one class: the exclusion rule would go untested"
    counts = explained.predicted_counts()
    assert sum(counts.values()) == len(classes) and set(counts) == {"horizon", "chaotic", "fault", "salt_dome"}
    assert explained.predicted.shape == (40, 50) and explained.maps.shape == (5, 40, 50)
