"""Loaders for the public full-reference IQA data sets, in their published layouts.

Every loader returns a ``RatedSet``: (distorted, reference) file pairs, the
distortion type, the original score as published, and that score mapped to one
convention, higher is better, in [0, 1]:

==========  =====================================================  ==========================
data set    layout (under ROOT)                                    score -> [0, 1]
==========  =====================================================  ==========================
TID2013     mos_with_names.txt ("MOS name" per line),              MOS / 9 (MOS in 0..9,
            distorted_images/i01_01_1.bmp, reference_images/I01.BMP  higher is better)
KADID-10k   dmos.csv (dist_img, ref_img, dmos, var),               (DMOS - 1) / 4 (1..5, higher
            images/I01_01_01.png, images/I01.png                   is better despite the name)
LIVE r2     jp2k/ jpeg/ wn/ gblur/ fastfading/ (info.txt:          1 - DMOS / 100, clipped
            "reference distorted parameter" per line, imgN.bmp),   (DMOS about 0..100, lower
            refimgs/, dmos.mat (dmos, orgs: 982 entries in that    is better); reference copies
            folder order, 227 + 233 + 174 + 174 + 174)             (orgs = 1) are left out
CSIQ        csiq.DMOS.xlsx or a CSV export of it (columns image,   1 - DMOS (DMOS in 0..1,
            dst_idx, dst_type, dst_lev, dmos_std, dmos), src_imgs/  lower is better)
            1600.png, dst_imgs/awgn/1600.AWGN.1.png, ...
==========  =====================================================  ==========================

File names are matched without regard to case (the archives mix ``I01.BMP`` and ``i01_01_1.bmp``).
"""
from __future__ import annotations

import csv
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from xml.etree import ElementTree

import numpy as np

from rather.common import BadInput

from .options import FORMATS

TID2013_TYPES = (
    "additive_gaussian_noise", "colour_component_noise", "spatially_correlated_noise", "masked_noise",
    "high_frequency_noise", "impulse_noise", "quantisation_noise", "gaussian_blur", "denoising", "jpeg",
    "jpeg2000", "jpeg_transmission_errors", "jpeg2000_transmission_errors", "non_eccentricity_pattern_noise",
    "local_blockwise_distortions", "mean_shift", "contrast_change", "colour_saturation",
    "multiplicative_gaussian_noise", "comfort_noise", "lossy_compression_of_noisy_images",
    "colour_quantisation_with_dither", "chromatic_aberrations", "sparse_sampling_and_reconstruction",
)
KADID_TYPES = (
    "gaussian_blur", "lens_blur", "motion_blur", "colour_diffusion", "colour_shift", "colour_quantisation",
    "colour_saturation_1", "colour_saturation_2", "jpeg2000", "jpeg", "white_noise", "white_noise_colour_component",
    "impulse_noise", "multiplicative_noise", "denoise", "brighten", "darken", "mean_shift", "jitter",
    "non_eccentricity_patch", "pixelate", "quantisation", "colour_block", "high_sharpen", "contrast_change",
)
LIVE_FOLDERS = (("jp2k", 227), ("jpeg", 233), ("wn", 174), ("gblur", 174), ("fastfading", 174))
CSIQ_TYPES = {  # dst_type in the score table -> (folder, tag in the file name)
    "noise": ("awgn", "AWGN"), "jpeg": ("jpeg", "JPEG"), "jpeg 2000": ("jpeg2000", "jpeg2000"),
    "f noise": ("fnoise", "fnoise"), "blur": ("blur", "BLUR"), "contrast": ("contrast", "contrast"),
}


@dataclass(frozen=True)
class Rating:
    """One rated image: files, distortion type, the published score and the score mapped to [0, 1] (higher better)."""

    distorted: Path
    reference: Path
    kind: str
    score: float
    original: float


@dataclass(frozen=True)
class RatedSet:
    name: str
    root: Path
    ratings: tuple[Rating, ...]
    original_scale: str

    @property
    def scores(self) -> np.ndarray:
        return np.array([rating.score for rating in self.ratings])

    @property
    def kinds(self) -> np.ndarray:
        return np.array([rating.kind for rating in self.ratings])


