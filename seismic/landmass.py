"""LANDMASS loaders: labelled seismic patches from the F3 Netherlands block.

LANDMASS (Alaudah & AlRegib, Georgia Tech CeGP / OLIVES) comes as one folder per
class, each holding one MATLAB ``.mat`` file per image:

- LANDMASS-1: 17,667 patches of 99 x 99 samples (9,385 horizon, 5,140 chaotic,
  1,251 fault, 1,891 salt dome);
- LANDMASS-2: 4,000 images of 150 x 300 samples (1,000 per class);

values in [-1, 1]. The published tree is ``LANDMASS1/{chaotic,fault,horizon,salt dome}``
and ``LANDMASS2/...``; copies in the wild spell the class folders differently
("Salt Dome", "Salt_Dome", "saltdome", "Horizon", ...), all of which map to
:data:`CLASS_NAMES`. The variable name inside the ``.mat`` files is not documented:
:func:`read_mat_array` takes the one 2-D numeric array a file holds.

>>> data = load_landmass("LANDMASS/LANDMASS1")
>>> data.patches.shape, data.counts["fault"]
((17667, 99, 99), 1251)
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np
import scipy.io

from rather.common.errors import BadInput
from rather.common.storage import PathLike

from .classes import CLASS_NAMES

PATCH_SHAPES: dict[int, tuple[int, int]] = {1: (99, 99), 2: (150, 300)}
"""Image shape (rows, columns) of each LANDMASS version."""

RANGE_TOLERANCE = 1e-3
"""Values up to this far outside [-1, 1] are rounding and are clipped; beyond it a file is refused."""

_EXPECTED_COUNTS: dict[int, dict[str, int]] = {
    1: {"horizon": 9385, "chaotic": 5140, "fault": 1251, "salt_dome": 1891},
    2: {"horizon": 1000, "chaotic": 1000, "fault": 1000, "salt_dome": 1000},
}

# Folder names, lower-cased with everything but letters and digits removed.
_FOLDER_ALIASES: dict[str, int] = {
    "horizon": 0, "horizons": 0,
    "chaotic": 1,
    "fault": 2, "faults": 2,
    "saltdome": 3, "saltdomes": 3, "salt": 3,
}
_VERSION_FOLDER = re.compile(r"landmass[\W_]*([12])", re.IGNORECASE)
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_IGNORED_FOLDERS = {"__MACOSX"}  # left behind by zip archives made on macOS


@dataclass(frozen=True, eq=False)
class PatchSet:
    """Labelled patches: ``patches[i]`` is of class ``class_names[labels[i]]``, read from ``files[i]``.

    Attributes:
        patches: float32 (N, H, W), values in [-1, 1].
        labels: int64 (N,), indices into ``class_names``.
        files: N paths relative to the loaded root, sorted by class then file name.
        class_names: the class of each label index.
        version: 1 or 2 for LANDMASS-1 / LANDMASS-2, None for patches from elsewhere.

    Equality is identity (arrays have no single truth value).
    """

    patches: np.ndarray
    labels: np.ndarray
    files: tuple[str, ...]
    class_names: tuple[str, ...] = CLASS_NAMES
    version: int | None = None

    def __post_init__(self) -> None:
        if self.patches.ndim != 3 or self.labels.shape != (len(self.patches),) or len(self.files) != len(self.patches):
            raise BadInput(
                f"PatchSet needs patches (N, H, W), labels (N,) and N files; got {self.patches.shape}, "
                f"{self.labels.shape} and {len(self.files)}: pass one label and one file per patch"
            )
        if len(self.labels) and not 0 <= int(self.labels.min()) <= int(self.labels.max()) < len(self.class_names):
            raise BadInput(
                f"PatchSet labels must lie in 0..{len(self.class_names) - 1} (one per class name); "
                f"got {int(self.labels.min())}..{int(self.labels.max())}: fix the labels or the class names"
            )

    def __len__(self) -> int:
        return len(self.patches)

    @property
    def counts(self) -> dict[str, int]:
        """Patches per class, every class included (an empty or missing class folder counts 0)."""
        tally = np.bincount(self.labels, minlength=len(self.class_names))
        return {name: int(count) for name, count in zip(self.class_names, tally)}


def expected_counts(version: int) -> dict[str, int]:
    """Published number of images per class of LANDMASS-``version`` (1 or 2).

    >>> sum(expected_counts(1).values())
    17667
    """
    _check_version(version)
    return dict(_EXPECTED_COUNTS[version])


def class_index(folder_name: str) -> int | None:
    """Class index of a class folder name in any of its spellings, None if it names no class.

    Case, spaces, underscores and hyphens are ignored: "Salt Dome", "salt_dome",
    "saltdome" and "SaltDome" all give 3 (salt_dome); plurals ("faults") are accepted.
    """
    return _FOLDER_ALIASES.get(re.sub(r"[^a-z0-9]", "", folder_name.lower()))


def read_mat_array(path: PathLike) -> np.ndarray:
    """The single 2-D numeric array stored in a MATLAB ``.mat`` file, whatever its variable name.

    MATLAB v4/v5/v7 files are read with :func:`scipy.io.loadmat`; v7.3 files are
    HDF5 files behind a 512-byte MATLAB header, recognised by the HDF5 signature
    (at offset 0, 512, 1024, ...) and read with h5py. MATLAB writes v7.3 arrays in
    column-major order, so h5py sees them transposed: they are transposed back, and
    both versions give the (rows, columns) array MATLAB shows.

    Only real numeric arrays with at least two rows and two columns count:
    scalars and vectors (a stored label, say), text, logical, complex, cell and
    struct variables are ignored. The array keeps its stored dtype.

    Raises:
        BadInput: the file is unreadable, or holds no such array or several (their names are given).
    """
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"MATLAB file {path} does not exist: check the path")
    found = _hdf5_arrays(path) if _is_hdf5(path) else _mat5_arrays(path)
    if len(found) != 1:
        names = ", ".join(f"{name} {'x'.join(map(str, value.shape))}" for name, value in found.items()) or "none"
        raise BadInput(
            f"{path} must hold exactly one 2-D numeric array, found {len(found)} ({names}): "
            "keep one image per file"
        )
    (array,) = found.values()
    return array


def load_landmass(
    root: PathLike, *, version: int | None = None, limit_per_class: int | None = None
) -> PatchSet:
    """Read a LANDMASS-1 or LANDMASS-2 tree into one :class:`PatchSet`.

    ``root`` holds the class folders (``chaotic``, ``fault``, ``horizon``, ``salt dome``
    in any spelling :func:`class_index` accepts). A root holding ``LANDMASS1`` and
    ``LANDMASS2`` instead (the published top level) is entered for the ``version``
    asked for. Hidden files and folders, ``__MACOSX`` and files not ending in ``.mat``
    are skipped; any other folder is refused. Files are ordered by class (the order of
    :data:`CLASS_NAMES`), then by file name with digit runs compared as numbers
    (``fault_2`` before ``fault_10``); ``limit_per_class`` keeps the first files of
    each class in that order and reads no others.

    Every image must have one shape: with ``version=None`` it gives the version
    (99 x 99 -> 1, 150 x 300 -> 2). Values must lie in [-1, 1] as published;
    excursions up to :data:`RANGE_TOLERANCE` are clipped, larger ones refuse the file
    (such data is not LANDMASS as published: a 0-255 image export, raw amplitudes —
    rescale it first, e.g. with :func:`rather.seismic.patches.scale_to_unit`).

    Empty or missing class folders are allowed; :attr:`PatchSet.counts` shows them,
    and :func:`expected_counts` gives the published numbers to compare with.

    Raises:
        BadInput: missing root, unknown or duplicate class folders, no .mat files,
            unreadable files, a shape that differs or fits no version, NaN/Inf, values
            outside [-1, 1]; the message names the file or folder.
    """
    if version is not None:
        _check_version(version)
    if limit_per_class is not None and (
        isinstance(limit_per_class, bool) or not isinstance(limit_per_class, (int, np.integer)) or limit_per_class < 1
    ):
        raise BadInput(f"limit_per_class must be a positive integer or None, got {limit_per_class!r}")
    root = Path(root)
    class_root = _class_root(root, version)
    folders = _class_folders(class_root)
    listed: list[tuple[int, Path]] = []
    for label, folder in sorted(folders.items()):
        files = sorted(
            (entry for entry in folder.iterdir()
             if entry.is_file() and not entry.name.startswith(".") and entry.suffix.lower() == ".mat"),
            key=lambda entry: _natural_key(entry.name),
        )
        listed.extend((label, entry) for entry in files[:limit_per_class])
    if not listed:
        raise BadInput(
            f"no .mat files in the class folders under {class_root}: point root at a LANDMASS1 or LANDMASS2 folder"
        )

    first = _checked_image(listed[0][1], class_root)
    shape = first.shape
    inferred = next((number for number, known in PATCH_SHAPES.items() if known == shape), None)
    if version is None and inferred is None:
        raise BadInput(
            f"{listed[0][1]} is {shape[0]}x{shape[1]}, neither LANDMASS-1 (99x99) nor LANDMASS-2 (150x300): "
            "check that root is a LANDMASS folder"
        )
    if version is not None and shape != PATCH_SHAPES[version]:
        rows, cols = PATCH_SHAPES[version]
        raise BadInput(
            f"{listed[0][1]} is {shape[0]}x{shape[1]} but LANDMASS-{version} images are {rows}x{cols}: "
            "pass the right version, or version=None to infer it"
        )
    patches = np.empty((len(listed), *shape), dtype=np.float32)
    patches[0] = first
    for index, (_, path) in enumerate(listed[1:], start=1):
        image = _checked_image(path, class_root)
        if image.shape != shape:
            raise BadInput(
                f"{path} is {image.shape[0]}x{image.shape[1]} but {listed[0][1]} is {shape[0]}x{shape[1]}: "
                "every image of a LANDMASS set must have one shape; remove the odd file"
            )
        patches[index] = image
    labels = np.array([label for label, _ in listed], dtype=np.int64)
    files = tuple(path.relative_to(root).as_posix() for _, path in listed)
    return PatchSet(patches, labels, files, CLASS_NAMES, version if version is not None else inferred)


def _check_version(version: object) -> None:
    if isinstance(version, bool) or version not in PATCH_SHAPES:
        raise BadInput(f"LANDMASS version must be 1 or 2, got {version!r}")


def _natural_key(name: str) -> tuple:
    """Sort key comparing digit runs as numbers: 'a_2.mat' < 'a_10.mat'; ties broken by the raw name.

    ``re.split`` with a group puts text at even and digit runs at odd places, so
    two keys only ever compare text with text and numbers with numbers.
    """
    parts = re.split(r"(\d+)", name.lower())
    return [int(part) if index % 2 else part for index, part in enumerate(parts)], name


def _subfolders(folder: Path) -> list[Path]:
    return sorted(
        entry for entry in folder.iterdir()
        if entry.is_dir() and not entry.name.startswith(".") and entry.name not in _IGNORED_FOLDERS
    )


def _class_root(root: Path, version: int | None) -> Path:
    """The folder holding the class folders: ``root`` itself, or its LANDMASS1/LANDMASS2 child."""
    if not root.is_dir():
        raise BadInput(f"LANDMASS folder {root} does not exist or is not a folder: check the path")
    subfolders = _subfolders(root)
    if any(class_index(entry.name) is not None for entry in subfolders):
        return root
    versions = {int(match.group(1)): entry for entry in subfolders if (match := _VERSION_FOLDER.fullmatch(entry.name))}
    if versions and version in versions:
        return versions[version]
    if versions:
        names = ", ".join(entry.name for entry in versions.values())
        raise BadInput(
            f"{root} holds {names} rather than class folders: pass version=1 or 2, or point root at one of them"
        )
    return root  # refused by _class_folders with the list of what is there


def _class_folders(root: Path) -> dict[int, Path]:
    folders: dict[int, Path] = {}
    for entry in _subfolders(root):
        label = class_index(entry.name)
        if label is None:
            raise BadInput(
                f"unknown class folder {entry} in a LANDMASS tree: expected horizon, chaotic, fault and salt dome "
                "(any case, with or without spaces or underscores); move other folders out of it"
            )
        if label in folders:
            raise BadInput(
                f"{folders[label].name!r} and {entry.name!r} in {root} are both the {CLASS_NAMES[label]} class: "
                "merge them into one folder"
            )
        folders[label] = entry
    if not folders:
        raise BadInput(
            f"{root} has no class folders (horizon, chaotic, fault, salt dome): "
            "point root at a LANDMASS1 or LANDMASS2 folder"
        )
    return folders


def _checked_image(path: Path, root: Path) -> np.ndarray:
    """One image as float32, refused if not finite or outside [-1, 1] beyond the tolerance."""
    array = read_mat_array(path)
    image = np.asarray(array, dtype=np.float32)
    if not np.isfinite(image).all():
        raise BadInput(f"{path} contains NaN or Inf values: replace or remove the file")
    low, high = float(image.min()), float(image.max())
    if low < -1 - RANGE_TOLERANCE or high > 1 + RANGE_TOLERANCE:
        raise BadInput(
            f"{path} has values in [{low:g}, {high:g}], but LANDMASS images lie in [-1, 1]: rescale the set "
            f"(e.g. rather.seismic.patches.scale_to_unit) or check that {root} is LANDMASS as published"
        )
    return np.clip(image, -1.0, 1.0, out=image)


def _is_hdf5(path: Path) -> bool:
    """HDF5 signature at offset 0 or 512 * 2**k (where the HDF5 user block, MATLAB's header, ends)."""
    size = path.stat().st_size
    with path.open("rb") as handle:
        offset = 0
        while offset + len(_HDF5_SIGNATURE) <= size:
            handle.seek(offset)
            if handle.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else 2 * offset
    return False


def _is_image(array: np.ndarray) -> bool:
    return array.ndim == 2 and min(array.shape) >= 2 and array.dtype.kind in "iuf"


def _mat5_arrays(path: Path) -> dict[str, np.ndarray]:
    try:
        contents = scipy.io.loadmat(path)
    except Exception as error:  # scipy raises ValueError, MatReadError, TypeError... for foreign files
        raise BadInput(f"{path} is not a readable MATLAB file ({error}): re-export it as a .mat file") from None
    return {
        name: value for name, value in contents.items()
        if not name.startswith("__") and isinstance(value, np.ndarray) and _is_image(value)
    }


def _hdf5_arrays(path: Path) -> dict[str, np.ndarray]:
    found: dict[str, np.ndarray] = {}
    try:
        with h5py.File(path, "r") as handle:
            for name, item in handle.items():
                if name.startswith("#") or not isinstance(item, h5py.Dataset):  # #refs#, #subsystem#, structs
                    continue
                matlab_class = item.attrs.get("MATLAB_class", b"")
                matlab_class = matlab_class.decode() if isinstance(matlab_class, bytes) else str(matlab_class)
                if matlab_class in ("char", "logical", "cell") or item.attrs.get("MATLAB_empty", 0):
                    continue
                if item.ndim == 2 and min(item.shape) >= 2 and item.dtype.kind in "iuf":
                    found[name] = item[()].T
    except OSError as error:
        raise BadInput(
            f"{path} looks like a MATLAB v7.3 (HDF5) file but cannot be read ({error}): re-export it"
        ) from None
    return found
