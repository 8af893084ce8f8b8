"""Seeded distortions of colour images at five levels, over the whole image or inside a region.

Images are float32 arrays (H, W, 3) in [0, 1]; every distortion returns a new
array of the same shape, clipped to [0, 1]. Level 1 is the mildest, 5 the worst.

==================  ================================================================
kind                what, per level 1..5
==================  ================================================================
gaussian_blur       Gaussian filter, sigma 0.6, 1.2, 2, 3.2, 5 pixels
motion_blur         a line kernel of 3, 5, 9, 13, 19 pixels at a seeded angle
white_noise         additive Gaussian noise, sigma 0.02, 0.04, 0.07, 0.12, 0.2
impulse_noise       salt and pepper on 1, 3, 6, 10, 16 % of the pixels
jpeg                JPEG (Pillow) at quality 40, 20, 10, 6, 3
jpeg2000            JPEG 2000 (Pillow, OpenJPEG) at compression ratio 30, 60, 120, 240, 480
contrast_change     towards the mean grey: x' = m + c (x - m), c = 0.8, 0.6, 0.45, 0.3, 0.18
colour_saturation   away from the luminance: x' = Y + f (x - Y), f = 1.5, 2, 2.8, 3.8, 5
quantisation        2**b grey levels per channel, b = 5, 4, 3, 2.5 (6 levels), 2
==================  ================================================================

``distort_locally`` damages only a rectangle (seeded, or given) and returns its mask:
the ground truth for "does the explanation look where the damage is?".
"""
from __future__ import annotations

import io
from typing import Callable, Optional

import numpy as np
from scipy import ndimage

from rather.common import BadInput

LEVELS = 5
LUMINANCE = np.array([0.299, 0.587, 0.114], dtype=np.float32)

_BLUR_SIGMA = (0.6, 1.2, 2.0, 3.2, 5.0)
_MOTION_LENGTH = (3, 5, 9, 13, 19)
_NOISE_SIGMA = (0.02, 0.04, 0.07, 0.12, 0.2)
_IMPULSE_SHARE = (0.01, 0.03, 0.06, 0.10, 0.16)
_JPEG_QUALITY = (40, 20, 10, 6, 3)
_JPEG2000_RATIO = (30, 60, 120, 240, 480)
_CONTRAST = (0.8, 0.6, 0.45, 0.3, 0.18)
_SATURATION = (1.5, 2.0, 2.8, 3.8, 5.0)
_QUANTISATION_LEVELS = (32, 16, 8, 6, 4)


def _gaussian_blur(image, level, rng):
    sigma = _BLUR_SIGMA[level - 1]
    return ndimage.gaussian_filter(image, sigma=(sigma, sigma, 0), mode="reflect")


def motion_kernel(length: int, angle: float) -> np.ndarray:
    """(length, length) kernel: a line through the centre at ``angle`` radians, summing to 1."""
    centre = (length - 1) / 2
    steps = np.linspace(-centre, centre, 4 * length)
    rows = np.rint(centre - steps * np.sin(angle)).astype(int)
    cols = np.rint(centre + steps * np.cos(angle)).astype(int)
    kernel = np.zeros((length, length), dtype=np.float64)
    kernel[rows, cols] = 1.0
    return kernel / kernel.sum()


def _motion_blur(image, level, rng):
    kernel = motion_kernel(_MOTION_LENGTH[level - 1], rng.uniform(0, np.pi))
    return ndimage.convolve(image, kernel[:, :, None], mode="reflect")


def _white_noise(image, level, rng):
    return image + rng.normal(0.0, _NOISE_SIGMA[level - 1], image.shape)


def _impulse_noise(image, level, rng):
    out = image.copy()
    hit = rng.random(image.shape[:2]) < _IMPULSE_SHARE[level - 1]
    out[hit] = (rng.random(int(hit.sum())) < 0.5).astype(image.dtype)[:, None]
    return out


def _encoded(image: np.ndarray, **options) -> np.ndarray:
    """The image after a round trip through Pillow's encoder with ``options``."""
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.rint(np.clip(image, 0, 1) * 255).astype(np.uint8)).save(buffer, **options)
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        return np.asarray(decoded.convert("RGB"), dtype=np.float32) / 255


