"""Fine-grained data sets in their published layouts, as ``ImageSet``s (files are read later, on demand).

Boxes come out as x0, y0, x1, y1 in pixel edges of the file: a box covering
columns 3..5 (0-based) has x0 = 3, x1 = 6. Classes are 0-based, in the order
the data set's class list gives.

- CUB-200-2011 (Wah et al., 2011): ``images.txt`` (id, path under images/),
  ``image_class_labels.txt`` (id, 1-based class), ``train_test_split.txt``
  (id, 1 = train), ``bounding_boxes.txt`` (id, x, y, width, height, 0-based
  pixels), ``classes.txt``, ``parts/parts.txt`` and ``parts/part_locs.txt``
  (id, part, x, y, visible).
- Stanford Cars (Krause et al., 2013): ``devkit/cars_meta.mat`` (class_names),
  ``devkit/cars_train_annos.mat`` and ``cars_test_annos_withlabels.mat``
  (annotations: bbox_x1, bbox_y1, bbox_x2, bbox_y2 1-based inclusive, class
  1-based, fname), images in ``cars_train/`` and ``cars_test/``.
- FGVC-Aircraft (Maji et al., 2013): ``data/variants.txt``,
  ``data/images_variant_{trainval,test}.txt`` (id, then the variant after the
  first space, which may hold spaces), ``data/images_box.txt`` (id, xmin, ymin,
  xmax, ymax, 1-based inclusive), ``data/images/<id>.jpg``; every image carries
  a 20-pixel copyright banner at the bottom, cut off before use.
- ImageNet validation (Russakovsky et al., 2015): ``LOC_synset_mapping.txt``
  (wnid and names, in class order) and either ``LOC_val_solution.csv``
  (ImageId, "wnid x0 y0 x1 y1 ...") or PASCAL-VOC XML files per image
  (``Annotations/CLS-LOC/val`` or ``val``); images in ``ILSVRC/Data/CLS-LOC/val``,
  ``Data/CLS-LOC/val`` or ``val``. An image's box is the union of its class's boxes.
"""
from __future__ import annotations

import csv
import math
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Callable, Optional, Sequence

import numpy as np

from rather.common.errors import BadInput

from .data import ImageSet

SPLITS = ("test", "train", "all")
AIRCRAFT_BANNER = 20


def _needed(path: Path, what: str) -> Path:
    if not path.is_file():
        raise BadInput(f"'{path}' is missing: a {what} copy has it; check --data (and --format)")
    return path


def _rows(path: Path, what: str) -> list[list[str]]:
    """Whitespace-separated fields of every non-empty line."""
    return [line.split() for line in _needed(path, what).read_text().splitlines() if line.strip()]


def _root_with(root: str | Path, marker: str, subfolders: tuple[str, ...]) -> Path:
    """``root`` or the first of its ``subfolders`` that holds ``marker``."""
    root = Path(root)
    for folder in (root, *(root / sub for sub in subfolders)):
        if (folder / marker).exists():
            return folder
    return root


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise BadInput(f"split must be one of {', '.join(SPLITS)}; got '{split}'")


def _ids(paths: list[Path]) -> tuple[str, ...]:
    return tuple(f"{index:06d}_{path.stem}".replace("/", "_") for index, path in enumerate(paths))


