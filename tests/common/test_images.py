"""Reading images: every form decoded to the right values, the pixel limit, the memory check of a resize."""
import re

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from rather.common import BadInput
from rather.common import images
from rather.common.images import DEFAULT_MAX_PIXELS, pixel_limit, prepare, read_image

RNG = np.random.default_rng(0)
RGB = RNG.integers(0, 256, (12, 10, 3), dtype=np.uint8)


def saved(tmp_path, name, image: Image.Image, **options):
    image.save(tmp_path / name, **options)
    return tmp_path / name


def test_sixteen_bit_samples_are_scaled_to_0_1(tmp_path):
    values = np.array([[0, 1, 32768, 65535]], dtype=np.uint16)
    image = read_image(saved(tmp_path, "deep.png", Image.fromarray(values)))
    np.testing.assert_array_equal(image, values[None] / np.float32(65535))


def test_cmyk_is_converted_to_rgb(tmp_path):
    smooth = np.repeat(np.linspace(0, 255, 10)[None, :, None], 12, axis=0).repeat(3, axis=2).astype(np.uint8)
    smooth[..., 0] = 255 - smooth[..., 0]
    image = read_image(saved(tmp_path, "print.jpg", Image.fromarray(smooth).convert("CMYK"), quality=100))
    assert image.shape == (3, 12, 10)
    assert np.abs(image - np.moveaxis(smooth, -1, 0) / 255).max() < 0.03  # JPEG's loss only


def test_palette_becomes_its_colours_and_grey_alpha_its_grey(tmp_path):
    indexed = Image.fromarray(RGB).quantize(16)
    expected = np.moveaxis(np.asarray(indexed.convert("RGB")), -1, 0) / np.float32(255)
    np.testing.assert_array_equal(read_image(saved(tmp_path, "indexed.png", indexed)), expected)
    grey_alpha = np.stack([RGB[..., 0], RGB[..., 1]], axis=-1)
    image = read_image(saved(tmp_path, "la.png", Image.fromarray(grey_alpha, mode="LA")))
    np.testing.assert_array_equal(image, RGB[None, ..., 0] / np.float32(255))


def test_a_one_pixel_colour_image_keeps_its_channels(tmp_path):
    image = read_image(saved(tmp_path, "dot.png", Image.fromarray(RGB[:1, :1])))
    np.testing.assert_array_equal(image[:, 0, 0], RGB[0, 0] / np.float32(255))


@pytest.mark.parametrize("planar", ["contig", "separate"])
def test_float_tiffs_keep_their_values_in_either_layout(tmp_path, planar):
    values = RNG.random(size=(3, 12, 10)).astype(np.float32)
    tifffile.imwrite(tmp_path / "f.tif", values if planar == "separate" else np.moveaxis(values, 0, -1),
                     photometric="rgb", planarconfig=planar)
    np.testing.assert_array_equal(read_image(tmp_path / "f.tif"), values)


def test_a_palette_tiff_goes_through_pillow(tmp_path):
    indexed = Image.fromarray(RGB).quantize(8)
    expected = np.moveaxis(np.asarray(indexed.convert("RGB")), -1, 0) / np.float32(255)
    np.testing.assert_array_equal(read_image(saved(tmp_path, "indexed.tif", indexed)), expected)


def test_npy_layouts_and_types(tmp_path):
    np.save(tmp_path / "hwc.npy", RGB)
    np.testing.assert_array_equal(read_image(tmp_path / "hwc.npy"), np.moveaxis(RGB, -1, 0) / np.float32(255))
    np.save(tmp_path / "mask.npy", RGB[..., 0] > 100)
    np.testing.assert_array_equal(read_image(tmp_path / "mask.npy"), (RGB[None, ..., 0] > 100).astype(np.float32))
    np.save(tmp_path / "f64.npy", np.full((5, 6), 1e40))
    with pytest.raises(BadInput, match=r"holds float samples from 1e\+40 to 1e\+40; rather reads float images"):
        read_image(tmp_path / "f64.npy")


