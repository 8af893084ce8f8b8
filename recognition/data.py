"""What the audit reads: labelled images at the model's input size, with object boxes where known.

Two sources share one interface (``labels``, ``class_names``, ``ids``, ``load``):
the synthetic birds, rendered on the fly, and image files listed by a data-set
loader (``rather.recognition.loaders``). ``load`` returns images in [0, 1] resized
to the model's input size and their boxes in that frame; ``Preprocess.normalise``
then applies the model's mean and std.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch

from rather.common.errors import BadInput
from rather.common.images import prepare, read_image

from .synthetic import CLASS_NAMES, make_set


@dataclass(frozen=True)
class Preprocess:
    """A model's input: size (H, W), ``channels`` (None: the RGB images as they are; 1: their grey mean; more:
    the grey copied), then (x - mean) / std per channel (None: as is)."""

    size: tuple[int, int]
    mean: Optional[tuple[float, ...]] = None
    std: Optional[tuple[float, ...]] = None
    channels: Optional[int] = None

    def normalise(self, shown: torch.Tensor) -> torch.Tensor:
        """(N, 3, H, W) images in [0, 1], as shown -> the model's input."""
        x = shown
        if self.channels is not None and self.channels != x.shape[1]:
            grey = x.mean(dim=1, keepdim=True)
            x = grey if self.channels == 1 else grey.expand(-1, self.channels, -1, -1)
        if self.mean is not None:
            x = x - torch.tensor(self.mean, dtype=x.dtype).view(1, -1, 1, 1)
        if self.std is not None:
            x = x / torch.tensor(self.std, dtype=x.dtype).view(1, -1, 1, 1)
        return x


@dataclass(frozen=True)
class ImageSet:
    """Image files of a data set: ``paths``, ``labels`` (N,) 0-based, ``boxes`` (N, 4) x0, y0, x1, y1
    in pixel edges of the file (NaN where unknown), ``class_names``, ``ids`` (unique, no '/'),
    ``crop_bottom`` rows to cut off every image before use (FGVC-Aircraft's banner) and ``points``
    (N, parts, 2) x, y of annotated parts (NaN where hidden; CUB-200-2011 only), named by ``part_names``."""

    paths: tuple[Path, ...]
    labels: np.ndarray
    boxes: np.ndarray
    class_names: tuple[str, ...]
    ids: tuple[str, ...]
    crop_bottom: int = 0
    points: Optional[np.ndarray] = None
    part_names: tuple[str, ...] = ()

    def __post_init__(self):
        if len(self.paths) == 0:
            raise BadInput("the data set has no images in this split; check --data and --split")


@dataclass
class FileData:
    """An ``ImageSet`` read and resized to ``size`` on demand; its part names (CUB-200-2011) as ``part_names``."""

    images: ImageSet
    size: tuple[int, int]
    labels: np.ndarray = field(init=False)
    class_names: tuple[str, ...] = field(init=False)
    ids: tuple[str, ...] = field(init=False)
    seeds: None = None

    def __post_init__(self):
        self.labels, self.class_names, self.ids = self.images.labels, self.images.class_names, self.images.ids
        self.part_names = self.images.part_names

    def path(self, index: int) -> Optional[str]:
        """The file image ``index`` is read from."""
        return str(self.images.paths[index])

    def load(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (B, 3, H, W) in [0, 1] at ``size`` and boxes (B, 4) in that frame."""
        shown, boxes, _ = self.load_with_points(indices)
        return shown, boxes

    def load_with_points(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, Optional[torch.Tensor]]:
        """``load``'s images and boxes, and the part locations (B, parts, 2) x, y in that frame (None: no parts)."""
        shown, boxes, points = [], [], []
        for index in indices:
            image = read_image(self.images.paths[index])
            if self.images.crop_bottom:
                image = image[:, :image.shape[1] - self.images.crop_bottom]
            height, width = image.shape[1:]
            shown.append(prepare(image, self.size, channels=3).clamp(0, 1))
            scale = np.array([self.size[1] / width, self.size[0] / height])
            boxes.append(np.clip(self.images.boxes[index] * np.tile(scale, 2), 0, [self.size[1], self.size[0]] * 2))
            if self.images.points is not None:
                points.append(self.images.points[index] * scale)
        located = torch.from_numpy(np.stack(points)).float() if points else None
        return torch.cat(shown), torch.from_numpy(np.stack(boxes)).float(), located


@dataclass
class SyntheticData:
    """``count`` synthetic birds of every class per seed in ``seeds``, rendered at ``size``; boxes, parts and
    scene seeds known (``make_set(count, seed)`` for each seed, concatenated)."""

    count: int
    seeds_of_sets: tuple[int, ...]
    size: tuple[int, int]
    labels: np.ndarray = field(init=False)
    class_names: tuple[str, ...] = CLASS_NAMES
    ids: tuple[str, ...] = field(init=False)
    seeds: np.ndarray = field(init=False)

    def __post_init__(self):
        if self.size[0] != self.size[1]:
            raise BadInput(f"synthetic birds are square; give --size S S (got {self.size[0]} x {self.size[1]})")
        sets = [make_set(self.count, seed=seed, size=self.size[0]) for seed in self.seeds_of_sets]
        self.images = np.concatenate([s.images for s in sets])
        self.boxes = np.concatenate([s.boxes for s in sets])
        self.labels = np.concatenate([s.labels for s in sets])
        self.seeds = np.concatenate([s.seeds for s in sets])
        self.ids = tuple(f"bird{seed}_{index:05d}" for seed in self.seeds_of_sets for index in range(self.count))

    def path(self, index: int) -> Optional[str]:
        """None: a synthetic bird is rendered, not read (its id names its set's seed and its index)."""
        return None

    def load_with_points(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor, None]:
        """``load``'s images and boxes; no annotated part locations (the differing part is known instead)."""
        return (*self.load(indices), None)

    def load(self, indices: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        indices = np.asarray(indices, np.int64)
        return torch.from_numpy(self.images[indices]), torch.from_numpy(self.boxes[indices])
