"""A full-reference quality set made offline from the photographs that scikit-image ships.

References are square crops of the photos (each photo first scaled so that its
shorter side is 192 pixels); each reference is damaged by every distortion at
every level (``distortions``). The quality label is SSIM (Wang et al., IEEE TIP
2004) between reference and distorted image, computed by scikit-image with the
paper's settings (Gaussian window, sigma 1.5, population covariances, data range
1), averaged over the R, G and B channels and clipped to [0, 1]: higher is better,
1 is undamaged.

The split is by photograph: the held-out ("test") references come from photos
that no training reference comes from. Grey photos join the training split as
three equal channels; the test split is colour only, so that every distortion
(colour saturation included) changes every test image.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage import data as photos
from skimage.metrics import structural_similarity
from skimage.transform import rescale

from rather.common import BadInput

from .distortions import KINDS, LEVELS, distort

TRAIN_PHOTOS = ("astronaut", "coffee", "hubble_deep_field", "immunohistochemistry", "retina",
                "camera", "coins", "grass", "gravel", "brick", "clock", "moon")
TEST_PHOTOS = ("chelsea", "rocket")
SPLITS = {"train": TRAIN_PHOTOS, "test": TEST_PHOTOS}
SHORT_SIDE = 192


def ssim_quality(reference: np.ndarray, distorted: np.ndarray) -> float:
    """The label: SSIM of two (H, W, 3) images in [0, 1], mean over channels, clipped to [0, 1]."""
    value = structural_similarity(reference, distorted, channel_axis=-1, data_range=1.0, gaussian_weights=True,
                                  sigma=1.5, use_sample_covariance=False)
    return float(np.clip(value, 0.0, 1.0))


def photo(name: str) -> np.ndarray:
    """A scikit-image photo as float32 (H, W, 3) in [0, 1], shorter side scaled to ``SHORT_SIDE``."""
    image = getattr(photos, name)()
    if image.ndim == 2:
        image = np.repeat(image[:, :, None], 3, axis=2)
    image = image[:, :, :3].astype(np.float32) / 255
    scale = SHORT_SIDE / min(image.shape[:2])
    return np.clip(rescale(image, scale, channel_axis=-1, anti_aliasing=True), 0, 1).astype(np.float32)


@dataclass(frozen=True)
class SyntheticSet:
    """References (R, 3, S, S) and distorted images (M, 3, S, S), float32 in [0, 1].

    reference_of: (M,) index of each distorted image's reference; kinds: (M,) distortion names;
    levels: (M,) 1..5; labels: (M,) SSIM quality in [0, 1]; photos: (R,) the photo of each reference.
    """

    references: np.ndarray
    distorted: np.ndarray
    reference_of: np.ndarray
    kinds: np.ndarray
    levels: np.ndarray
    labels: np.ndarray
    photos: np.ndarray


def reference_crops(split: str, size: int, crops_per_photo: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(R, size, size, 3) crops at seeded places of the split's photos, and the photo name of each."""
    if split not in SPLITS:
        raise BadInput(f"unknown split '{split}'; choose one of: {', '.join(SPLITS)}")
    crops, names = [], []
    for number, name in enumerate(SPLITS[split]):
        image = photo(name)
        rng = np.random.default_rng([seed, number])
        for _ in range(crops_per_photo):
            top = int(rng.integers(0, image.shape[0] - size + 1))
            left = int(rng.integers(0, image.shape[1] - size + 1))
            crops.append(image[top:top + size, left:left + size])
            names.append(name)
    return np.stack(crops), np.array(names)


def make_synthetic(split: str = "train", *, size: int = 96, crops_per_photo: int = 3, seed: int = 0,
                   kinds: tuple[str, ...] = KINDS, levels: int = LEVELS) -> SyntheticSet:
    """Every reference crop of ``split`` under every distortion kind and level 1..``levels``; same seed, same set."""
    if not 32 <= size <= SHORT_SIDE:
        raise BadInput(f"crop size must lie in 32..{SHORT_SIDE}; got {size}")
    references, names = reference_crops(split, size, crops_per_photo, seed)
    distorted, reference_of, kind_of, level_of, labels = [], [], [], [], []
    for index, reference in enumerate(references):
        for kind_number, kind in enumerate(kinds):
            for level in range(1, levels + 1):
                image = distort(reference, kind, level, seed=seed * 1_000_003 + index * 1009 + kind_number * 11 + level)
                distorted.append(image)
                reference_of.append(index)
                kind_of.append(kind)
                level_of.append(level)
                labels.append(ssim_quality(reference, image))
    as_chw = lambda images: np.ascontiguousarray(np.stack(images).transpose(0, 3, 1, 2))  # noqa: E731
    return SyntheticSet(
        references=as_chw(list(references)), distorted=as_chw(distorted), reference_of=np.array(reference_of),
        kinds=np.array(kind_of), levels=np.array(level_of), labels=np.array(labels, dtype=np.float32),
        photos=names,
    )