def test_the_pixel_limit_comes_from_the_argument_the_environment_or_the_default(tmp_path, monkeypatch):
    path = saved(tmp_path, "photo.png", Image.fromarray(RGB))
    monkeypatch.delenv("RATHER_MAX_PIXELS", raising=False)
    assert pixel_limit() == DEFAULT_MAX_PIXELS == 50_000_000
    with pytest.raises(BadInput, match=r"declares 12 x 10 pixels .* RATHER_MAX_PIXELS=120"):
        read_image(path, max_pixels=119)
    assert read_image(path, max_pixels=120).shape == (3, 12, 10)
    monkeypatch.setenv("RATHER_MAX_PIXELS", "100")
    with pytest.raises(BadInput, match="over the limit of 0.0001 megapixels"):
        read_image(path)
    assert read_image(path, max_pixels=120).shape == (3, 12, 10)  # the argument wins
    for bad in ("0", "-5", "1e9", "many"):
        monkeypatch.setenv("RATHER_MAX_PIXELS", bad)
        with pytest.raises(BadInput, match=f"RATHER_MAX_PIXELS='{bad}' is not a positive whole number"):
            read_image(path)
    with pytest.raises(BadInput, match="max_pixels = 0"):
        read_image(path, max_pixels=0)


def test_a_bomb_is_refused_before_decoding(tmp_path, monkeypatch):
    from PIL import ImageFile

    path = saved(tmp_path, "wide.png", Image.new("L", (3000, 2000)))

    def decode(self):
        raise AssertionError("the image was decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", decode)
    with pytest.raises(BadInput, match="declares 2000 x 3000 pixels"):
        read_image(path, max_pixels=1_000_000)


def test_pillows_own_guard_is_restored(tmp_path):
    from PIL import Image as PillowImage

    before = PillowImage.MAX_IMAGE_PIXELS
    read_image(saved(tmp_path, "photo.png", Image.fromarray(RGB)))
    with pytest.raises(BadInput):
        read_image(saved(tmp_path, "big.png", Image.new("L", (200, 200))), max_pixels=100)
    assert PillowImage.MAX_IMAGE_PIXELS == before


def test_reading_refuses_an_image_that_cannot_fit_in_memory(tmp_path, monkeypatch):
    import rather.common.memory as memory

    path = saved(tmp_path, "photo.png", Image.fromarray(RGB))
    monkeypatch.setattr(memory, "available_memory", lambda: 12 * 10 * images.BYTES_PER_PIXEL)
    assert read_image(path).shape == (3, 12, 10)
    monkeypatch.setattr(memory, "available_memory", lambda: 12 * 10 * images.BYTES_PER_PIXEL - 1)
    with pytest.raises(BadInput, match=r"reading image '.*photo.png' \(12 x 10 pixels\) needs 2.9 kB of memory "
                                       r"but 2.9 kB is available; free memory or give a smaller image"):
        read_image(path)


def test_a_resize_is_checked_against_free_memory(monkeypatch):
    import rather.common.memory as memory

    monkeypatch.setattr(memory, "available_memory", lambda: 10_000)
    image = np.zeros((3, 4, 4), dtype=np.float32)
    assert prepare(image, size=(20, 20)).shape == (1, 3, 20, 20)  # 2 x 3 x 400 x 4 = 9600 bytes
    with pytest.raises(BadInput, match=r"resizing to --size 30 30 needs 21.6 kB of memory but 10.0 kB is "
                                       r"available; give a smaller --size"):
        prepare(image, size=(30, 30))


@pytest.mark.parametrize("size", [(0, 5), (5, -1), (2.5, 3), (4,)])
def test_a_resize_needs_two_positive_whole_numbers(size):
    with pytest.raises(BadInput, match="--size takes two positive whole numbers"):
        prepare(np.zeros((1, 4, 4), dtype=np.float32), size=size)


def test_prepare_keeps_its_arithmetic():
    image = np.ones((1, 2, 2), dtype=np.float32)
    x = prepare(image, size=(4, 4), mean=[0.5], std=[0.25], channels=3)
    torch.testing.assert_close(x, torch.full((1, 3, 4, 4), 2.0))


def test_the_npy_axis_rule_reads_tiny_colour_images_as_h_w_c(tmp_path):
    tiny = RGB[:3, :5]  # 3 rows, 5 columns, 3 channels: first and last axes both small
    np.save(tmp_path / "tiny.npy", tiny)
    np.testing.assert_array_equal(read_image(tmp_path / "tiny.npy"), np.moveaxis(tiny, -1, 0) / np.float32(255))
    np.save(tmp_path / "chw.npy", np.moveaxis(RGB, -1, 0))  # last axis 10: channels first
    np.testing.assert_array_equal(read_image(tmp_path / "chw.npy"), np.moveaxis(RGB, -1, 0) / np.float32(255))
    np.save(tmp_path / "wide.npy", np.zeros((65, 8, 8), np.uint8))
    with pytest.raises(BadInput, match=r"as \(C, H, W\) its first is more than 64"):
        read_image(tmp_path / "wide.npy")