def load_cub200(root: str | Path, split: str = "test") -> ImageSet:
    """CUB-200-2011 (``root`` or ``root/CUB_200_2011``); part locations in ``points`` (N, 15, 2), NaN if hidden."""
    _check_split(split)
    base = _root_with(root, "images.txt", ("CUB_200_2011",))
    what = "CUB-200-2011"
    paths = {int(i): path for i, path in _rows(base / "images.txt", what)}
    labels = {int(i): int(c) - 1 for i, c in _rows(base / "image_class_labels.txt", what)}
    is_train = {int(i): flag == "1" for i, flag in _rows(base / "train_test_split.txt", what)}
    boxes = {int(r[0]): [float(v) for v in r[1:5]] for r in _rows(base / "bounding_boxes.txt", what)}
    classes = [" ".join(r[1:]) for r in _rows(base / "classes.txt", what)]
    wanted = [i for i in sorted(paths) if split == "all" or is_train[i] == (split == "train")]
    missing = [i for i in wanted if i not in labels or i not in boxes or i not in is_train]
    if missing:
        raise BadInput(f"{base}: image {missing[0]} has no class, box or split line; the index files disagree")
    xywh = np.array([boxes[i] for i in wanted], np.float64).reshape(-1, 4)
    files = [base / "images" / paths[i] for i in wanted]
    points, names = None, []
    part_file = base / "parts" / "part_locs.txt"
    if part_file.is_file():
        names = [" ".join(r[1:]) for r in _rows(base / "parts" / "parts.txt", what)]
        points = np.full((len(wanted), len(names), 2), np.nan)
        row_of = {image: row for row, image in enumerate(wanted)}
        for line, fields in enumerate(_rows(part_file, what), start=1):
            image, part, x, y = _part_location(fields, len(names), f"{part_file} line {line}")
            if image in row_of and fields[4] == "1":
                points[row_of[image], part - 1] = x, y
    return ImageSet(tuple(files), np.array([labels[i] for i in wanted], np.int64),
                    np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1), tuple(classes), _ids(files),
                    points=points, part_names=tuple(names))


def _part_location(fields: list[str], parts: int, where: str) -> tuple[int, int, float, float]:
    """A part_locs.txt line (image id, part id, x, y, visible) checked: ids whole numbers, the part one of
    parts.txt's, x and y finite."""
    try:
        image, part, x, y = int(fields[0]), int(fields[1]), float(fields[2]), float(fields[3])
        valid = len(fields) == 5 and 1 <= part <= parts and math.isfinite(x) and math.isfinite(y)
    except (ValueError, IndexError):
        valid = False
    if not valid:
        raise BadInput(f"{where}: '{' '.join(fields)}' is not 'image part x y visible' with a part of parts.txt "
                       f"(1 to {parts}); is the CUB-200-2011 copy intact?")
    return image, part, x, y


def _mat(path: Path, what: str) -> dict:
    from scipy.io import loadmat

    try:
        return loadmat(_needed(path, what), squeeze_me=True)
    except (ValueError, TypeError, OSError) as error:
        raise BadInput(f"cannot read '{path}' as a MATLAB file ({error}); is the {what} devkit intact?") from None


