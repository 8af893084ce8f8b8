"""Patch grids, extraction and class shares of seismic sections."""
import numpy as np
import pytest
import torch

from rather.common.errors import BadInput
from rather.seismic.patches import class_shares, extract_patches, patch_grid, scale_to_unit


def section(height=130, width=157, seed=0):
    return np.random.default_rng(seed).standard_normal((height, width)).astype(np.float32)


def loop_patches(amplitude, rows, cols, patch):
    return np.stack([amplitude[r:r + patch, c:c + patch] for r in rows for c in cols])


# --- scale_to_unit ---------------------------------------------------------------------------

def test_scale_divides_by_the_percentile_and_clips():
    x = section(60, 70) * 1000
    scaled = scale_to_unit(x, percentile=90)
    expected = np.clip(x / np.percentile(np.abs(x), 90), -1, 1)
    assert scaled.dtype == np.float32
    np.testing.assert_allclose(scaled, expected, rtol=1e-6, atol=1e-7)
    assert scaled.min() == -1 and scaled.max() == 1
    assert np.mean(np.abs(scaled) == 1) == pytest.approx(0.10, abs=0.01)


def test_scale_keeps_zero_and_polarity_and_accepts_integers_and_tensors():
    x = np.array([[-300, 0], [100, 200]], dtype=np.int16)
    np.testing.assert_allclose(scale_to_unit(x, percentile=100), [[-1, 0], [1 / 3, 2 / 3]], rtol=1e-7)
    np.testing.assert_array_equal(scale_to_unit(torch.tensor(x), percentile=100), scale_to_unit(x, percentile=100))


def test_scale_of_constant_or_mostly_dead_sections():
    assert not scale_to_unit(np.zeros((4, 5))).any()
    assert not scale_to_unit(np.full((4, 5), 3.5)).any()
    spikes = np.zeros((100, 100))
    spikes[0, 0], spikes[1, 1] = 4.0, -2.0
    scaled = scale_to_unit(spikes)  # the 99.5th percentile of |x| is 0: the maximum is used
    assert scaled[0, 0] == 1 and scaled[1, 1] == -0.5


@pytest.mark.parametrize("bad", [np.array([[1.0, np.nan]]), np.array([[np.inf, 1.0]]), np.zeros((0, 3)),
                                 np.array([["a", "b"]])])
def test_scale_refuses_bad_sections(bad):
    with pytest.raises(BadInput):
        scale_to_unit(bad)


@pytest.mark.parametrize("percentile", [0, -1, 100.5, "99"])
def test_scale_refuses_bad_percentiles(percentile):
    with pytest.raises(BadInput, match="percentile"):
        scale_to_unit(section(10, 10), percentile=percentile)


# --- patch_grid ------------------------------------------------------------------------------

@pytest.mark.parametrize("height,width,patch,stride", [(130, 157, 32, 7), (99, 99, 99, 10), (300, 401, 99, 10),
                                                       (64, 200, 64, 64), (50, 120, 99, 33)])
def test_grid_covers_every_sample_and_ends_flush(height, width, patch, stride):
    rows, cols = patch_grid(height, width, patch, stride)
    assert rows.dtype == cols.dtype == np.int64
    for positions, size in ((rows, height), (cols, width)):
        assert positions[0] == 0
        assert positions[-1] == max(size - patch, 0)
        assert np.all(np.diff(positions) > 0) and np.all(np.diff(positions)[:-1] == stride)
    covered = np.zeros((max(height, patch), max(width, patch)), dtype=bool)
    for r in rows:
        for c in cols:
            covered[r:r + patch, c:c + patch] = True
    assert covered[:height, :width].all()


def test_grid_regular_steps_are_not_duplicated():
    rows, cols = patch_grid(119, 109, patch=99, stride=10)
    np.testing.assert_array_equal(rows, [0, 10, 20])
    np.testing.assert_array_equal(cols, [0, 10])


@pytest.mark.parametrize("args,match", [((49, 200, 99, 10), "too small"), ((200, 30, 64, 10), "too small"),
                                        ((200, 200, 99, 100), "gaps"), ((200, 200, 99, 0), "stride"),
                                        ((200, 200, 0, 1), "patch"), ((0, 200, 99, 10), "height"),
                                        ((200.0, 200, 99, 10), "height")])
def test_grid_refusals(args, match):
    with pytest.raises(BadInput, match=match):
        patch_grid(*args)


# --- extract_patches -------------------------------------------------------------------------