@pytest.mark.parametrize("rows", [1, 2, 3, 4])
def test_tiny_colour_image_files_keep_rows_and_channels(tmp_path, rows):
    tiny = RGB[:rows, :5]
    for name in ("tiny.png", "tiny.tif"):
        image = read_image(saved(tmp_path, name, Image.fromarray(tiny)))
        np.testing.assert_array_equal(image, np.moveaxis(tiny, -1, 0) / np.float32(255))


@pytest.mark.parametrize("dtype", ["datetime64[s]", "timedelta64[s]", "complex64"])
def test_dates_and_complex_samples_are_refused_in_npy_and_tiff(tmp_path, dtype):
    values = np.zeros((6, 8), dtype=dtype)
    np.save(tmp_path / "odd.npy", values)
    expected = "complex numbers" if dtype == "complex64" else re.escape(f"holds {dtype} values")
    with pytest.raises(BadInput, match=expected):
        read_image(tmp_path / "odd.npy")
    if dtype == "complex64":
        tifffile.imwrite(tmp_path / "odd.tif", values)
        with pytest.raises(BadInput, match="complex numbers"):
            read_image(tmp_path / "odd.tif")


def test_a_large_image_is_shrunk_by_block_means_before_any_float_copy(tmp_path):
    values = RNG.integers(0, 65536, (3, 41, 30), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "deep.tif", values, photometric="rgb", planarconfig="separate")
    image = read_image(tmp_path / "deep.tif", size=(10, 7))  # factor min(41 // 10, 30 // 7) = 4
    assert image.shape == (3, 11, 8) and image.dtype == np.float32
    np.testing.assert_allclose(image[:, 0, 0], values[:, :4, :4].mean(axis=(1, 2)) / 65535, rtol=1e-6)
    np.testing.assert_allclose(image[:, -1, -1], values[:, 40:, 28:].mean(axis=(1, 2)) / 65535, rtol=1e-6)
    assert read_image(tmp_path / "deep.tif", size=(30, 30)).shape == (3, 41, 30)  # not twice as large: kept
    ramp = np.add.outer(np.arange(41), np.arange(30)).astype(np.uint16) * 900  # smooth: the two low-passes agree
    tifffile.imwrite(tmp_path / "ramp.tif", ramp)
    shrunk = prepare(read_image(tmp_path / "ramp.tif", size=(10, 7)), size=(10, 7))
    direct = prepare(read_image(tmp_path / "ramp.tif"), size=(10, 7))
    step = 41 / 10 * 900 / 65535  # the ramp's rise over one output row
    assert (shrunk - direct).abs().max() < step  # the partial last blocks shift the picture by under one output pixel


def test_a_channel_mismatch_names_the_channels_and_where_the_expectation_came_from():
    image = np.zeros((5, 4, 4), dtype=np.float32)
    with pytest.raises(BadInput, match="the image has 5 channels but the model takes 3; give an image with 3 channels"):
        prepare(image, channels=3)
    with pytest.raises(BadInput, match="the checkpoint 'm.pt' takes 3"):
        prepare(image, channels=3, sources={"channels": "the checkpoint 'm.pt'"})
    with pytest.raises(BadInput, match="^the normalisation mean has 3 values but the image has 5 channels; give one "
                                       "value per channel"):
        prepare(image, mean=[0.5] * 3)
    with pytest.raises(BadInput, match=r"^--std has 2 values but the image has 5 channels"):
        prepare(image, std=[0.5] * 2, sources={"std": "--std"})
    with pytest.raises(BadInput, match=r"^the checkpoint's preprocess.std must be positive; got \[0.0\]"):
        prepare(image, std=[0.0], sources={"std": "the checkpoint's preprocess.std"})


def test_figures_draw_a_block_averaged_copy_of_a_large_input(tmp_path):
    from rather.common.figures import MAX_SHOWN, display_copy, displayable

    large = np.zeros((3, 2 * MAX_SHOWN + 1, 10), dtype=np.float32)
    large[:, ::2] = 1  # stripes: rows 0, 2, 4, ... are white
    assert displayable(large).shape == (683, 4, 3)  # factor ceil(2049 / 1024) = 3
    np.testing.assert_allclose(display_copy(large)[0, :2, 0], [2 / 3, 1 / 3])  # means of rows 0-2 and 3-5
    assert display_copy(np.ones((MAX_SHOWN, 5))).shape == (MAX_SHOWN, 5)  # small enough: drawn as it is