def _car_annotations(path: Path, folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    annotations = np.atleast_1d(_mat(path, "Stanford Cars")["annotations"])
    if "class" not in (annotations.dtype.names or ()):
        raise BadInput(f"'{path}' has no class labels; use cars_test_annos_withlabels.mat for the test split")
    column = {name: np.atleast_1d(annotations[name]) for name in annotations.dtype.names}
    boxes = np.stack([column["bbox_x1"].astype(float) - 1, column["bbox_y1"].astype(float) - 1,
                      column["bbox_x2"].astype(float), column["bbox_y2"].astype(float)], axis=1)
    return [folder / str(name) for name in column["fname"]], column["class"].astype(np.int64) - 1, boxes


def load_stanford_cars(root: str | Path, split: str = "test") -> ImageSet:
    """Stanford Cars with its devkit (``root/devkit``); labelled test annotations in ``root`` or the devkit."""
    _check_split(split)
    root = Path(root)
    devkit = root / "devkit"
    classes = tuple(str(name) for name in np.atleast_1d(_mat(devkit / "cars_meta.mat", "Stanford Cars")["class_names"]))
    parts = []
    if split in ("train", "all"):
        parts.append(_car_annotations(devkit / "cars_train_annos.mat", root / "cars_train"))
    if split in ("test", "all"):
        labelled = _root_with(root, "cars_test_annos_withlabels.mat", ("devkit",))
        parts.append(_car_annotations(labelled / "cars_test_annos_withlabels.mat", root / "cars_test"))
    files = [path for part in parts for path in part[0]]
    labels = np.concatenate([part[1] for part in parts])
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise BadInput(f"{root}: class {labels.max() + 1} is outside the {len(classes)} classes of cars_meta.mat")
    return ImageSet(tuple(files), labels, np.concatenate([part[2] for part in parts]), classes, _ids(files))


def _first_space(path: Path, what: str) -> list[tuple[str, str]]:
    """(id, rest) per line, split on the first space only."""
    pairs = []
    for line in _needed(path, what).read_text().splitlines():
        if line.strip():
            image, _, rest = line.strip().partition(" ")
            pairs.append((image, rest.strip()))
    return pairs


def load_fgvc_aircraft(root: str | Path, split: str = "test") -> ImageSet:
    """FGVC-Aircraft variants (``root/data`` or ``root``); train is ``trainval``; the banner is cropped."""
    _check_split(split)
    base = _root_with(root, "variants.txt", ("data", "fgvc-aircraft-2013b/data"))
    what = "FGVC-Aircraft"
    classes = tuple(line.strip() for line in _needed(base / "variants.txt", what).read_text().splitlines()
                    if line.strip())
    names = {"train": ["trainval"], "test": ["test"], "all": ["trainval", "test"]}[split]
    entries = [entry for name in names for entry in _first_space(base / f"images_variant_{name}.txt", what)]
    unknown = [variant for _, variant in entries if variant not in classes]
    if unknown:
        raise BadInput(f"{base}: variant '{unknown[0]}' is not in variants.txt; the index files disagree")
    boxes = {r[0]: [float(v) for v in r[1:5]] for r in _rows(base / "images_box.txt", what)}
    box = np.array([boxes.get(image, [np.nan] * 4) for image, _ in entries], np.float64).reshape(-1, 4)
    files = [base / "images" / f"{image}.jpg" for image, _ in entries]
    return ImageSet(tuple(files), np.array([classes.index(variant) for _, variant in entries], np.int64),
                    box - [1, 1, 0, 0], classes, _ids(files), crop_bottom=AIRCRAFT_BANNER)


def _union(boxes: list[list[float]]) -> list[float]:
    array = np.array(boxes, np.float64)
    return [*array[:, :2].min(0), *array[:, 2:].max(0)] if len(array) else [np.nan] * 4


def _imagenet_xml(folder: Path) -> dict[str, list[tuple[str, list[float]]]]:
    objects = {}
    for path in sorted(folder.glob("*.xml")):
        try:
            tree = ElementTree.parse(path)
        except ElementTree.ParseError as error:
            raise BadInput(f"'{path}' is not valid XML ({error})") from None
        found = []
        for item in tree.getroot().iter("object"):
            box = item.find("bndbox")
            found.append((item.findtext("name", "").strip(),
                          [float(box.findtext(key)) for key in ("xmin", "ymin", "xmax", "ymax")]))
        objects[path.stem] = found
    return objects


def _imagenet_csv(path: Path) -> dict[str, list[tuple[str, list[float]]]]:
    objects = {}
    with open(path, newline="") as file:
        for row in csv.DictReader(file):
            fields = row["PredictionString"].split()
            objects[row["ImageId"]] = [(fields[i], [float(v) for v in fields[i + 1:i + 5]])
                                       for i in range(0, len(fields) - 4, 5)]
    return objects


def load_imagenet_val(root: str | Path, split: str = "test") -> ImageSet:
    """The ImageNet validation set with boxes; ``train`` is refused (only validation images are read)."""
    _check_split(split)
    if split == "train":
        raise BadInput("imagenet-val holds the validation images only; use --split test (or all)")
    root = Path(root)
    mapping = [line.split(maxsplit=1) for line in _needed(root / "LOC_synset_mapping.txt", "ImageNet")
               .read_text().splitlines() if line.strip()]
    wnids = [fields[0] for fields in mapping]
    classes = tuple(fields[1] if len(fields) > 1 else fields[0] for fields in mapping)
    if (root / "LOC_val_solution.csv").is_file():
        objects = _imagenet_csv(root / "LOC_val_solution.csv")
    else:
        folder = next((f for f in (root / "Annotations" / "CLS-LOC" / "val", root / "val") if any(f.glob("*.xml"))),
                      None)
        if folder is None:
            raise BadInput(f"{root}: neither LOC_val_solution.csv nor XML box files (Annotations/CLS-LOC/val/*.xml)")
        objects = _imagenet_xml(folder)
    images = next((f for f in (root / "ILSVRC" / "Data" / "CLS-LOC" / "val", root / "Data" / "CLS-LOC" / "val",
                               root / "val") if f.is_dir()), root / "val")
    files, labels, boxes = [], [], []
    for image in sorted(objects):
        classes_here = [wnid for wnid, _ in objects[image]]
        if not classes_here or classes_here[0] not in wnids:
            raise BadInput(f"{root}: image {image} names no class of LOC_synset_mapping.txt")
        files.append(images / f"{image}.JPEG")
        labels.append(wnids.index(classes_here[0]))
        boxes.append(_union([box for wnid, box in objects[image] if wnid == classes_here[0]]))
    return ImageSet(tuple(files), np.array(labels, np.int64), np.array(boxes, np.float64).reshape(-1, 4), classes,
                    _ids(files))


IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".npy")
"""Files an image folder's class folders hold that are read as images (any case); others are skipped."""
SPLIT_FOLDERS = {"train": ("train",), "test": ("test", "val", "validation")}
"""Split folders of an image folder: the first that exists of each tuple is that split."""
BOX_COLUMNS = ("x0", "y0", "x1", "y1")


