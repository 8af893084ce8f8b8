"""Patch grids, extraction, labelling and stitching of seismic sections."""
import numpy as np
import pytest
import torch

from rather.common.errors import BadInput
from rather.seismic import patches as patches_module
from rather.seismic.patches import extract_patches, labelled_patches, patch_grid, scale_to_unit, stitch


def section(height=130, width=157, seed=0):
    return np.random.default_rng(seed).standard_normal((height, width)).astype(np.float32)


def loop_patches(amplitude, rows, cols, patch):
    return np.stack([amplitude[r:r + patch, c:c + patch] for r in rows for c in cols])


def loop_stitch(values, rows, cols, shape, patch, taper):
    """Reference overlap-add, one patch at a time."""
    total = np.zeros((values.shape[1], *shape))
    weight = np.zeros(shape)
    w = np.outer(taper, taper)
    for index, (r, c) in enumerate((r, c) for r in rows for c in cols):
        total[:, r:r + patch, c:c + patch] += w * values[index]
        weight[r:r + patch, c:c + patch] += w
    return total / weight


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


# --- stitch ----------------------------------------------------------------------------------

@pytest.mark.parametrize("window", ["hann", "flat"])
@pytest.mark.parametrize("shape,patch,stride", [((130, 157), 32, 7), ((99, 120), 99, 10), ((40, 70), 64, 5),
                                                ((64, 64), 16, 16)])
def test_stitching_the_sections_own_patches_gives_the_section_exactly(window, shape, patch, stride):
    amplitude = section(*shape, seed=1)
    rows, cols = patch_grid(*shape, patch=patch, stride=stride)
    stitched = stitch(extract_patches(amplitude, rows, cols, patch), rows, cols, shape, patch, window=window)
    assert stitched.dtype == np.float32 and stitched.shape == shape
    np.testing.assert_array_equal(stitched, amplitude)


@pytest.mark.parametrize("window", ["hann", "flat"])
def test_constant_maps_stitch_to_the_constant_exactly(window):
    rows, cols = patch_grid(130, 157, patch=32, stride=7)
    constant = np.float32(0.3712)
    values = np.full((len(rows) * len(cols), 32, 32), constant, dtype=np.float32)
    stitched = stitch(values, rows, cols, (130, 157), 32, window=window)
    assert np.all(stitched == constant)


@pytest.mark.parametrize("window", ["hann", "flat"])
def test_one_patch_is_itself_on_its_footprint(window):
    values = section(32, 32, seed=2)[None]
    stitched = stitch(values, [10], [20], (60, 70), 32, window=window)
    np.testing.assert_array_equal(stitched[10:42, 20:52], values[0])
    outside = np.ones((60, 70), dtype=bool)
    outside[10:42, 20:52] = False
    assert not stitched[outside].any()
    assert np.isnan(stitch(values, [10], [20], (60, 70), 32, fill=np.nan)[outside]).all()


@pytest.mark.parametrize("window", ["hann", "flat"])
def test_stitch_matches_a_patch_by_patch_overlap_add(window):
    rows, cols = patch_grid(70, 83, patch=24, stride=9)
    values = np.random.default_rng(3).standard_normal((len(rows) * len(cols), 2, 24, 24))
    taper = np.sin(np.pi * (np.arange(24) + 0.5) / 24) ** 2 if window == "hann" else np.ones(24)
    expected = loop_stitch(values, rows, cols, (70, 83), 24, taper)
    stitched = stitch(values, rows, cols, (70, 83), 24, window=window)
    assert stitched.dtype == np.float64
    np.testing.assert_allclose(stitched, expected, rtol=1e-12, atol=1e-12)
    if window == "hann":  # the window matters: patch centres outweigh patch borders
        flat = stitch(values, rows, cols, (70, 83), 24, window="flat")
        assert not np.allclose(stitched, flat)


def test_channel_axis_stitches_each_channel_like_a_single_map():
    rows, cols = patch_grid(70, 83, patch=24, stride=9)
    values = np.random.default_rng(4).random((len(rows) * len(cols), 3, 24, 24)).astype(np.float32)
    stitched = stitch(values, rows, cols, (70, 83), 24)
    assert stitched.shape == (3, 70, 83)
    for channel in range(3):
        np.testing.assert_array_equal(stitched[channel], stitch(values[:, channel], rows, cols, (70, 83), 24))