@dataclass(frozen=True)
class HumanScale:
    """How a data set publishes its scores, and the map onto [0, 1], higher is better, that every use shares.

    ``unit`` maps a published score (MOS or DMOS) to [0, 1] (clipped); training, evaluation and
    ``--mos-scale`` all go through it, so a MOS given on the command line lands where the model
    learned (or was judged against) that MOS. ``low``, ``high``: the published range; a raw
    score outside it is refused, not clipped. ``called``: what the published scores are called
    (MOS, DMOS), for sentences that quote them.
    """

    name: str
    low: float
    high: float
    higher_is_better: bool
    described: str
    called: str

    def unit(self, raw: float) -> float:
        """``raw`` on the published scale -> [0, 1], higher is better (linear, clipped)."""
        share = (raw - self.low) / (self.high - self.low)
        return float(np.clip(share if self.higher_is_better else 1 - share, 0, 1))

    def published(self, unit: float) -> float:
        """A score on [0, 1], higher is better -> the published scale: ``unit`` backwards (linear, not clipped)."""
        return self.low + (unit if self.higher_is_better else 1 - unit) * (self.high - self.low)

    def quoted(self, raw: float) -> str:
        """A published score in words: 'MOS 5.1 on TID2013's 0-9'."""
        return f"{self.called} {raw:.3g} on {self.name}'s {self.low:g}-{self.high:g}"


SCALES: dict[str, HumanScale] = {
    "tid2013": HumanScale("TID2013", 0.0, 9.0, True, "MOS 0..9, higher is better; score = MOS / 9", "MOS"),
    "kadid10k": HumanScale("KADID-10k", 1.0, 5.0, True,
                           "DMOS 1..5, higher is better despite the name; score = (DMOS - 1) / 4", "DMOS"),
    "live": HumanScale("LIVE release 2", 0.0, 100.0, False,
                       "DMOS about 0..100, lower is better; score = 1 - DMOS / 100, clipped", "DMOS"),
    "csiq": HumanScale("CSIQ", 0.0, 1.0, False, "DMOS 0..1, lower is better; score = 1 - DMOS", "DMOS"),
    "unit": HumanScale("unit", 0.0, 1.0, True, "scores in [0, 1], higher is better; score = score", "score"),
}
"""Every data set's scale by its ``--data`` / ``--mos-scale`` name (``unit``: already on [0, 1])."""
LIVE_ADMITTED = (-10.0, 120.0)
"""LIVE's realigned DMOS runs a little past 0..100 (-2.6 to 111.8 in the published table): admitted, then clipped."""


def admitted_range(scale: str) -> tuple[float, float]:
    """The raw scores ``--mos`` may give on ``scale``: its published range (LIVE's a little wider, see above)."""
    return LIVE_ADMITTED if scale == "live" else (SCALES[scale].low, SCALES[scale].high)


class _Folder:
    """Files of a folder by lower-case name."""

    def __init__(self, folder: Path, data_set: str):
        if not folder.is_dir():
            raise BadInput(f"{data_set}: folder '{folder}' is missing; is this the data set's root folder?")
        self.folder = folder
        self.data_set = data_set
        self.files = {path.name.lower(): path for path in folder.iterdir()}

    def __getitem__(self, name: str) -> Path:
        try:
            return self.files[name.lower()]
        except KeyError:
            raise BadInput(f"{self.data_set}: '{name}' is listed but not in {self.folder}") from None


def _required(path: Path, data_set: str) -> Path:
    if not path.is_file():
        raise BadInput(f"{data_set}: '{path}' is missing; give the root folder of an unpacked {data_set}")
    return path


