"""Window grids, extraction and weighted overlap-add against straightforward loops."""
import numpy as np
import pytest
import torch

from rather.common import BadInput
from rather.common.maps import upsample
from rather.common.windows import (CoarseOverlapAdd, OverlapAdd, axis_grid, blend_windows, extract_windows,
                                  placement_matrix, taper_weights, window_grid)


@pytest.mark.parametrize("size,window,stride", [(120, 99, 10), (99, 99, 10), (50, 99, 10), (64, 32, 4), (33, 32, 32)])
def test_grid_covers_every_sample_and_ends_flush(size, window, stride):
    starts = axis_grid(size, window, stride)
    assert starts[0] == 0 and np.all(np.diff(starts) > 0) and np.all(np.diff(starts) <= stride)
    assert starts[-1] == max(size - window, 0)
    covered = np.zeros(max(size, window), bool)
    for start in starts:
        covered[start:start + window] = True
    assert covered[:size].all()


def test_grid_refuses_gaps_and_nonsense():
    with pytest.raises(BadInput, match="leave gaps"):
        axis_grid(100, 10, 11)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(BadInput, match="positive integer"):
            axis_grid(100, 10, bad)


def test_extracted_windows_are_the_slices_row_major():
    x = torch.randn(2, 3, 20, 17, generator=torch.Generator().manual_seed(0))
    rows, cols = window_grid(20, 17, 8, 5)
    windows = extract_windows(x, rows, cols, 8)
    expected = [x[n, :, r:r + 8, c:c + 8] for n in range(2) for r in rows for c in cols]
    assert torch.equal(windows, torch.stack(expected))
    with pytest.raises(BadInput, match="leave the 20 rows"):
        extract_windows(x, [13], [0], 8)


def test_windows_come_in_the_layout_asked_for_or_in_that_of_the_input():
    """Channels last on request (WaDIQaM's convolutions run faster so); otherwise the input's own layout, without a
    second copy: a channels-last batch of windows cut again (the model's own tiling) stays channels last."""
    x = torch.randn(2, 6, 20, 17, generator=torch.Generator().manual_seed(0))
    rows, cols = window_grid(20, 17, 8, 5)
    plain = extract_windows(x, rows, cols, 8)
    last = extract_windows(x, rows, cols, 8, channels_last=True)
    assert torch.equal(plain, last) and plain.is_contiguous()
    assert last.is_contiguous(memory_format=torch.channels_last) and not last.is_contiguous()
    again = extract_windows(last, [0], [0], 8)
    assert torch.equal(again, last) and again.is_contiguous(memory_format=torch.channels_last)


def test_tapers_have_their_formulas():
    k = np.arange(6) + 0.5
    assert np.allclose(taper_weights("hann", 6), np.sin(np.pi * k / 6) ** 2)
    assert np.allclose(taper_weights("gaussian", 6, sigma=2.0), np.exp(-(k - 3) ** 2 / 8))
    assert np.array_equal(taper_weights("flat", 6), np.ones(6))
    with pytest.raises(BadInput, match="unknown taper"):
        taper_weights("kaiser", 6)


def looped_blend(maps, shape, rows, cols, h):
    """The weighted mean per pixel, one window at a time."""
    window = maps.shape[-1]
    w = np.outer(h, h)
    total = np.zeros((maps.shape[1], max(shape[0], rows[-1] + window), max(shape[1], cols[-1] + window)))
    weight = np.zeros(total.shape[1:])
    for index, (r, c) in enumerate((r, c) for r in rows for c in cols):
        total[:, r:r + window, c:c + window] += w * maps[index].numpy()
        weight[r:r + window, c:c + window] += w
    out = np.where(weight > 0, total / np.where(weight > 0, weight, 1), -1.0)
    return out[:, :shape[0], :shape[1]]


