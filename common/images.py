"""Reading images into tensors for a model: (1, C, H, W) float32.

Files are read defensively: the header is read first, and an image whose declared size
exceeds a pixel limit (a decompression bomb: a few bytes declaring gigapixels) is refused
before anything is decoded. The limit is ``max_pixels`` of ``read_image``, else the
environment variable ``RATHER_MAX_PIXELS``, else ``DEFAULT_MAX_PIXELS`` (50 megapixels).
Every reader failure is rephrased as one line of ours; no library's message reaches the user.
"""
from __future__ import annotations

import math
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from .checkpoints import MAX_CHANNELS
from .errors import BadInput
from .memory import require_memory
from .storage import PathLike

DEFAULT_MAX_PIXELS = 50_000_000
MAX_PIXELS_VARIABLE = "RATHER_MAX_PIXELS"
READABLE = "PNG, JPEG, TIFF, .npy"
# Peak bytes per pixel while reading: decoded samples (up to 4 of 2 bytes) and their float32 copy.
BYTES_PER_PIXEL = 4 * 2 + 4 * 4

_NPY_MAGIC = b"\x93NUMPY"
_TIFF_MAGICS = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")  # classic TIFF and BigTIFF, both byte orders
# Pillow modes whose samples numpy takes as they are; every other mode (palette, CMYK, YCbCr, ...) becomes RGB.
_PLAIN_MODES = {"1", "L", "LA", "RGB", "RGBA", "I;16", "I;16L", "I;16B", "I", "F"}


