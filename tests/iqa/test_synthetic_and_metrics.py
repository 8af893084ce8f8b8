"""The synthetic full-reference set and the agreement measures."""
import numpy as np
import pytest
from scipy import stats

from rather.common import BadInput
from rather.iqa.metrics import agreement, agreement_by_kind, fit_logistic, logistic4
from rather.iqa.synthetic import SPLITS, make_synthetic, photo, ssim_quality


def test_splits_share_no_photo():
    assert not set(SPLITS["train"]) & set(SPLITS["test"])
    for name in SPLITS["test"]:
        image = photo(name)
        assert not np.allclose(image[:, :, 0], image[:, :, 1])  # colour photos only in the test split


def test_small_set_is_reproducible_and_labelled_by_ssim():
    kinds = ("gaussian_blur", "white_noise")
    first = make_synthetic("test", size=40, crops_per_photo=1, kinds=kinds, levels=2, seed=4)
    second = make_synthetic("test", size=40, crops_per_photo=1, kinds=kinds, levels=2, seed=4)
    assert first.distorted.shape == (2 * 2 * 2, 3, 40, 40) and first.references.shape == (2, 3, 40, 40)
    np.testing.assert_array_equal(first.distorted, second.distorted)
    assert list(first.kinds[:4]) == ["gaussian_blur", "gaussian_blur", "white_noise", "white_noise"]
    assert list(first.levels[:4]) == [1, 2, 1, 2] and list(first.photos) == list(SPLITS["test"])
    for index in range(len(first.labels)):
        reference = first.references[first.reference_of[index]].transpose(1, 2, 0)
        assert first.labels[index] == pytest.approx(ssim_quality(reference, first.distorted[index].transpose(1, 2, 0)))
    assert np.all((0 <= first.labels) & (first.labels < 1))
    assert ssim_quality(reference, reference) == pytest.approx(1.0)


def test_bad_split_and_size():
    with pytest.raises(BadInput, match="unknown split"):
        make_synthetic("validation")
    with pytest.raises(BadInput, match="crop size"):
        make_synthetic("test", size=16)


def test_logistic_fit_recovers_known_parameters():
    s = np.linspace(-1, 2, 60)
    truth = logistic4(s, 0.9, 0.1, 0.4, 0.3)
    fitted = logistic4(s, *fit_logistic(s, truth))
    np.testing.assert_allclose(fitted, truth, atol=1e-5)


def test_agreement_known_answers():
    rng = np.random.default_rng(0)
    truth = rng.random(50)
    monotone = np.exp(3 * truth)  # a monotone transform: ranks agree exactly, Pearson alone would not
    report = agreement(monotone, truth)
    assert report["srcc"] == pytest.approx(1) and report["krcc"] == pytest.approx(1)
    assert report["plcc"] > max(0.99, stats.pearsonr(monotone, truth)[0])  # the fit straightens the curve
    assert report["rmse"] < 0.03 and report["count"] == 50
    noisy = truth + 0.2 * rng.standard_normal(50)
    report = agreement(noisy, truth)
    assert report["srcc"] == pytest.approx(stats.spearmanr(noisy, truth)[0])
    assert report["krcc"] == pytest.approx(stats.kendalltau(noisy, truth)[0])
    assert 0 < report["plcc"] < 1 and report["rmse"] > 0
    assert np.isnan(agreement([1, 2], [1, 2])["srcc"])


def test_agreement_per_kind():
    kinds = ["a", "b", "a", "b", "a", "b"]
    report = agreement_by_kind([1, 3, 2, 2, 3, 1], [1, 1, 2, 2, 3, 3], kinds)
    assert list(report) == ["a", "b"]
    assert report["a"]["srcc"] == pytest.approx(1) and report["b"]["srcc"] == pytest.approx(-1)
