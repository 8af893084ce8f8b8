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
import xml.etree.ElementTree as ElementTree
from pathlib import Path
from typing import Callable

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
    points = None
    part_file = base / "parts" / "part_locs.txt"
    if part_file.is_file():
        names = [" ".join(r[1:]) for r in _rows(base / "parts" / "parts.txt", what)]
        points = np.full((len(wanted), len(names), 2), np.nan)
        row_of = {image: row for row, image in enumerate(wanted)}
        for image, part, x, y, visible in _rows(part_file, what):
            if int(image) in row_of and visible == "1":
                points[row_of[int(image)], int(part) - 1] = float(x), float(y)
    return ImageSet(tuple(files), np.array([labels[i] for i in wanted], np.int64),
                    np.concatenate([xywh[:, :2], xywh[:, :2] + xywh[:, 2:]], axis=1), tuple(classes), _ids(files),
                    points=points)


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


LOADERS: dict[str, Callable[[str | Path, str], ImageSet]] = {
    "cub200": load_cub200,
    "stanford-cars": load_stanford_cars,
    "fgvc-aircraft": load_fgvc_aircraft,
    "imagenet-val": load_imagenet_val,
}