def test_torch_in_torch_out_numpy_in_numpy_out():
    rows, cols = patch_grid(70, 83, patch=24, stride=9)
    values = np.random.default_rng(5).random((len(rows) * len(cols), 2, 24, 24)).astype(np.float32)
    from_numpy = stitch(values, rows, cols, (70, 83), 24)
    from_torch = stitch(torch.from_numpy(values), torch.from_numpy(rows), torch.from_numpy(cols), (70, 83), 24)
    assert isinstance(from_numpy, np.ndarray) and isinstance(from_torch, torch.Tensor)
    assert from_torch.dtype == torch.float32
    np.testing.assert_array_equal(from_torch.numpy(), from_numpy)
    as_double = stitch(torch.from_numpy(values).double(), rows, cols, (70, 83), 24)
    assert as_double.dtype == torch.float64
    np.testing.assert_allclose(as_double.numpy(), from_numpy, rtol=1e-6)
    integers = stitch(np.ones((len(rows) * len(cols), 24, 24), dtype=np.int32), rows, cols, (70, 83), 24)
    assert integers.dtype == np.float32 and np.all(integers == 1)
    readonly = values.copy()
    readonly.flags.writeable = False
    np.testing.assert_array_equal(stitch(readonly, rows, cols, (70, 83), 24), from_numpy)


