"""A user's labelled seismic data: folders of patches per class, and sections with label masks.

Two layouts, read into plain arrays for training and evaluation (``real_training``):

- **patches**: ``ROOT/<class>/<file>``, one folder per class (its name is the class name;
  the order is ``ROOT/classes.txt`` if present, else the folder names sorted), files
  ``.npy`` (a 2-D array), ``.csv`` / ``.txt`` (a text matrix, comma or blank
  separated), ``.png`` / ``.tif`` / ``.tiff`` (grey levels, mid-grey = 0 amplitude).
  Patches of any size: each is resized (bilinear) to one patch size.
- **sections**: ``ROOT/sections/NAME.(npy|tif|tiff|png|sgy)`` with
  ``ROOT/masks/NAME_mask.(png|npy)`` of the same shape holding one whole class index
  per sample; class names in ``ROOT/classes.txt`` (one per line), else ``class_0`` ..
  up to the largest index. A section is (samples, traces): time down the rows (a SEG-Y
  file's traces are read in file order and turned so).

Every patch and section is scaled on its own by ``patches.scale_to_unit`` (a robust
percentile of |amplitude|), so the survey's gain does not matter. Refused by name: a
folder with fewer than two classes, an empty class, a mask whose shape differs from its
section, a class index outside the declared classes, files that are not 2-D finite numbers.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from rather.common.errors import BadInput
from rather.common.images import read_image
from rather.common.storage import PathLike

from .landmass import PatchSet, _natural_key
from .patches import scale_each, scale_to_unit
from .seismic_model import check_class_names
from .survey import open_survey

PATCH_FILES = (".npy", ".csv", ".txt", ".png", ".tif", ".tiff")
SECTION_FILES = (".npy", ".tif", ".tiff", ".png", ".sgy", ".segy")
MASK_FILES = (".png", ".npy")
MAX_SIDE = 20_000
"""The largest side of a patch or section read (samples)."""


def read_matrix(path: Path) -> np.ndarray:
    """The 2-D float32 amplitudes of a ``.npy``, text matrix, image or SEG-Y file (sections: samples down)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        array = _load_npy(path)
    elif suffix in (".csv", ".txt"):
        array = _load_text(path)
    elif suffix in (".sgy", ".segy"):
        with open_survey(path, ignore_geometry=True) as survey:
            array = survey.line().values
    else:
        image = read_image(path)
        array = image.mean(0) - 0.5  # grey levels around mid-grey; colour channels averaged
    array = np.asarray(array)
    if array.ndim != 2 or array.dtype.kind not in "biuf" or min(array.shape) < 2 or max(array.shape) > MAX_SIDE:
        raise BadInput(f"{path}: holds {array.dtype} of shape {array.shape}, not a 2-D matrix of numbers "
                       f"(2 to {MAX_SIDE:,} samples a side); give one patch or section per file")
    array = array.astype(np.float32)
    if not np.isfinite(array).all():
        raise BadInput(f"{path}: holds NaN or Inf samples; fill or mute them first")
    return array


def _load_npy(path: Path) -> np.ndarray:
    try:
        return np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as error:
        reason = "it holds pickled objects" if "pickle" in str(error) else "it is not a NumPy .npy file"
        raise BadInput(f"{path}: cannot be read ({reason}); save a plain numeric array with numpy.save") from None


def _load_text(path: Path) -> np.ndarray:
    try:
        with open(path, encoding="utf-8") as file:
            first = file.readline()
        return np.loadtxt(path, delimiter="," if "," in first else None, dtype=np.float64, ndmin=2)
    except (ValueError, UnicodeDecodeError):
        raise BadInput(f"{path}: is not a text matrix of numbers (one row per line, comma or blank separated)") \
            from None


def resize(patches: np.ndarray, size: int) -> np.ndarray:
    """(N, H, W) patches resized to (N, size, size), bilinear (``align_corners=False``); unchanged if already so."""
    if patches.shape[1:] == (size, size):
        return patches
    return F.interpolate(torch.from_numpy(patches)[:, None], size=(size, size), mode="bilinear",
                         align_corners=False)[:, 0].numpy()


