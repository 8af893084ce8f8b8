"""The scaling of seismic attributes and the "not asked" mask (``rather.seismic.scaling``)."""
from types import SimpleNamespace

import numpy as np
import pytest

from rather.common.errors import BadInput
from rather.seismic.scaling import PERCENTILE, RawHistogram, Scaling, asked_mask


def section(raw, predicted, asked=None, maps=None):
    return SimpleNamespace(raw=np.asarray(raw, dtype=np.float32), predicted=np.asarray(predicted),
                           asked=asked, maps=maps)


def test_the_histogram_is_the_same_in_any_order_and_its_percentile_is_within_a_bin():
    rng = np.random.default_rng(0)
    parts = [rng.exponential(0.01, size=(3, 20, 30)).astype(np.float32) for _ in range(5)]
    everywhere = [np.ones(part.shape, dtype=bool) for part in parts]
    forward, backward = RawHistogram(), RawHistogram()
    for part, asked in zip(parts, everywhere):
        forward.add(part, asked)
    for part, asked in reversed(list(zip(parts, everywhere))):
        block = RawHistogram()
        block.add(part, asked)
        backward.merge(block)
    assert np.array_equal(forward.counts, backward.counts)
    exact = np.percentile(np.concatenate([part.ravel() for part in parts]), PERCENTILE)
    factor = forward.percentile(PERCENTILE)
    assert exact <= factor <= exact * (1 + 2**-6)


def test_the_histogram_counts_only_positive_asked_values():
    histogram = RawHistogram()
    histogram.add(np.array([0.0, -1.0, 4.0, 1000.0], dtype=np.float32), np.array([True, True, True, False]))
    assert histogram.counts.sum() == 1 and histogram.percentile(50) == pytest.approx(4.0, rel=2**-7)
    assert RawHistogram().percentile(PERCENTILE) == 0.0


def test_not_asked_is_nan_in_every_scaling_and_asked_zero_stays_zero():
    raw = np.array([[[0.0, 2.0]], [[0.0, 4.0]]])  # why; rather than class 0
    explained = section(raw, predicted=[[0, 1]], maps=np.array([[[0.0, 1.0]], [[0.0, 1.0]]], dtype=np.float32))
    for scaling in (Scaling("volume", 8.0), Scaling("section"), Scaling("none")):
        values = scaling.apply(explained)
        assert values[0, 0, 0] == 0 and np.isnan(values[1, 0, 0]) and not np.isnan(values[1, 0, 1])
    np.testing.assert_array_equal(Scaling("volume", 2.0).apply(explained)[:, 0, 1], [1.0, 1.0])  # clipped to 1
    np.testing.assert_array_equal(Scaling("volume", 8.0).apply(explained)[:, 0, 1], [0.25, 0.5])
    np.testing.assert_array_equal(Scaling("none").apply(explained)[:, 0, 1], [2.0, 4.0])
    assert not Scaling("volume", 0.0).apply(explained)[0].any()


def test_a_recorded_mask_wins_over_the_predicted_classes():
    mask = np.array([[[True, True]], [[True, False]]])
    assert np.array_equal(asked_mask(section(np.zeros((2, 1, 2)), [[0, 0]], asked=mask)), mask)
    assert np.array_equal(asked_mask(section(np.zeros((2, 1, 2)), [[0, 1]])), [[[True, True]], [[False, True]]])


def test_an_unknown_scaling_is_refused_with_the_choices():
    with pytest.raises(BadInput, match="--normalise slice: not a scaling; give one of volume, section, none"):
        Scaling("slice")