def read_image(path: PathLike, max_pixels: Optional[int] = None, *,
               size: Optional[Sequence[int]] = None) -> np.ndarray:
    """An image file (PNG, JPEG, TIFF, ... or a .npy array) as float32 (C, H, W) in [0, 1].

    Integer samples are divided by their type's maximum (8- and 16-bit images land in
    [0, 1]); float samples must already lie in [0, 1] (anything else is refused: rather
    does not guess a rescaling); palette, CMYK and YCbCr images are converted to RGB; an
    alpha channel is dropped (grey + alpha gives grey). A TIFF's first page is read. Image
    files are always (H, W) or (H, W, C), however small. A .npy array must hold plain
    numbers (no pickled objects, complex numbers or dates) and is read by this rule: 2-D is
    (H, W); 3-D whose last axis is 1 to 4 is (H, W, C), even when its first axis is small
    too (a 3 x 5 x 3 array is 3 x 5 RGB pixels); any other 3-D is (C, H, W) with C at most
    ``MAX_CHANNELS``. Images over ``max_pixels`` (default: see the module docstring) are
    refused unread.

    ``size`` (H, W): the size the caller will resize to. An image at least twice as large
    is first shrunk by the largest whole factor that keeps it at least ``size``, by block
    means of its samples as decoded, so that no full-size float copy is made. The last row
    and column of blocks may be partial: the picture then shifts by less than one pixel of
    ``size`` against resizing the full image.
    """
    path = Path(path)
    limit = pixel_limit(max_pixels)
    kind = _sniff(path)
    if kind == "npy":
        array = _read_npy(path, limit)
    else:
        array = _read_tiff(path, limit) if kind == "tiff" else None
        if array is None:
            array = _read_pillow(path, limit)
    if array.shape[0] in (2, 4):
        array = array[:-1]
    _check_samples(path, array)
    factor = 1 if size is None else max(1, min(side // max(1, int(want)) for side, want in zip(array.shape[1:], size)))
    scale = np.iinfo(array.dtype).max if np.issubdtype(array.dtype, np.integer) else 1
    if factor > 1:
        return (block_mean(array, factor) / scale).astype(np.float32)
    if scale != 1:
        return array.astype(np.float32) / np.float32(scale)
    return array.astype(np.float32, copy=False)


def _check_type(path: Path, dtype: np.dtype) -> None:
    """Refuse samples that are not plain numbers (complex numbers, dates, text, ...)."""
    if dtype.kind == "c":
        raise BadInput(f"cannot read image '{path}': it holds complex numbers; save the real part or the magnitude "
                       "(numpy.abs)")
    if dtype.kind not in "biuf":
        raise BadInput(f"cannot read image '{path}': it holds {dtype} values; save numbers (bool, integer or float)")


def _check_samples(path: Path, array: np.ndarray) -> None:
    """Refuse samples that are not plain numbers, and float samples that are not finite or lie outside [0, 1]."""
    _check_type(path, array.dtype)
    if array.dtype.kind != "f":
        return
    if not np.isfinite(array).all():
        raise BadInput(f"image '{path}' holds NaN or Inf values; replace them (e.g. np.nan_to_num) and save again")
    low, high = float(array.min()), float(array.max())
    if low < 0 or high > 1:
        raise BadInput(f"image '{path}' holds float samples from {low:.4g} to {high:.4g}; rather reads float images "
                       "as values in [0, 1] (integer images are scaled by their type's maximum): rescale it to "
                       "[0, 1], e.g. (x - x.min()) / (x.max() - x.min()), or save it as 8- or 16-bit integers")


def block_mean(array: np.ndarray, factor: int) -> np.ndarray:
    """(C, H, W) samples -> float64 (C, ceil(H / factor), ceil(W / factor)): the mean of each factor x factor block
    (the blocks of the last row and column may be smaller).

    Sums are taken in 32-bit integers where they cannot overflow (8- and 16-bit samples,
    factor <= 128), so the intermediate rows take at most half the memory of a float32
    copy of the image; other samples are summed in float64.
    """
    narrow = array.dtype.kind in "biu" and array.dtype.itemsize <= 2 and factor <= 128
    _, height, width = array.shape
    rows, columns = np.arange(0, height, factor), np.arange(0, width, factor)
    sums = np.add.reduceat(array, rows, axis=1, dtype=np.int32 if narrow else np.float64)
    sums = np.add.reduceat(sums, columns, axis=2, dtype=np.int64 if narrow else np.float64)
    counts = np.outer(np.diff(rows, append=height), np.diff(columns, append=width))
    return sums / counts


def pixel_limit(max_pixels: Optional[int] = None) -> int:
    """The largest image (in pixels) that will be decoded: ``max_pixels``, ``$RATHER_MAX_PIXELS`` or the default."""
    if max_pixels is not None:
        if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 1:
            raise BadInput(f"max_pixels = {max_pixels!r}; give a positive whole number of pixels")
        return int(max_pixels)
    text = os.environ.get(MAX_PIXELS_VARIABLE, "").strip()
    if not text:
        return DEFAULT_MAX_PIXELS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise BadInput(f"{MAX_PIXELS_VARIABLE}='{text}' is not a positive whole number of pixels; "
                       f"unset it (default {DEFAULT_MAX_PIXELS}) or give e.g. {MAX_PIXELS_VARIABLE}=200000000")
    return value


def _sniff(path: Path) -> str:
    """'npy', 'tiff' or 'other', from the file's first bytes; refuses what is not a readable file."""
    if path.is_dir():
        raise BadInput(f"image '{path}' is a folder; give an image file ({READABLE})")
    try:
        with path.open("rb") as file:
            head = file.read(len(_NPY_MAGIC))
    except FileNotFoundError:
        raise BadInput(f"image '{path}' does not exist") from None
    except OSError as error:
        raise BadInput(f"cannot read image '{path}': {error.strerror or 'the file cannot be opened'}") from None
    if not head:
        raise BadInput(f"cannot read image '{path}': the file is empty (0 bytes)")
    if head == _NPY_MAGIC:
        return "npy"
    return "tiff" if head[:4] in _TIFF_MAGICS else "other"


def _not_an_image(path: Path) -> BadInput:
    return BadInput(f"cannot read image '{path}': not an image file rather can read ({READABLE})")


def _damaged(path: Path) -> BadInput:
    return BadInput(f"cannot read image '{path}': the file is truncated or damaged; save or copy it again")


def _check_size(path: Path, height: int, width: int, limit: int) -> None:
    """Refuse an empty image, one over the pixel limit, and one whose decoding cannot fit in memory."""
    if height < 1 or width < 1:
        raise BadInput(f"image '{path}' is empty ({height} x {width} pixels)")
    pixels = height * width
    if pixels > limit:
        raise BadInput(
            f"image '{path}' declares {height} x {width} pixels ({pixels / 1e6:.0f} megapixels), over the limit of "
            f"{limit / 1e6:g} megapixels that guards against decompression bombs; if the image is genuine, "
            f"raise the limit with {MAX_PIXELS_VARIABLE}={pixels}")
    require_memory(pixels * BYTES_PER_PIXEL, f"reading image '{path}' ({height} x {width} pixels)",
                   "free memory or give a smaller image")


def _read_npy(path: Path, limit: int) -> np.ndarray:
    """A .npy file's array, its header checked first: plain numbers only, size within the limit."""
    headers = {1: np.lib.format.read_array_header_1_0, 2: np.lib.format.read_array_header_2_0}
    with path.open("rb") as file:
        try:
            major, _ = np.lib.format.read_magic(file)
            shape, _, dtype = headers[major](file)
        except (ValueError, KeyError, SyntaxError, EOFError):
            raise BadInput(f"cannot read image '{path}': its .npy header is damaged or of an unknown version; "
                           "write the array again with numpy.save") from None
    if dtype.hasobject:
        raise BadInput(f"cannot read image '{path}': the .npy file holds Python objects (pickled data), which rather "
                       "never loads; save a numeric array")
    _check_type(path, dtype)
    if len(shape) not in (2, 3):
        raise BadInput(f"image '{path}' has shape {shape}; expected (H, W), (H, W, C) or (C, H, W)")
    if math.prod(shape) == 0:
        raise BadInput(f"image '{path}' is empty: shape {shape}")
    channels_last = len(shape) == 3 and shape[-1] <= 4  # the rule of read_image's docstring
    if len(shape) == 3 and not channels_last and shape[0] > MAX_CHANNELS:
        raise BadInput(f"image '{path}' has shape {shape}: as (H, W, C) its last axis is more than 4 channels, "
                       f"as (C, H, W) its first is more than {MAX_CHANNELS}; save (H, W), (H, W, C) or (C, H, W)")
    height, width = shape[:2] if channels_last or len(shape) == 2 else shape[1:]
    _check_size(path, height, width, limit)
    require_memory(math.prod(shape) * dtype.itemsize, f"reading '{path}' (shape {shape}, {dtype})",
                   "free memory or give a smaller array")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, EOFError, OSError):
        raise _damaged(path) from None
    if array.ndim == 2:
        return array[None]
    return np.moveaxis(array, -1, 0) if channels_last else array


def _read_tiff(path: Path, limit: int) -> Optional[np.ndarray]:
    """A grey or RGB TIFF's first page (C, H, W), 16-bit and float samples kept; None for other
    photometric interpretations (palette, CMYK, ...), which Pillow converts to RGB."""
    import tifffile

    try:
        with tifffile.TiffFile(path) as tiff:
            page = tiff.pages[0]
            if page.photometric not in (tifffile.PHOTOMETRIC.MINISBLACK, tifffile.PHOTOMETRIC.RGB):
                return None
            if page.axes not in ("YX", "YXS", "SYX"):
                raise BadInput(f"cannot read image '{path}': its first TIFF page has axes {page.axes}; "
                               "rather reads 2D grey or colour pages (axes YX, YXS or SYX)")
            _check_size(path, page.imagelength, page.imagewidth, limit)
            array = page.asarray()
    except (BadInput, MemoryError):
        raise
    except Exception:  # every tifffile failure (header, codec, short file) means the same to the user
        raise _damaged(path) from None
    if page.axes == "YX":
        return array[None]
    return np.moveaxis(array, -1, 0) if page.axes == "YXS" else array


@contextmanager
def _pillow_limit_off() -> Iterator[None]:
    """Pillow's own decompression-bomb guard off: ours (``_check_size``) runs first, with the user's limit."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _read_pillow(path: Path, limit: int) -> np.ndarray:
    """Any image Pillow reads (PNG, JPEG, GIF, BMP, WebP, palette or CMYK TIFF ...) as (C, H, W)."""
    from PIL import Image, UnidentifiedImageError

    with _pillow_limit_off():
        try:
            picture = Image.open(path)  # reads the header only
        except UnidentifiedImageError:
            raise _not_an_image(path) from None
        except MemoryError:
            raise
        except Exception:  # a header Pillow recognised but could not parse
            raise _damaged(path) from None
        with picture:
            _check_size(path, picture.height, picture.width, limit)
            try:
                array = np.asarray(picture if picture.mode in _PLAIN_MODES else picture.convert("RGB"))
            except MemoryError:
                raise
            except Exception:  # every decoder failure (truncated data, bad checksum, ...) means the same
                raise _damaged(path) from None
    return array[None] if array.ndim == 2 else np.moveaxis(array, -1, 0)


NEUTRAL_SOURCES = {"mean": "the normalisation mean", "std": "the normalisation std",
                   "channels": "the model"}
"""How ``prepare`` names where each expectation came from, unless its caller says better."""


def prepare(
    image: np.ndarray,
    size: Optional[Sequence[int]] = None,
    mean: Optional[Sequence[float]] = None,
    std: Optional[Sequence[float]] = None,
    channels: Optional[int] = None,
    *,
    sources: Optional[Mapping[str, str]] = None,
) -> torch.Tensor:
    """(C, H, W) image -> (1, C, H, W) model input: channel count, bilinear resize, then (x - mean) / std.

    A resize is checked against the memory available before it is made. ``sources`` names,
    for the messages, where ``mean``, ``std`` and ``channels`` came from (e.g.
    ``{"mean": "--mean"}`` when the user typed it, ``{"mean": "the checkpoint's
    preprocess.mean"}`` when a file said so); unnamed ones are worded neutrally
    (``NEUTRAL_SOURCES``).
    """
    named = {**NEUTRAL_SOURCES, **(sources or {})}
    tensor = torch.from_numpy(np.ascontiguousarray(image)).float()
    if channels is not None and tensor.shape[0] != channels:
        if tensor.shape[0] == 1:
            tensor = tensor.expand(channels, -1, -1)
        elif channels == 1:
            tensor = tensor.mean(dim=0, keepdim=True)
        else:
            raise BadInput(f"the image has {tensor.shape[0]} channels but {named['channels']} takes {channels}; "
                           f"give an image with {channels} channels (or a grey one)")
    tensor = tensor.unsqueeze(0)
    if size is not None:
        size = tuple(size)
        if len(size) != 2 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1 for n in size):
            raise BadInput(f"--size takes two positive whole numbers H W; got {list(size)}")
        # the resized input, and antialiasing's intermediate pass of the same order
        require_memory(2 * tensor.shape[1] * math.prod(size) * 4, f"resizing to --size {size[0]} {size[1]}",
                       "give a smaller --size")
        tensor = F.interpolate(tensor, size=size, mode="bilinear", align_corners=False, antialias=True)
    for values, name in ((mean, "mean"), (std, "std")):
        if values is not None and len(values) not in (1, tensor.shape[1]):
            raise BadInput(f"{named[name]} has {len(values)} values but the image has {tensor.shape[1]} channels; "
                           "give one value per channel (or one for all)")
    if mean is not None:
        tensor = tensor - torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1)
    if std is not None:
        if any(value <= 0 for value in std):
            raise BadInput(f"{named['std']} must be positive; got {list(std)}")
        tensor = tensor / torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1)
    return tensor