def _split_folders(root: Path) -> dict[str, Path]:
    """The split folders under ``root`` ({} when it holds class folders directly)."""
    found = {}
    for split, names in SPLIT_FOLDERS.items():
        folder = next((root / name for name in names if (root / name).is_dir()), None)
        if folder is not None:
            found[split] = folder
    return found


def _class_folders(folder: Path) -> list[Path]:
    return sorted(child for child in folder.iterdir() if child.is_dir() and not child.name.startswith("."))


def _images_in(folder: Path) -> list[Path]:
    """Image files anywhere under ``folder``, hidden ones left out, in sorted order."""
    return sorted(path for path in folder.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
                  and not any(part.startswith(".") for part in path.relative_to(folder).parts))


def class_order(found: Sequence[str], classes: Optional[Sequence[str]], where: str) -> tuple[str, ...]:
    """The class names in model order: ``classes`` (from ``--classes``) if given, every name of ``found`` in it;
    else the sorted names found."""
    if classes is None:
        return tuple(sorted(set(found)))
    unknown = sorted(set(found) - set(classes))
    if unknown:
        raise BadInput(f"{where}: class '{unknown[0]}' is not in --classes; add it there or remove its images")
    return tuple(classes)


def load_imagefolder(root: str | Path, split: str = "test", classes: Optional[Sequence[str]] = None) -> ImageSet:
    """A folder per class (optionally under train/ and test/ split folders); see the module docstring."""
    _check_split(split)
    root = Path(root)
    splits = _split_folders(root)
    if not splits:
        if split == "train":
            raise BadInput(f"'{root}' has no split folders (train/, test/), so every image is in the test split; "
                           "use --split test (or all)")
        splits = {"test": root}
    wanted = [folder for name, folder in splits.items() if split in (name, "all")]
    if not wanted:
        raise BadInput(f"'{root}' has no {split} folder ({', '.join(SPLIT_FOLDERS[split])}); "
                       f"use --split {' or '.join(splits)}")
    names = {folder.name for base in splits.values() for folder in _class_folders(base)}
    if not names:
        raise BadInput(f"'{root}' holds no class folders; give a folder with one folder of images per class")
    order = class_order(sorted(names), classes, str(root))
    files, labels = [], []
    for base in wanted:
        for folder in _class_folders(base):
            found = _images_in(folder)
            files += found
            labels += [order.index(folder.name)] * len(found)
    if not files:
        raise BadInput(f"'{root}' has class folders but no images ({', '.join(IMAGE_SUFFIXES)}) in its {split} "
                       "split; check the folder and --split")
    return ImageSet(tuple(files), np.array(labels, np.int64), np.full((len(files), 4), np.nan), order, _ids(files))