def _number(text: str, where: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise BadInput(f"{where}: '{text}' is not a number") from None


def load_tid2013(root: Path) -> RatedSet:
    """TID2013 (Ponomarenko et al., 2015): 3000 images, 25 references, 24 types, 5 levels."""
    root = Path(root)
    table = _required(root / "mos_with_names.txt", "TID2013")
    distorted, references = _Folder(root / "distorted_images", "TID2013"), _Folder(root / "reference_images", "TID2013")
    ratings = []
    for number, line in enumerate(table.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split()
        match = re.fullmatch(r"i(\d+)_(\d+)_(\d+)\.bmp", fields[-1], flags=re.IGNORECASE)
        if len(fields) != 2 or match is None or not 1 <= int(match[2]) <= len(TID2013_TYPES):
            raise BadInput(f"{table}:{number}: expected 'MOS iRR_TT_L.bmp'; got '{line.strip()}'")
        mos = _number(fields[0], f"{table}:{number}")
        ratings.append(Rating(distorted[fields[1]], references[f"I{match[1]}.bmp"], TID2013_TYPES[int(match[2]) - 1],
                              SCALES["tid2013"].unit(mos), mos))
    return RatedSet("TID2013", root, tuple(ratings), SCALES["tid2013"].described)


def load_kadid10k(root: Path) -> RatedSet:
    """KADID-10k (Lin, Hosu, Saupe, 2019): 10125 images, 81 references, 25 types, 5 levels."""
    root = Path(root)
    table = _required(root / "dmos.csv", "KADID-10k")
    images = _Folder(root / "images", "KADID-10k")
    ratings = []
    with table.open(newline="") as file:
        reader = csv.DictReader(file)
        missing = {"dist_img", "ref_img", "dmos"} - set(reader.fieldnames or ())
        if missing:
            raise BadInput(f"{table}: columns {sorted(missing)} are missing; expected dist_img, ref_img, dmos, var")
        for row in reader:
            match = re.fullmatch(r"i\d+_(\d+)_\d+\.png", row["dist_img"], flags=re.IGNORECASE)
            if match is None or not 1 <= int(match[1]) <= len(KADID_TYPES):
                raise BadInput(f"{table}: distorted image name '{row['dist_img']}' is not of the form I01_01_01.png")
            dmos = _number(row["dmos"], f"{table}, {row['dist_img']}")
            ratings.append(Rating(images[row["dist_img"]], images[row["ref_img"]], KADID_TYPES[int(match[1]) - 1],
                                  SCALES["kadid10k"].unit(dmos), dmos))
    return RatedSet("KADID-10k", root, tuple(ratings), SCALES["kadid10k"].described)


def load_live(root: Path) -> RatedSet:
    """LIVE release 2 (Sheikh, Sabir, Bovik, 2006): 779 distorted images, 29 references, 5 types."""
    from scipy.io import loadmat

    root = Path(root)
    scores = loadmat(_required(root / "dmos.mat", "LIVE"))
    if "dmos" not in scores or "orgs" not in scores:
        raise BadInput(f"{root / 'dmos.mat'}: needs the variables dmos and orgs")
    dmos, orgs = scores["dmos"].ravel(), scores["orgs"].ravel()
    total = sum(count for _, count in LIVE_FOLDERS)
    if len(dmos) != total or len(orgs) != total:
        raise BadInput(f"{root / 'dmos.mat'}: dmos and orgs must have {total} entries (release 2); got {len(dmos)}")
    references = _Folder(root / "refimgs", "LIVE")
    ratings, offset = [], 0
    for folder, count in LIVE_FOLDERS:
        images = _Folder(root / folder, "LIVE")
        info = _required(root / folder / "info.txt", "LIVE")
        for number, line in enumerate(info.read_text().splitlines(), 1):
            fields = line.split()
            if not fields:
                continue
            match = re.fullmatch(r"img(\d+)\.bmp", fields[1] if len(fields) > 1 else "", flags=re.IGNORECASE)
            if match is None or not 1 <= int(match[1]) <= count:
                raise BadInput(f"{info}:{number}: expected 'reference.bmp imgN.bmp parameter' (N 1..{count})")
            index = offset + int(match[1]) - 1
            if orgs[index] == 1:
                continue
            ratings.append(Rating(images[fields[1]], references[fields[0]], folder,
                                  SCALES["live"].unit(float(dmos[index])), float(dmos[index])))
        offset += count
    return RatedSet("LIVE release 2", root, tuple(ratings), SCALES["live"].described)


def xlsx_rows(path: Path) -> list[list[str]]:
    """The cells of an .xlsx workbook's first sheet as text rows (Office Open XML, read with the standard library)."""
    namespace = {"x": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    try:
        with zipfile.ZipFile(path) as book:
            shared = []
            if "xl/sharedStrings.xml" in book.namelist():
                strings = ElementTree.fromstring(book.read("xl/sharedStrings.xml"))
                shared = ["".join(t.text or "" for t in item.iter(f"{{{namespace['x']}}}t"))
                          for item in strings.findall("x:si", namespace)]
            sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    except (zipfile.BadZipFile, KeyError, ElementTree.ParseError) as error:
        raise BadInput(f"cannot read '{path}' as an .xlsx workbook: {error}") from None
    rows = []
    for row in sheet.iter(f"{{{namespace['x']}}}row"):
        cells = {}
        for cell in row.findall("x:c", namespace):
            column = re.match(r"[A-Z]+", cell.get("r", "A"))[0]
            index = sum((ord(ch) - 64) * 26 ** power for power, ch in enumerate(reversed(column))) - 1
            value = cell.find("x:v", namespace)
            inline = cell.find("x:is/x:t", namespace)
            text = inline.text if inline is not None else (value.text if value is not None else "")
            cells[index] = shared[int(text)] if cell.get("t") == "s" else (text or "")
        rows.append([cells.get(i, "") for i in range(max(cells) + 1)] if cells else [])
    return rows


def load_csiq(root: Path) -> RatedSet:
    """CSIQ (Larson and Chandler, 2010): 866 distorted images, 30 references, 6 types."""
    root = Path(root)
    tables = [root / "csiq.DMOS.xlsx", root / "csiq.DMOS.csv"]
    table = next((path for path in tables if path.is_file()), None)
    if table is None:
        raise BadInput(f"CSIQ: neither {tables[0]} nor {tables[1]} exists; give the root folder of CSIQ")
    if table.suffix == ".xlsx":
        rows = xlsx_rows(table)
    else:
        with table.open(newline="") as file:
            rows = list(csv.reader(file))
    header_at = next((i for i, row in enumerate(rows) if {"image", "dst_type", "dst_lev", "dmos"} <= set(row)), None)
    if header_at is None:
        raise BadInput(f"{table}: no header row with image, dst_type, dst_lev, dmos")
    header = rows[header_at]
    column = {name: header.index(name) for name in ("image", "dst_type", "dst_lev", "dmos")}
    references = _Folder(root / "src_imgs", "CSIQ")
    folders: dict[str, _Folder] = {}
    ratings = []
    for row in rows[header_at + 1:]:
        if len(row) <= max(column.values()) or not row[column["image"]]:
            continue
        image, kind = row[column["image"]].strip(), row[column["dst_type"]].strip().lower()
        if kind not in CSIQ_TYPES:
            raise BadInput(f"{table}: unknown dst_type '{kind}' (expected one of {', '.join(CSIQ_TYPES)})")
        image = image[:-2] if image.endswith(".0") else image  # a number stored as a float by the spreadsheet
        level = int(_number(row[column["dst_lev"]], f"{table}, {image}"))
        folder, tag = CSIQ_TYPES[kind]
        if folder not in folders:
            folders[folder] = _Folder(root / "dst_imgs" / folder, "CSIQ")
        dmos = _number(row[column["dmos"]], f"{table}, {image}")
        ratings.append(Rating(folders[folder][f"{image}.{tag}.{level}.png"], references[f"{image}.png"], folder,
                              SCALES["csiq"].unit(dmos), dmos))
    return RatedSet("CSIQ", root, tuple(ratings), SCALES["csiq"].described)


LOADERS: dict[str, Callable[[Path], RatedSet]] = {
    "tid2013": load_tid2013, "kadid10k": load_kadid10k, "live": load_live, "csiq": load_csiq,
}


def load_rated_set(root, data_format: str) -> RatedSet:
    """The data set at ``root`` in ``data_format`` (one of ``FORMATS``)."""
    if data_format not in LOADERS:
        raise BadInput(f"unknown data format '{data_format}'; choose one of: {', '.join(FORMATS)}")
    if not Path(root).is_dir():
        raise BadInput(f"data folder '{root}' does not exist")
    return LOADERS[data_format](Path(root))
