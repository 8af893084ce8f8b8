"""Loaders of TID2013, KADID-10k, LIVE release 2 and CSIQ on fixture trees laid out as published."""
import csv
import zipfile

import numpy as np
import pytest
from scipy.io import savemat
from skimage import io

from rather.common import BadInput
from rather.iqa.datasets import LIVE_FOLDERS, load_rated_set, xlsx_rows


def write_image(path, value: int, size=(36, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    io.imsave(path, np.full((*size, 3), value, dtype=np.uint8), check_contrast=False)


def test_tid2013(tmp_path):
    write_image(tmp_path / "reference_images" / "I01.BMP", 100)
    write_image(tmp_path / "reference_images" / "I25.BMP", 120)
    write_image(tmp_path / "distorted_images" / "i01_08_3.bmp", 90)
    write_image(tmp_path / "distorted_images" / "I25_18_1.bmp", 110)
    (tmp_path / "mos_with_names.txt").write_text("4.50000 i01_08_3.bmp\n6.30000 I25_18_1.bmp\n")
    data = load_rated_set(tmp_path, "tid2013")
    first, second = data.ratings
    assert first.distorted.name == "i01_08_3.bmp" and first.reference.name == "I01.BMP"
    assert first.kind == "gaussian_blur" and first.original == 4.5 and first.score == pytest.approx(0.5)
    assert second.kind == "colour_saturation" and second.reference.name == "I25.BMP"
    assert second.score == pytest.approx(0.7) and data.name == "TID2013"
    (tmp_path / "mos_with_names.txt").write_text("4.5 i01_08_3.bmp\n5.0 i01_09_1.bmp\n")
    with pytest.raises(BadInput, match="'i01_09_1.bmp' is listed but not in"):
        load_rated_set(tmp_path, "tid2013")


def test_kadid10k(tmp_path):
    write_image(tmp_path / "images" / "I01.png", 100)
    write_image(tmp_path / "images" / "I01_01_05.png", 80)
    write_image(tmp_path / "images" / "I01_25_02.png", 95)
    with open(tmp_path / "dmos.csv", "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["dist_img", "ref_img", "dmos", "var"])
        writer.writerow(["I01_01_05.png", "I01.png", "1.4", "0.2"])
        writer.writerow(["I01_25_02.png", "I01.png", "4.6", "0.1"])
    data = load_rated_set(tmp_path, "kadid10k")
    blur, contrast = data.ratings
    assert blur.kind == "gaussian_blur" and blur.score == pytest.approx(0.1) and blur.original == 1.4
    assert contrast.kind == "contrast_change" and contrast.score == pytest.approx(0.9)  # higher DMOS is better
    assert list(data.kinds) == ["gaussian_blur", "contrast_change"]


def test_live_release2(tmp_path):
    total = sum(count for _, count in LIVE_FOLDERS)
    dmos = np.linspace(0, 100, total)
    orgs = np.zeros(total)
    write_image(tmp_path / "refimgs" / "parrots.bmp", 100)
    write_image(tmp_path / "refimgs" / "bikes.bmp", 100)
    offsets = np.cumsum([0] + [count for _, count in LIVE_FOLDERS])
    for (folder, _), offset in zip(LIVE_FOLDERS, offsets):
        write_image(tmp_path / folder / "img1.bmp", 50)
        write_image(tmp_path / folder / "img3.bmp", 60)
        (tmp_path / folder / "info.txt").write_text("parrots.bmp img1.bmp 0.5\nbikes.bmp img3.bmp 1.5\n")
        orgs[offset + 2] = 1 if folder == "wn" else 0  # wn/img3 is a copy of its reference
    savemat(tmp_path / "dmos.mat", {"dmos": dmos[None], "orgs": orgs[None]})
    data = load_rated_set(tmp_path, "live")
    assert len(data.ratings) == 2 * len(LIVE_FOLDERS) - 1
    jpeg = [r for r in data.ratings if r.kind == "jpeg"]
    assert [r.distorted.name for r in jpeg] == ["img1.bmp", "img3.bmp"]
    assert jpeg[1].reference.name == "bikes.bmp"
    assert jpeg[1].original == pytest.approx(dmos[227 + 2])
    assert jpeg[1].score == pytest.approx(1 - dmos[227 + 2] / 100)
    assert [r.distorted.name for r in data.ratings if r.kind == "wn"] == ["img1.bmp"]
    savemat(tmp_path / "dmos.mat", {"dmos": dmos[None, :10], "orgs": orgs[None, :10]})
    with pytest.raises(BadInput, match="must have 982 entries"):
        load_rated_set(tmp_path, "live")


def write_xlsx(path, rows):
    """A minimal one-sheet workbook: shared strings for text, numbers inline."""
    strings = sorted({cell for row in rows for cell in row if isinstance(cell, str)})
    cells = []
    for r, row in enumerate(rows, 1):
        parts = []
        for c, cell in enumerate(row):
            ref = f"{chr(65 + c)}{r}"
            if isinstance(cell, str):
                parts.append(f'<c r="{ref}" t="s"><v>{strings.index(cell)}</v></c>')
            else:
                parts.append(f'<c r="{ref}"><v>{cell}</v></c>')
        cells.append(f'<row r="{r}">{"".join(parts)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    with zipfile.ZipFile(path, "w") as book:
        book.writestr("xl/sharedStrings.xml", f'<sst xmlns="{main}">'
                      + "".join(f"<si><t>{s}</t></si>" for s in strings) + "</sst>")
        book.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{main}"><sheetData>{"".join(cells)}'
                      "</sheetData></worksheet>")


CSIQ_ROWS = [
    ["image", "dst_idx", "dst_type", "dst_lev", "dmos_std", "dmos"],
    [1600, 1, "noise", 1, 0.01, 0.062],
    ["shroom", 5, "blur", 4, 0.02, 0.5],
    [1600, 6, "contrast", 2, 0.01, 0.9],
]


def csiq_tree(root):
    write_image(root / "src_imgs" / "1600.png", 100)
    write_image(root / "src_imgs" / "shroom.png", 100)
    write_image(root / "dst_imgs" / "awgn" / "1600.AWGN.1.png", 90)
    write_image(root / "dst_imgs" / "blur" / "shroom.BLUR.4.png", 90)
    write_image(root / "dst_imgs" / "contrast" / "1600.contrast.2.png", 90)


@pytest.mark.parametrize("table", ["xlsx", "csv"])
def test_csiq(tmp_path, table):
    csiq_tree(tmp_path)
    if table == "xlsx":
        write_xlsx(tmp_path / "csiq.DMOS.xlsx", CSIQ_ROWS)
        assert xlsx_rows(tmp_path / "csiq.DMOS.xlsx")[2] == ["shroom", "5", "blur", "4", "0.02", "0.5"]
    else:
        with open(tmp_path / "csiq.DMOS.csv", "w", newline="") as file:
            csv.writer(file).writerows(CSIQ_ROWS)
    data = load_rated_set(tmp_path, "csiq")
    noise, blur, contrast = data.ratings
    assert noise.distorted.name == "1600.AWGN.1.png" and noise.kind == "awgn"
    assert noise.score == pytest.approx(0.938) and noise.original == pytest.approx(0.062)
    assert blur.reference.name == "shroom.png" and blur.score == pytest.approx(0.5)
    assert contrast.distorted.parent.name == "contrast" and contrast.score == pytest.approx(0.1)


@pytest.mark.parametrize("data_format, message", [
    ("tid2013", "mos_with_names.txt' is missing"), ("kadid10k", "dmos.csv' is missing"),
    ("live", "dmos.mat' is missing"), ("csiq", "neither"), ("koniq", "unknown data format 'koniq'"),
])
def test_missing_layouts_are_named(tmp_path, data_format, message):
    with pytest.raises(BadInput, match=message):
        load_rated_set(tmp_path, data_format)