def _jpeg(image, level, rng):
    return _encoded(image, format="JPEG", quality=_JPEG_QUALITY[level - 1])


def _jpeg2000(image, level, rng):
    return _encoded(image, format="JPEG2000", quality_mode="rates", quality_layers=[_JPEG2000_RATIO[level - 1]])


def _contrast_change(image, level, rng):
    mean = image.mean(axis=(0, 1), keepdims=True)
    return mean + _CONTRAST[level - 1] * (image - mean)


def _colour_saturation(image, level, rng):
    luminance = (image @ LUMINANCE)[:, :, None]
    return luminance + _SATURATION[level - 1] * (image - luminance)


def _quantisation(image, level, rng):
    steps = _QUANTISATION_LEVELS[level - 1] - 1
    return np.rint(image * steps) / steps


DISTORTIONS: dict[str, Callable[[np.ndarray, int, np.random.Generator], np.ndarray]] = {
    "gaussian_blur": _gaussian_blur,
    "motion_blur": _motion_blur,
    "white_noise": _white_noise,
    "impulse_noise": _impulse_noise,
    "jpeg": _jpeg,
    "jpeg2000": _jpeg2000,
    "contrast_change": _contrast_change,
    "colour_saturation": _colour_saturation,
    "quantisation": _quantisation,
}
KINDS = tuple(DISTORTIONS)


def _checked(image: np.ndarray, kind: str, level: int) -> np.ndarray:
    if kind not in DISTORTIONS:
        raise BadInput(f"unknown distortion '{kind}'; choose one of: {', '.join(KINDS)}")
    if isinstance(level, bool) or not isinstance(level, (int, np.integer)) or not 1 <= level <= LEVELS:
        raise BadInput(f"distortion level must be an integer 1..{LEVELS}; got {level!r}")
    image = np.asarray(image)
    if image.ndim != 3 or image.shape[2] != 3:
        raise BadInput(f"distortions take a colour image (H, W, 3); got shape {image.shape}")
    return image.astype(np.float32)


def distort(image: np.ndarray, kind: str, level: int, seed: int = 0) -> np.ndarray:
    """``kind`` at ``level`` (1..5) applied to the whole image (H, W, 3) in [0, 1]; same seed, same output."""
    image = _checked(image, kind, level)
    out = DISTORTIONS[kind](image, int(level), np.random.default_rng(seed))
    return np.clip(out, 0, 1).astype(np.float32)


def random_region(height: int, width: int, rng: np.random.Generator, share: float = 0.25) -> tuple[int, int, int, int]:
    """A rectangle (top, left, height, width) of about ``share`` of the image, at a random place."""
    rows, cols = max(1, int(round(height * np.sqrt(share)))), max(1, int(round(width * np.sqrt(share))))
    return int(rng.integers(0, height - rows + 1)), int(rng.integers(0, width - cols + 1)), rows, cols


def distort_locally(
    image: np.ndarray, kind: str, level: int, seed: int = 0,
    region: Optional[tuple[int, int, int, int]] = None,
) -> tuple[np.ndarray, np.ndarray]:
    """``kind`` at ``level`` inside a rectangle only; returns (image, mask (H, W) bool of the rectangle).

    region: (top, left, height, width); by default a seeded rectangle of a quarter of the image.
    Outside the mask the output equals the input exactly.
    """
    image = _checked(image, kind, level)
    height, width = image.shape[:2]
    rng = np.random.default_rng(seed)
    top, left, rows, cols = region if region is not None else random_region(height, width, rng)
    if rows < 1 or cols < 1 or top < 0 or left < 0 or top + rows > height or left + cols > width:
        raise BadInput(f"region {region} does not lie inside the {height} x {width} image")
    mask = np.zeros((height, width), dtype=bool)
    mask[top:top + rows, left:left + cols] = True
    damaged = distort(image, kind, level, seed=int(rng.integers(2**31)))
    return np.where(mask[:, :, None], damaged, image).astype(np.float32), mask