def test_extraction_equals_slicing():
    amplitude = section()
    rows, cols = patch_grid(*amplitude.shape, patch=32, stride=7)
    patches = extract_patches(amplitude, rows, cols, patch=32)
    assert patches.dtype == np.float32 and patches.shape == (len(rows) * len(cols), 32, 32)
    np.testing.assert_array_equal(patches, loop_patches(amplitude, rows, cols, 32))
    patches[0] = 0  # a copy, not a view of the section
    assert amplitude[:32, :32].any()


def test_extraction_of_arbitrary_positions_and_tensors():
    amplitude = section(80, 90)
    rows, cols = np.array([5, 0, 40]), [3, 58]
    expected = loop_patches(amplitude, rows, cols, 32)
    np.testing.assert_array_equal(extract_patches(amplitude, rows, cols, patch=32), expected)
    np.testing.assert_array_equal(
        extract_patches(torch.from_numpy(amplitude), torch.tensor(rows), torch.tensor(cols), patch=32), expected)


def test_small_sections_are_reflect_padded():
    amplitude = section(40, 50)
    rows, cols = patch_grid(40, 50, patch=64, stride=8)
    assert rows.tolist() == [0] and cols.tolist() == [0]
    (patch,) = extract_patches(amplitude, rows, cols, patch=64)
    np.testing.assert_array_equal(patch, np.pad(amplitude, ((0, 24), (0, 14)), mode="reflect"))
    np.testing.assert_array_equal(patch[:40, :50], amplitude)


@pytest.mark.parametrize("rows,cols,match", [([0, 99], [0], "rows"), ([-1], [0], "rows"), ([0], [0.5], "cols"),
                                             ([], [0], "rows"), ([[0]], [0], "rows")])
def test_extraction_refuses_bad_positions(rows, cols, match):
    with pytest.raises(BadInput, match=match):
        extract_patches(section(130, 130), rows, cols, patch=32)


def test_extraction_refuses_bad_sections():
    with pytest.raises(BadInput, match="2-D"):
        extract_patches(np.zeros((2, 40, 40)), [0], [0], patch=32)
    broken = section(40, 40)
    broken[3, 4] = np.nan
    with pytest.raises(BadInput, match="NaN"):
        extract_patches(broken, [0], [0], patch=32)


# --- class_shares ----------------------------------------------------------------------------

def labelled_section():
    """A horizon background, a chaotic block, a salt body and a 3-sample-wide vertical fault zone."""
    labels = np.zeros((90, 120), dtype=np.uint8)
    labels[:, 60:90] = 1
    labels[50:, 90:] = 3
    labels[:, 28:31] = 2
    return labels


def region_counts(labels, r, c, patch, side):
    start = (patch - side) // 2
    window = labels[r + start:r + start + side, c + start:c + start + side]
    return np.bincount(window.ravel(), minlength=4)


def test_class_shares_count_the_centre_region():
    labels = labelled_section()
    rows, cols = patch_grid(90, 120, patch=31, stride=6)
    for side in (10, 31):
        shares = class_shares(labels, rows, cols, patch=31, region=side)
        expected = [region_counts(labels, r, c, 31, side) / side ** 2 for r in rows for c in cols]
        np.testing.assert_allclose(shares, expected)
    np.testing.assert_allclose(class_shares(labels, rows, cols, patch=31), class_shares(labels, rows, cols, 31, region=10))


def test_class_shares_of_a_padded_section_count_the_mirrored_labels():
    labels = np.zeros((40, 50), dtype=np.uint8)
    labels[30:, :] = 2   # the bottom ten rows: mirrored below row 39 by the reflect padding
    (shares,) = class_shares(labels, [0], [0], patch=64, region=20)
    padded = np.pad(labels, ((0, 24), (0, 14)), mode="reflect")
    np.testing.assert_allclose(shares, region_counts(padded, 0, 0, 64, 20) / 400)
    assert shares[2] == 0.6   # rows 22..41 of the padded patch: 30..39 and their mirror 40..41


@pytest.mark.parametrize("labels, region, match", [
    (labelled_section() + 1, None, "class indices 0..3"), (labelled_section() + 0.5, None, "whole class indices"),
    (labelled_section()[None], None, "2-D"), (labelled_section(), 40, "region"), (labelled_section(), 0, "region"),
])
def test_class_shares_refusals(labels, region, match):
    with pytest.raises(BadInput, match=match):
        class_shares(labels, [0], [0], patch=31, region=region)