def _csv_rows(path: Path) -> list[dict[str, str]]:
    """The rows of a labelled-image CSV, its header checked."""
    try:
        with open(path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            header = [name.strip() for name in reader.fieldnames or []]
            rows = [{key.strip(): (value or "").strip() for key, value in row.items() if key is not None}
                    for row in reader]
    except UnicodeDecodeError:
        raise BadInput(f"'{path}' is not UTF-8 text; give a CSV file with a header path,label") from None
    except csv.Error as error:
        raise BadInput(f"'{path}' is not a readable CSV file ({error}); give a header path,label") from None
    missing = [name for name in ("path", "label") if name not in header]
    if missing:
        raise BadInput(f"'{path}': the header {','.join(header) or '(empty)'} has no '{missing[0]}' column; "
                       "give a first line path,label[,split][,x0,y0,x1,y1]")
    boxes = [name for name in BOX_COLUMNS if name in header]
    if boxes and len(boxes) != 4:
        raise BadInput(f"'{path}': a box needs all four columns x0,y0,x1,y1; the header has {','.join(boxes)}")
    if not rows:
        raise BadInput(f"'{path}' has a header but no rows; list one image a line")
    return rows


def _csv_box(row: dict[str, str], where: str) -> list[float]:
    """A row's box x0, y0, x1, y1 (NaN where the columns are absent or empty)."""
    texts = [row.get(name, "") for name in BOX_COLUMNS]
    if not any(texts):
        return [math.nan] * 4
    try:
        box = [float(text) for text in texts]
    except ValueError:
        raise BadInput(f"{where}: the box {','.join(texts)} is not four numbers; give x0,y0,x1,y1 in pixels "
                       "(or leave all four empty)") from None
    if not all(math.isfinite(value) and value >= 0 for value in box) or box[2] <= box[0] or box[3] <= box[1]:
        raise BadInput(f"{where}: the box {','.join(texts)} is not x0 < x1, y0 < y1 in pixels from 0")
    return box


def _csv_labels(labels: list[str], classes: Optional[Sequence[str]], where: str) -> tuple[list[int], tuple[str, ...]]:
    """Class indices and names of the CSV's labels: whole numbers are indices, other labels names."""
    if classes is None and all(label.isdigit() and label.isascii() for label in labels):
        indices = [int(label) for label in labels]
        return indices, tuple(str(index) for index in range(max(indices) + 1))
    order = class_order(labels, classes, where)
    return [order.index(label) for label in labels], order


def load_csv(file: str | Path, split: str = "test", classes: Optional[Sequence[str]] = None) -> ImageSet:
    """Images listed in a CSV file (path,label[,split][,x0,y0,x1,y1]); see the module docstring."""
    _check_split(split)
    file = Path(file)
    if not file.is_file():
        raise BadInput(f"--format csv needs a CSV file; '{file}' is not a file")
    listed = []
    for line, row in enumerate(_csv_rows(file), start=2):
        where = f"'{file}' line {line}"
        row_split = row.get("split", "") or "test"
        if row_split not in ("train", "test"):
            raise BadInput(f"{where}: split '{row_split}' is neither train nor test")
        if not row["path"] or not row["label"]:
            raise BadInput(f"{where}: the path or the label is empty; give both")
        path = file.parent / row["path"]
        if not path.is_file():
            raise BadInput(f"{where}: image '{path}' does not exist (paths are relative to the CSV's folder)")
        listed.append((path, row["label"], row_split, _csv_box(row, where)))
    indices, names = _csv_labels([label for _, label, _, _ in listed], classes, str(file))  # every split: one order
    chosen = [row for row, _ in enumerate(listed) if split in (listed[row][2], "all")]
    if not chosen:
        raise BadInput(f"'{file}' lists no image in the {split} split; check its split column and --split")
    files = [listed[row][0] for row in chosen]
    return ImageSet(tuple(files), np.array([indices[row] for row in chosen], np.int64),
                    np.array([listed[row][3] for row in chosen], np.float64), names, _ids(files))


LOADERS: dict[str, Callable[[str | Path, str], ImageSet]] = {
    "cub200": load_cub200,
    "stanford-cars": load_stanford_cars,
    "fgvc-aircraft": load_fgvc_aircraft,
    "imagenet-val": load_imagenet_val,
    "imagefolder": load_imagefolder,
    "csv": load_csv,
}
OWN_LAYOUTS = ("imagefolder", "csv")
"""The layouts whose class order ``--classes`` may fix (the published data sets name their own)."""