def _declared_classes(root: Path) -> tuple[str, ...] | None:
    """The class names of ``root/classes.txt`` (one per line), or None when there is no such file."""
    listed = root / "classes.txt"
    if not listed.is_file():
        return None
    names = tuple(line.strip() for line in listed.read_text(encoding="utf-8", errors="replace").splitlines()
                  if line.strip())
    check_class_names(names, str(listed))
    return names


def load_patch_folder(root: PathLike, patch: int | None = None) -> PatchSet:
    """Every patch under ``root`` (a folder per class), resized to ``patch`` (default: the most common size)
    and scaled each on its own.

    Files are ordered by class, then by name (digit runs as numbers). Refused: a missing
    root, fewer than two class folders, an empty class folder, a folder not in
    ``classes.txt``, a file of another kind.
    """
    root = Path(root)
    if not root.is_dir():
        raise BadInput(f"--patches {root}: is not a folder; give a folder holding one folder of patches per class")
    folders = sorted((entry for entry in root.iterdir() if entry.is_dir() and not entry.name.startswith(".")),
                     key=lambda entry: entry.name)
    found = [folder.name for folder in folders]
    names = _declared_classes(root) or tuple(found)
    if len(found) < 2:
        raise BadInput(f"--patches {root}: holds {len(found)} class folder{'s' if len(found) != 1 else ''} "
                       f"({', '.join(found) or 'none'}); a classifier needs at least two classes, a folder each")
    check_class_names(tuple(found), f"--patches {root}")
    unknown = sorted(set(found) - set(names))
    if unknown:
        raise BadInput(f"--patches {root}: class folder '{unknown[0]}' is not in {root / 'classes.txt'} "
                       f"({', '.join(names)}); add it there or remove the folder")
    listed: list[tuple[int, Path]] = []
    for folder in folders:
        files = sorted((entry for entry in folder.iterdir() if entry.is_file() and not entry.name.startswith(".")),
                       key=lambda entry: _natural_key(entry.name))
        odd = [entry for entry in files if entry.suffix.lower() not in PATCH_FILES]
        if odd:
            raise BadInput(f"{odd[0]}: is not a patch file; patches are {', '.join(PATCH_FILES)}")
        if not files:
            raise BadInput(f"--patches {root}: class folder '{folder.name}' holds no patch; add patches or "
                           "remove the folder")
        listed += [(names.index(folder.name), entry) for entry in files]
    arrays = [read_matrix(path) for _, path in listed]
    size = patch or Counter(min(array.shape) for array in arrays).most_common(1)[0][0]
    patches = np.concatenate([resize(array[None], size) for array in arrays]) if arrays else np.zeros((0, size, size))
    labels = np.array([label for label, _ in listed], dtype=np.int64)
    files = tuple(path.relative_to(root).as_posix() for _, path in listed)
    return PatchSet(scale_each(patches.astype(np.float32)), labels, files, names)


@dataclass(frozen=True, eq=False)
class LabelledSections:
    """Sections with a class per sample: names[i]'s amplitudes (H_i, W_i) scaled to [-1, 1] and its labels."""

    names: tuple[str, ...]
    amplitudes: tuple[np.ndarray, ...]
    labels: tuple[np.ndarray, ...]
    class_names: tuple[str, ...]

    def subset(self, keep: list[int]) -> "LabelledSections":
        return LabelledSections(tuple(self.names[i] for i in keep), tuple(self.amplitudes[i] for i in keep),
                                tuple(self.labels[i] for i in keep), self.class_names)


def _one_file(folder: Path, stem: str, suffixes: tuple[str, ...], what: str) -> Path:
    found = [folder / f"{stem}{suffix}" for suffix in suffixes if (folder / f"{stem}{suffix}").is_file()]
    if not found:
        raise BadInput(f"{folder}: no {what} {stem}.({'|'.join(s[1:] for s in suffixes)}); every section needs "
                       "its mask, masks/NAME_mask.png or .npy")
    if len(found) > 1:
        raise BadInput(f"{folder}: {found[0].name} and {found[1].name} are both {what} {stem}; keep one")
    return found[0]