def test_gradients_flow_through_stitching():
    rows, cols = patch_grid(40, 40, patch=16, stride=8)
    values = torch.rand(len(rows) * len(cols), 16, 16, requires_grad=True)
    stitch(values, rows, cols, (40, 40), 16).sum().backward()
    assert values.grad is not None and torch.all(values.grad > 0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_stitching_on_cuda_stays_on_the_device():
    amplitude = section(130, 157)
    rows, cols = patch_grid(130, 157, patch=32, stride=7)
    values = torch.from_numpy(extract_patches(amplitude, rows, cols, 32)).cuda()
    stitched = stitch(values, rows, cols, (130, 157), 32)
    assert stitched.is_cuda
    np.testing.assert_array_equal(stitched.cpu().numpy(), amplitude)


def test_stitch_refusals():
    rows, cols = patch_grid(70, 83, patch=24, stride=9)
    count = len(rows) * len(cols)
    good = np.zeros((count, 24, 24), dtype=np.float32)
    with pytest.raises(BadInput, match="values must be"):
        stitch(good[:-1], rows, cols, (70, 83), 24)
    with pytest.raises(BadInput, match="values must be"):
        stitch(np.zeros((count, 24, 23)), rows, cols, (70, 83), 24)
    with pytest.raises(BadInput, match="values must be"):
        stitch(np.zeros((count, 1, 1, 24, 24)), rows, cols, (70, 83), 24)
    broken = good.copy()
    broken[3, 2, 1] = np.inf
    with pytest.raises(BadInput, match="NaN or Inf"):
        stitch(broken, rows, cols, (70, 83), 24)
    with pytest.raises(BadInput, match="window"):
        stitch(good, rows, cols, (70, 83), 24, window="gauss")
    with pytest.raises(BadInput, match="rows"):
        stitch(good, rows, cols, (60, 83), 24)
    with pytest.raises(BadInput, match="shape"):
        stitch(good, rows, cols, (70, 83, 1), 24)
    with pytest.raises(BadInput, match="numeric"):
        stitch(good.astype(np.complex64), rows, cols, (70, 83), 24)
    with pytest.raises(BadInput, match="real"):
        stitch(torch.from_numpy(good).to(torch.complex64), rows, cols, (70, 83), 24)


# --- labelled_patches ------------------------------------------------------------------------

def labelled_section():
    """A horizon background, a chaotic block, a salt body and a 3-sample-wide vertical fault zone."""
    labels = np.zeros((90, 120), dtype=np.uint8)
    labels[:, 60:90] = 1
    labels[50:, 90:] = 3
    labels[:, 28:31] = 2
    return labels


def test_centre_rule_takes_the_label_at_the_patch_centre():
    labels = labelled_section()
    amplitude = section(90, 120)
    rows, cols = patch_grid(90, 120, patch=31, stride=6)
    patches, classes = labelled_patches(amplitude, labels, rows, cols, patch=31)
    np.testing.assert_array_equal(patches, extract_patches(amplitude, rows, cols, 31))
    assert classes.dtype == np.int64
    np.testing.assert_array_equal(classes, [labels[r + 15, c + 15] for r in rows for c in cols])


def region_counts(labels, r, c, patch, side):
    start = (patch - side) // 2
    window = labels[r + start:r + start + side, c + start:c + start + side]
    return np.bincount(window.ravel(), minlength=4)


def test_majority_and_priority_rules_count_the_centre_region():
    labels = labelled_section()
    rows, cols = patch_grid(90, 120, patch=31, stride=6)
    _, majority = labelled_patches(section(90, 120), labels, rows, cols, patch=31, rule="majority")
    _, priority = labelled_patches(section(90, 120), labels, rows, cols, patch=31, rule="priority", min_share=0.1)
    expected_majority, expected_priority = [], []
    for r in rows:
        for c in cols:
            counts = region_counts(labels, r, c, 31, 10)
            expected_majority.append(int(np.argmax(counts)))
            claims = [k for k in (2, 3, 1) if counts[k] >= 0.1 * 100]
            expected_priority.append(claims[0] if claims else int(np.argmax(counts)))
    np.testing.assert_array_equal(majority, expected_majority)
    np.testing.assert_array_equal(priority, expected_priority)
    assert 2 in priority and 2 not in majority  # a thin fault zone never wins a majority


def test_priority_rule_with_a_chosen_region_on_a_padded_section():
    labels = np.zeros((40, 50), dtype=np.int64)
    labels[20:23, :] = 2
    _, classes = labelled_patches(section(40, 50), labels, [0], [0], patch=64, rule="priority", region=20)
    assert classes.tolist() == [2]
    _, classes = labelled_patches(section(40, 50), labels, [0], [0], patch=64, rule="priority", region=20,
                                  min_share=0.2)
    assert classes.tolist() == [0]


def test_labelled_patches_refusals():
    amplitude = section(90, 120)
    labels = labelled_section()
    with pytest.raises(BadInput, match="rule"):
        labelled_patches(amplitude, labels, [0], [0], patch=31, rule="vote")
    with pytest.raises(BadInput, match="shape"):
        labelled_patches(amplitude, labels[:-1], [0], [0], patch=31)
    with pytest.raises(BadInput, match="0..3"):
        labelled_patches(amplitude, labels + 1, [0], [0], patch=31)
    with pytest.raises(BadInput, match="whole"):
        labelled_patches(amplitude, labels + 0.5, [0], [0], patch=31)
    with pytest.raises(BadInput, match="region"):
        labelled_patches(amplitude, labels, [0], [0], patch=31, rule="majority", region=40)
    _, classes = labelled_patches(amplitude[:2, :2], labels[:2, :2], [0], [0], patch=2, rule="majority")
    assert classes.tolist() == [0]  # a 1 x 1 region at least
    with pytest.raises(BadInput, match="min_share"):
        labelled_patches(amplitude, labels, [0], [0], patch=31, rule="priority", min_share=0)


def test_stitching_in_chunks_of_patch_rows_changes_nothing(monkeypatch):
    amplitude = section(130, 157, seed=6)
    rows, cols = patch_grid(130, 157, patch=32, stride=7)
    ones = np.ones((len(rows) * len(cols), 32, 32), np.float32)
    values = np.stack([extract_patches(amplitude, rows, cols, 32), ones], 1)
    whole = stitch(values, rows, cols, (130, 157), 32)
    monkeypatch.setattr(patches_module, "_CHUNK_ELEMENTS", 3 * len(cols) * 2 * 32 * 32)  # three patch rows a chunk
    chunked = stitch(values, rows, cols, (130, 157), 32)
    np.testing.assert_allclose(chunked, whole, rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(chunked[0], amplitude)
    assert np.all(chunked[1] == 1)


def test_stitcher_fed_block_by_block_equals_stitch():
    rng = np.random.default_rng(5)
    rows, cols = patch_grid(60, 70, patch=21, stride=7)
    maps = rng.normal(size=(len(rows) * len(cols), 3, 21, 21)).astype(np.float32)
    whole = stitch(maps, rows, cols, (60, 70), patch=21)
    stitcher = patches_module.Stitcher(rows, cols, (60, 70), patch=21, channels=3)
    blocks = maps.reshape(len(rows), len(cols), 3, 21, 21)
    for first, stop in ((2, 3), (0, 2), (3, len(rows))):  # uneven blocks, out of order
        stitcher.add(torch.from_numpy(blocks[first:stop].reshape(-1, 3, 21, 21)), first)
    np.testing.assert_allclose(stitcher.result().numpy(), whole, rtol=1e-6, atol=1e-6)
