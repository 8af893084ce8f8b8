"""Reading images into tensors for a model: (1, C, H, W) float32."""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .errors import BadInput
from .storage import PathLike


def read_image(path: PathLike) -> np.ndarray:
    """An image file (PNG, JPEG, TIFF, ... or a .npy array) as float32 (C, H, W) in [0, 1].

    Integer images are divided by their type's maximum; an alpha channel is dropped;
    a .npy array is taken as (H, W), (H, W, C) with C <= 4, or (C, H, W), values as they are.
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"image '{path}' does not exist")
    try:
        if path.suffix.lower() == ".npy":
            array = np.load(path, allow_pickle=False)
        else:
            from skimage import io

            array = io.imread(path)
    except Exception as error:  # every reader failure means the same thing to the user
        raise BadInput(f"cannot read image '{path}': {error}") from None
    if array.ndim == 2:
        array = array[None]
    elif array.ndim == 3 and array.shape[-1] <= 4 and array.shape[0] > 4:
        array = np.moveaxis(array, -1, 0)
    if array.ndim != 3:
        raise BadInput(f"image '{path}' has shape {array.shape}; expected (H, W), (H, W, C) or (C, H, W)")
    if array.shape[0] in (2, 4):
        array = array[:-1]
    if np.issubdtype(array.dtype, np.integer):
        array = array / np.iinfo(array.dtype).max
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise BadInput(f"image '{path}' holds NaN or Inf values")
    return array


def prepare(
    image: np.ndarray,
    size: Optional[Sequence[int]] = None,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    channels: Optional[int] = None,
) -> torch.Tensor:
    """(C, H, W) image -> (1, C, H, W) model input: channel count, bilinear resize, then (x - mean) / std."""
    tensor = torch.from_numpy(np.ascontiguousarray(image)).float()
    if channels is not None and tensor.shape[0] != channels:
        if tensor.shape[0] == 1:
            tensor = tensor.expand(channels, -1, -1)
        elif channels == 1:
            tensor = tensor.mean(dim=0, keepdim=True)
        else:
            raise BadInput(f"image has {tensor.shape[0]} channels; the model takes {channels}")
    tensor = tensor.unsqueeze(0)
    if size is not None:
        tensor = F.interpolate(tensor, size=tuple(size), mode="bilinear", align_corners=False, antialias=True)
    for values, name in ((mean, "mean"), (std, "std")):
        if values is not None and len(values) not in (1, tensor.shape[1]):
            raise BadInput(f"--{name} has {len(values)} values for {tensor.shape[1]} channels")
    if mean is not None:
        tensor = tensor - torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    if std is not None:
        if any(value <= 0 for value in std):
            raise BadInput(f"--std must be positive; got {list(std)}")
        tensor = tensor / torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return tensor