def read_mask(path: Path) -> np.ndarray:
    """A label mask: whole class indices (H, W) int64, from a .npy array or a PNG's grey or palette indices."""
    if path.suffix.lower() == ".npy":
        mask = _load_npy(path)
    else:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as image:
                mask = np.asarray(image if image.mode in ("L", "P", "I", "I;16", "1") else image.convert("L"))
        except (UnidentifiedImageError, OSError):
            raise BadInput(f"{path}: is not a readable PNG; save the mask as a grey PNG of class indices") from None
    mask = np.asarray(mask)
    if mask.ndim != 2 or mask.dtype.kind not in "biuf":
        raise BadInput(f"{path}: holds {mask.dtype} of shape {mask.shape}; a mask is 2-D, one class per sample")
    if mask.dtype.kind == "f" and not (np.isfinite(mask).all() and np.array_equal(mask, np.round(mask))):
        raise BadInput(f"{path}: holds fractions, NaN or Inf; a mask holds whole class indices")
    return mask.astype(np.int64)


def load_sections(root: PathLike) -> LabelledSections:
    """Every section of ``root/sections`` with its mask from ``root/masks``, checked and scaled."""
    root = Path(root)
    sections, masks = root / "sections", root / "masks"
    if not sections.is_dir() or not masks.is_dir():
        raise BadInput(f"--sections {root}: needs the folders sections/ and masks/ (sections/NAME.npy with "
                       "masks/NAME_mask.png)")
    files = sorted((entry for entry in sections.iterdir() if entry.is_file() and not entry.name.startswith(".")),
                   key=lambda entry: _natural_key(entry.name))
    odd = [entry for entry in files if entry.suffix.lower() not in SECTION_FILES]
    if odd:
        raise BadInput(f"{odd[0]}: is not a section file; sections are {', '.join(SECTION_FILES)}")
    stems = [entry.stem for entry in files]
    if len(set(stems)) != len(stems):
        twice = next(stem for stem in stems if stems.count(stem) > 1)
        raise BadInput(f"{sections}: two files are the section {twice!r}; keep one")
    if len(files) < 1:
        raise BadInput(f"--sections {root}: sections/ holds no section")
    amplitudes, labels = [], []
    for entry in files:
        amplitude = read_matrix(entry)
        mask_path = _one_file(masks, f"{entry.stem}_mask", MASK_FILES, "mask")
        mask = read_mask(mask_path)
        if mask.shape != amplitude.shape:
            raise BadInput(f"{mask_path}: mask shape {mask.shape[0]} x {mask.shape[1]} differs from its section "
                           f"{entry.name}, {amplitude.shape[0]} x {amplitude.shape[1]} (samples x traces); give "
                           "one class per sample of the section")
        amplitudes.append(scale_to_unit(amplitude))
        labels.append(mask)
    largest = max(int(mask.max()) for mask in labels)
    declared = _declared_classes(root)
    names = declared or tuple(f"class_{index}" for index in range(max(largest + 1, 2)))
    for entry, mask in zip(files, labels):
        if mask.min() < 0 or mask.max() >= len(names):
            bad = int(mask.min()) if mask.min() < 0 else int(mask.max())
            raise BadInput(f"{masks}/{entry.stem}_mask: class {bad} is outside the declared classes 0..{len(names) - 1}"
                           f" ({', '.join(names)}); fix the mask or {root / 'classes.txt'}")
    present = np.unique(np.concatenate([mask.ravel() for mask in labels]))
    if len(present) < 2:
        raise BadInput(f"--sections {root}: every mask holds the one class {names[int(present[0])]}; training "
                       "needs samples of at least two classes")
    return LabelledSections(tuple(entry.stem for entry in files), tuple(amplitudes), tuple(labels), names)


def section_split(count: int, hold_out: float, seed: int) -> tuple[list[int], list[int]]:
    """(training, held-out) section indices: ``round(hold_out * count)`` whole sections held out (at least one
    when ``hold_out`` > 0 and two or more sections exist), chosen by ``seed``; never a window of one in both."""
    held = min(count - 1, max(1 if hold_out > 0 and count > 1 else 0, round(hold_out * count)))
    order = np.random.default_rng(seed).permutation(count)
    return sorted(order[held:].tolist()), sorted(order[:held].tolist())

