"""Training patches given a texture drawn apart from their class (``classifier.vary_texture``, ``--texture``)."""
import numpy as np
import pytest

from rather.seismic import classifier
from rather.seismic.classifier import vary_texture
from rather.seismic.options import TrainOptions


def gaussian_blur(patch: np.ndarray, sigma: float) -> np.ndarray:
    """A Gaussian of ``sigma`` samples, cut at 4 sigma, along both axes; edges mirrored about the edge (abba)."""
    radius = int(4 * sigma + 0.5)
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(patch.astype(np.float64), radius, mode="symmetric")
    rows = np.array([np.convolve(column, kernel, mode="valid") for column in padded.T]).T
    return np.array([np.convolve(row, kernel, mode="valid") for row in rows])


def patches(count: int = 6, side: int = 21, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((count, side, side)).astype(np.float32)


def test_no_blur_and_no_noise_leave_the_patches_as_they_are():
    x = patches()
    np.testing.assert_array_equal(vary_texture(x, np.random.default_rng(1), blur=(0, 0), noise=(0, 0)), x)


def test_a_blur_alone_is_the_gaussian_of_that_sigma():
    x = patches()
    varied = vary_texture(x, np.random.default_rng(1), blur=(1.2, 1.2), noise=(0, 0))
    for patch, out in zip(x, varied):
        np.testing.assert_allclose(out, gaussian_blur(patch, 1.2), atol=1e-5)


def test_the_noise_has_the_drawn_share_of_the_patch_rms_and_no_correlation():
    x = 3 * np.ones((40, 99, 99), np.float32)
    varied = vary_texture(x, np.random.default_rng(2), blur=(0, 0), noise=(0.25, 0.25))
    noise = varied - x
    assert abs(noise.std() / 3 - 0.25) < 0.005 and abs(noise.mean()) < 0.01
    assert abs(np.corrcoef(noise[:, :, :-1].ravel(), noise[:, :, 1:].ravel())[0, 1]) < 0.01


def test_every_patch_draws_its_own_texture_and_the_input_is_kept():
    x = patches(count=300)
    kept = x.copy()
    varied = vary_texture(x, np.random.default_rng(3), blur=(0, 0), noise=(0, 0.4))
    shares = (varied - x).reshape(300, -1).std(axis=1) / np.sqrt((x.reshape(300, -1) ** 2).mean(axis=1))
    assert shares.min() < 0.02 and shares.max() > 0.38 and 0.17 < shares.mean() < 0.23
    np.testing.assert_array_equal(x, kept)
    np.testing.assert_array_equal(varied, vary_texture(x, np.random.default_rng(3), blur=(0, 0), noise=(0, 0.4)))


@pytest.mark.slow
def test_texture_varies_both_streams_and_leaves_every_other_draw_as_it_was(monkeypatch):
    """--texture: both streams' patches pass through ``vary_texture`` (drawing from ``TEXTURE_STREAM``) before
    their random gain; a stand-in texture that reverses the polarity gives exactly the plain run's streams
    reversed, with the same classes."""
    seen = {}
    streams_of_the_seed = []

    def reversed_polarity(x, rng):
        streams_of_the_seed.append(rng.bit_generator.state ==
                                   np.random.default_rng([0, classifier.TEXTURE_STREAM]).bit_generator.state)
        return -x

    monkeypatch.setattr(classifier, "vary_texture", reversed_polarity)
    for texture in (False, True):
        streams = []
        monkeypatch.setattr(classifier, "train_streams",
                            lambda model, data, **_: streams.extend(data) or classifier.TrainingLog([0.0], [0.5]))
        _, _, meta = classifier.train(TrainOptions(surveys=1, per_class=4, epochs=1, texture=texture))
        seen[texture] = streams, meta
    (plain, plain_meta), (varied, varied_meta) = seen[False], seen[True]
    assert streams_of_the_seed == [True, True] and "texture" not in plain_meta
    assert varied_meta["texture"] == {"blur_sigma_samples": [0.0, 1.5], "noise_share_of_rms": [0.0, 0.4]}
    assert [inputs.shape[-1] for inputs, _ in varied] == [99, 45]
    for (plain_x, plain_y), (varied_x, varied_y) in zip(plain, varied):
        np.testing.assert_array_equal(plain_y, varied_y)
        np.testing.assert_array_equal(varied_x, -plain_x)
