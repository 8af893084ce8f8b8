"""Distortions: seeded, bounded, worse with the level, and local variants that touch only their region."""
import numpy as np
import pytest

from rather.common import BadInput
from rather.iqa.distortions import KINDS, LEVELS, distort, distort_locally, motion_kernel
from rather.iqa.synthetic import photo, ssim_quality


@pytest.fixture(scope="module")
def image():
    return photo("astronaut")[40:104, 60:124].copy()


@pytest.mark.parametrize("kind", KINDS)
def test_each_distortion_is_seeded_bounded_and_worse_with_level(kind, image):
    before = image.copy()
    outputs = [distort(image, kind, level, seed=5) for level in range(1, LEVELS + 1)]
    np.testing.assert_array_equal(image, before)  # the input is not modified
    np.testing.assert_array_equal(outputs[2], distort(image, kind, 3, seed=5))
    for out in outputs:
        assert out.shape == image.shape and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
    errors = [float(np.mean((out - image) ** 2)) for out in outputs]
    assert errors[0] > 0
    assert errors[-1] > 2 * errors[0]
    assert ssim_quality(image, outputs[-1]) < ssim_quality(image, outputs[0]) < 1


def test_noise_depends_on_the_seed(image):
    assert not np.array_equal(distort(image, "white_noise", 2, seed=1), distort(image, "white_noise", 2, seed=2))


def test_known_answers():
    grey = np.full((8, 8, 3), 0.3, dtype=np.float32)
    grey[:, :4] = 0.7
    # contrast level 1 halves nothing: m + 0.8 (x - m), m = 0.5
    np.testing.assert_allclose(distort(grey, "contrast_change", 1)[0, 0], 0.5 + 0.8 * 0.2, atol=1e-6)
    # quantisation level 5 keeps 4 levels per channel: 0.3 -> 1/3, 0.7 -> 2/3
    np.testing.assert_allclose(distort(grey, "quantisation", 5)[0, :, 0], [2 / 3] * 4 + [1 / 3] * 4, atol=1e-6)
    # a grey image has no colour to saturate
    np.testing.assert_allclose(distort(grey, "colour_saturation", 5), grey, atol=1e-6)


def test_motion_kernel_is_a_normalised_line():
    kernel = motion_kernel(9, 0.0)
    assert kernel.sum() == pytest.approx(1)
    assert np.count_nonzero(kernel) == 9 and np.count_nonzero(kernel[4]) == 9
    np.testing.assert_allclose(motion_kernel(7, np.pi / 2), motion_kernel(7, 0.0).T)


@pytest.mark.parametrize("kind", ["gaussian_blur", "jpeg", "white_noise", "contrast_change"])
def test_local_distortion_touches_only_its_region(kind, image):
    damaged, mask = distort_locally(image, kind, 4, seed=3)
    assert mask.dtype == bool and mask.shape == image.shape[:2]
    assert mask.mean() == pytest.approx(0.25, abs=0.03)
    np.testing.assert_array_equal(damaged[~mask], image[~mask])
    assert np.abs(damaged[mask] - image[mask]).mean() > 0.005
    again, same_mask = distort_locally(image, kind, 4, seed=3)
    np.testing.assert_array_equal(again, damaged)
    np.testing.assert_array_equal(same_mask, mask)


def test_a_given_region(image):
    _, mask = distort_locally(image, "white_noise", 2, region=(10, 20, 5, 7))
    assert mask.sum() == 35 and mask[10, 20] and mask[14, 26] and not mask[15, 26]
    with pytest.raises(BadInput, match="does not lie inside"):
        distort_locally(image, "white_noise", 2, region=(60, 60, 10, 10))


@pytest.mark.parametrize("kind, level, message", [
    ("fog", 1, "unknown distortion 'fog'"), ("jpeg", 0, "level must be an integer 1..5"),
    ("jpeg", 6, "level must be an integer 1..5"),
])
def test_bad_arguments(kind, level, message, image):
    with pytest.raises(BadInput, match=message):
        distort(image, kind, level)


def test_grey_images_are_refused(image):
    with pytest.raises(BadInput, match=r"colour image \(H, W, 3\)"):
        distort(image[:, :, 0], "jpeg", 1)