@pytest.mark.parametrize("taper", ["hann", "flat", "gaussian"])
def test_overlap_add_equals_the_loop_in_any_batches(taper):
    rows, cols = window_grid(23, 30, 8, 3)
    maps = torch.rand(len(rows) * len(cols), 2, 8, 8, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    blend = OverlapAdd((23, 30), rows, cols, 8, taper=taper, channels=2)
    for first in range(0, len(maps), 7):  # batches that split grid rows
        blend.add(maps[first:first + 7])
    expected = looped_blend(maps, (23, 30), rows, cols, taper_weights(taper, 8))
    assert np.allclose(blend.result(dtype=torch.float64).numpy(), expected, rtol=1e-12, atol=1e-12)


def test_overlap_add_keeps_constants_and_fills_what_is_not_covered():
    rows, cols = window_grid(16, 16, 8, 4)
    constant = torch.full((len(rows) * len(cols), 1, 8, 8), 0.3)
    assert torch.allclose(blend_windows(constant, (16, 16), rows, cols), torch.tensor(0.3))
    partial = OverlapAdd((16, 16), rows, cols, 8, channels=1)
    partial.add(constant[:1])
    result = partial.result(fill=-1.0)
    assert torch.allclose(result[0, :8, :8], torch.tensor(0.3)) and (result[0, 8:, :] == -1).all()


def test_windows_over_a_padded_input_are_cropped():
    maps = torch.ones(1, 1, 10, 10)
    assert blend_windows(maps, (6, 7), [0], [0]).shape == (1, 6, 7)


def test_overlap_add_refuses_wrong_shapes_and_too_many_windows():
    blend = OverlapAdd((16, 16), [0, 8], [0, 8], 8, channels=2)
    with pytest.raises(BadInput, match=r"\(B, 2, 8, 8\)"):
        blend.add(torch.zeros(1, 3, 8, 8))
    with pytest.raises(BadInput, match="5 window maps added to a grid of 4"):
        blend.add(torch.zeros(5, 2, 8, 8))


@pytest.mark.parametrize("taper", ["hann", "gaussian"])
def test_placement_matrices_give_the_weighted_sums_of_the_loop(taper):
    """Constant window values, and coarse maps brought to the window by a matrix U, as P_r M P_c^T."""
    height, width, window = 23, 30, 8
    rows, cols = window_grid(height, width, window, 3)
    h = torch.from_numpy(taper_weights(taper, window))
    generator = torch.Generator().manual_seed(2)
    values = torch.rand(len(rows), len(cols), generator=generator, dtype=torch.float64)
    sums = placement_matrix(rows, height, h[:, None]) @ values @ placement_matrix(cols, width, h[:, None]).T
    weights = placement_matrix(rows, height, h[:, None]) @ torch.ones_like(values) @ \
        placement_matrix(cols, width, h[:, None]).T
    constant_maps = values.reshape(-1, 1, 1, 1).expand(-1, 1, window, window)
    assert torch.allclose(sums / weights, blend_windows(constant_maps, (height, width), rows, cols, taper=taper),
                          rtol=1e-12, atol=1e-12)

    coarse = torch.rand(len(rows), len(cols), 3, 2, generator=generator, dtype=torch.float64)   # (R, K, m_r, m_c)
    up_rows = torch.rand(window, 3, generator=generator, dtype=torch.float64)
    up_cols = torch.rand(window, 2, generator=generator, dtype=torch.float64)
    side_by_side = coarse.permute(0, 2, 1, 3).reshape(len(rows) * 3, len(cols) * 2)
    added = placement_matrix(rows, height, h[:, None] * up_rows) @ side_by_side @ \
        placement_matrix(cols, width, h[:, None] * up_cols).T
    upsampled = (up_rows @ coarse @ up_cols.T).reshape(-1, 1, window, window)   # each window's map, (R K, 1, w, w)
    expected = looped_blend(upsampled, (height, width), rows, cols, taper_weights(taper, window))
    assert np.allclose(added.numpy() / weights.numpy(), expected[0], rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("taper", ["hann", "gaussian"])
@pytest.mark.parametrize("cells", [(2, 2), (3, 1), (8, 8)])
def test_coarse_overlap_add_equals_upsampling_then_overlap_add(taper, cells):
    """Coarse maps (B, Q, h, w) added as matrix products give the blend of the maps upsampled to the window, in any
    batches; a map already at the window's size is added as it is; a grid over a padded input is cropped."""
    height, width, window = 23, 30, 8
    rows, cols = window_grid(height, width, window, 3)
    rows = np.append(rows, height - 4)  # one row of windows over padding below the input
    maps = torch.rand(len(rows) * len(cols), 2, *cells, generator=torch.Generator().manual_seed(3),
                      dtype=torch.float64)
    coarse = CoarseOverlapAdd((height, width), rows, cols, window, cells, taper=taper, channels=2)
    fine = OverlapAdd((height, width), rows, cols, window, taper=taper, channels=2)
    for first in range(0, len(maps), 7):  # batches that split grid rows
        coarse.add(maps[first:first + 7])
        fine.add(upsample(maps[first:first + 7], (window, window)))
    expected = fine.result(dtype=torch.float64)
    assert coarse.windows == fine.windows and coarse.result(dtype=torch.float64).shape == (2, height, width)
    torch.testing.assert_close(coarse.result(dtype=torch.float64), expected, rtol=1e-12, atol=1e-12)
    assert coarse.result().dtype == torch.float32


def test_coarse_overlap_add_fills_what_is_not_covered_and_refuses_wrong_shapes():
    rows, cols = window_grid(16, 16, 8, 4)
    partial = CoarseOverlapAdd((16, 16), rows, cols, 8, (2, 2))
    partial.add(torch.full((1, 2, 2), 0.3))  # (B, h, w): one channel
    result = partial.result(fill=-1.0)
    assert torch.allclose(result[0, :8, :8], torch.tensor(0.3)) and (result[0, 8:, :] == -1).all()
    with pytest.raises(BadInput, match=r"window maps must be \(B, 1, 2, 2\), got \(1, 1, 3, 3\)"):
        partial.add(torch.zeros(1, 1, 3, 3))
    with pytest.raises(BadInput, match="10 window maps added to a grid of 9"):
        partial.add(torch.zeros(9, 1, 2, 2))
    with pytest.raises(BadInput, match="a taper for 8-sample windows has 8 values"):
        CoarseOverlapAdd((16, 16), rows, cols, 8, (2, 2), taper=np.ones(5))


def test_placement_matrix_crops_windows_over_a_padded_input():
    matrix = placement_matrix([0], 6, torch.arange(10.0)[:, None])
    assert matrix.shape == (6, 1) and matrix[:, 0].tolist() == [0, 1, 2, 3, 4, 5]
