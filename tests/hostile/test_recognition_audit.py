"""Hostile inputs to ``rather recognition audit`` on a user's own images (image folders and CSV files),
to the classifier options every classifier command shares, and to ``rather explain``'s batches.

Each case lays out a small tree in the working folder and expects a clean refusal (see conftest):
exit 2, one line, nothing written.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from rather.common.networks import SmallCNN
from rather.recognition import classifier as birds


def png(path: str, value: int = 100, size: int = 24) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, np.uint8)).save(path)


@pytest.fixture
def tree(tmp_path, monkeypatch):
    """The working folder: birds/{train,test}/{wren,finch}/*.png, flat/{wren,finch}/*.png, empty/,
    classless/ (images but no class folder), broken/wren/bad.png (not an image), names.txt, a.png (24 x 24),
    tall.png (40 x 40), plain.pt (a two-class SmallCNN's state dict)."""
    monkeypatch.chdir(tmp_path)
    for split in ("train", "test"):
        for name, value in (("wren", 40), ("finch", 200)):
            png(f"birds/{split}/{name}/1.png", value)
    for name in ("wren", "finch"):
        png(f"flat/{name}/1.png")
    Path("empty").mkdir()
    png("classless/1.png")
    Path("broken/wren").mkdir(parents=True)
    Path("broken/wren/bad.png").write_bytes(b"not a picture at all")
    Path("names.txt").write_text("wren\nfinch\n")
    png("a.png")
    png("tall.png", size=40)
    torch.manual_seed(0)
    torch.save(SmallCNN(num_classes=2).state_dict(), "plain.pt")
    return tmp_path


def csv(name: str, text: str) -> str:
    Path(name).write_text(text)
    return name


AUDIT = ["recognition", "audit", "--out", "out"]
FOLDER = [*AUDIT, "--format", "imagefolder"]
CSV = [*AUDIT, "--format", "csv"]
EXPLAIN = ["explain", "--weights", str(birds.DEFAULT_CHECKPOINT), "--image", "a.png", "--out", "out"]

CASES = [  # (id, argv or a function of nothing that lays out more and returns argv, what the line says)
    ("folder-missing", [*FOLDER, "nowhere"], "--data 'nowhere' is not a folder"),
    ("folder-is-a-file", [*FOLDER, "a.png"], "--data 'a.png' is not a folder"),
    ("folder-empty", [*FOLDER, "empty"], "holds no class folders"),
    ("folder-without-class-folders", [*FOLDER, "classless"], "holds no class folders"),
    ("folder-train-split-without-split-folders", [*FOLDER, "flat", "--split", "train"], "has no split folders"),
    ("folder-image-not-an-image", [*FOLDER, "broken"], "bad.png"),
    ("folder-class-not-in-classes", lambda: [*FOLDER, "birds", "--classes", csv("one.txt", "wren\n")],
     "class 'finch' is not in --classes"),
    ("folder-classes-file-missing", [*FOLDER, "birds", "--classes", "nope.txt"], "--classes file 'nope.txt'"),
    ("folder-classes-file-empty", lambda: [*FOLDER, "birds", "--classes", csv("blank.txt", "\n\n")],
     "names no class"),
    ("folder-classes-twice", lambda: [*FOLDER, "birds", "--classes", csv("dup.txt", "wren\nfinch\nwren\n")],
     "names 'wren' twice"),
    ("folder-classes-not-utf8", lambda: [*FOLDER, "birds", "--classes", bytes_file("latin.txt", b"\xe9\xff\n")],
     "is not UTF-8"),
    ("folder-twenty-classes-needed", [*FOLDER, "birds"], "gives 20 classes but the imagefolder data has 2"),
    ("folder-and-data-disagree", [*FOLDER, "birds", "--data", "flat"], "the data is given twice"),
    ("classes-for-a-published-layout", [*AUDIT, "--format", "cub200", "--data", "birds", "--classes", "names.txt"],
     "--classes is for --format imagefolder or csv"),
    ("csv-missing", [*CSV, "nope.csv"], "'nope.csv' is not a file"),
    ("csv-is-a-folder", [*CSV, "birds"], "'birds' is not a file"),
    ("csv-no-data", CSV, "--format csv needs --data FILE"),
    ("csv-empty-file", lambda: [*CSV, csv("e.csv", "")], "has no 'path' column"),
    ("csv-no-label-column", lambda: [*CSV, csv("l.csv", "path\na.png\n")], "has no 'label' column"),
    ("csv-header-only", lambda: [*CSV, csv("h.csv", "path,label\n")], "has a header but no rows"),
    ("csv-missing-image", lambda: [*CSV, csv("m.csv", "path,label\nghost.png,wren\n")], "line 2: image"),
    ("csv-image-a-folder", lambda: [*CSV, csv("f.csv", "path,label\nbirds,wren\n")], "line 2: image"),
    ("csv-empty-label", lambda: [*CSV, csv("b.csv", "path,label\na.png,\n")], "the path or the label is empty"),
    ("csv-unknown-split", lambda: [*CSV, csv("s.csv", "path,label,split\na.png,wren,dev\n")],
     "split 'dev' is neither train nor test"),
    ("csv-three-box-columns", lambda: [*CSV, csv("x.csv", "path,label,x0,y0,x1\na.png,w,1,2,3\n")],
     "needs all four columns"),
    ("csv-box-not-numbers", lambda: [*CSV, csv("n.csv", "path,label,x0,y0,x1,y1\na.png,w,a,b,c,d\n")],
     "is not four numbers"),
    ("csv-box-inverted", lambda: [*CSV, csv("i.csv", "path,label,x0,y0,x1,y1\na.png,w,9,0,1,5\n")],
     "is not x0 < x1"),
    ("csv-box-infinite", lambda: [*CSV, csv("j.csv", "path,label,x0,y0,x1,y1\na.png,w,0,0,inf,5\n")],
     "is not x0 < x1"),
    ("csv-box-negative", lambda: [*CSV, csv("k.csv", "path,label,x0,y0,x1,y1\na.png,w,-4,0,3,5\n")],
     "is not x0 < x1"),
    ("csv-no-image-in-split", lambda: [*CSV, csv("t.csv", "path,label,split\na.png,wren,train\n")],
     "lists no image in the test split"),
    ("csv-not-utf8", lambda: [*CSV, bytes_file("u.csv", b"path,label\n\xff\xfe.png,w\n")], "is not UTF-8"),
    ("csv-nul-bytes", lambda: [*CSV, bytes_file("z.csv", b"path,label\na.png\x00,w\n")], "z.csv"),
    ("csv-too-few-classes-for-the-model", lambda: [*CSV, csv("c.csv", "path,label\na.png,wren\n")],
     "gives 20 classes but the csv data has 1"),
    ("cub-part-location-not-numbers", lambda: [*AUDIT, "--format", "cub200", "--data", cub("x y", "1 1 a b 1")],
     "part_locs.txt line 1: '1 1 a b 1' is not 'image part x y visible'"),
    ("cub-part-location-unknown-part", lambda: [*AUDIT, "--format", "cub200", "--data", cub("1 beak", "1 7 3 4 1")],
     "with a part of parts.txt (1 to 1)"),
    ("cub-part-location-short-line", lambda: [*AUDIT, "--format", "cub200", "--data", cub("1 beak", "1 1 3")],
     "'1 1 3' is not 'image part x y visible'"),
    ("model-kwargs-not-json", [*FOLDER, "birds", "--model-kwargs", "{num_classes: 2}"], "--model-kwargs is not JSON"),
    ("model-kwargs-a-list", [*FOLDER, "birds", "--model-kwargs", "[2]"], "must be a JSON object"),
    ("model-kwargs-unknown-keyword", [*FOLDER, "birds", "--model-kwargs", '{"colour": 3}'], "colour"),
    ("factory-without-weights", [*FOLDER, "birds", "--model", "rather.common.networks:SmallCNN"],
     "needs --weights"),
    ("trust-ranked-zero", [*FOLDER, "birds", "--trust-ranked", "0"], "--trust-ranked must be at least 1; got 0"),
    ("sanity-steps-negative", [*FOLDER, "birds", "--sanity-steps", "-1"], "--sanity-steps must be at least 1"),
    ("sanity-images-zero", [*FOLDER, "birds", "--sanity-images", "0"], "--sanity-images must be at least 1"),
    ("batch-size-zero", [*FOLDER, "birds", "--batch-size", "0"], "--batch-size must be at least 1"),
    ("explain-batch-size-negative", [*EXPLAIN, "--batch-size", "-2"], "--batch-size must be at least 1"),
    ("explain-model-kwargs-not-json", [*EXPLAIN, "--model-kwargs", "{"], "--model-kwargs is not JSON"),
    ("explain-model-kwargs-too-wide", [*EXPLAIN, "--model-kwargs", '{"width": 100000}'], "width"),
    ("explain-contact-sheet-zero", [*EXPLAIN, "--sheet", "0"], "--sheet must be between 1 and 400"),
    ("explain-contact-sheet-huge", [*EXPLAIN, "--sheet", "100000"], "--sheet must be between 1 and 400"),
    ("explain-images-of-two-sizes-across-batches",
     ["explain", "--model", "rather.common.networks:SmallCNN", "--model-kwargs", '{"num_classes": 2}', "--weights",
      "plain.pt", "--layer", "features", "--image", "a.png", "tall.png", "--batch-size", "1", "--out", "out"],
     "images differ in size"),
    ("suite-weights-for-seismic", ["suite", "seismic", "--weights", "a.png", "--out", "out"],
     "--weights is for rather suite recognition"),
    ("suite-folder-missing", ["suite", "recognition", "--data", "imagefolder:nowhere", "--out", "out"],
     "'nowhere' is not a folder"),
]


def cub(parts: str, locations: str) -> str:
    """A one-image CUB-200-2011 tree in cub/ with the given parts.txt and part_locs.txt lines."""
    base = Path("cub")
    png("cub/images/001.Wren/1.png")
    for name, text in (("images.txt", "1 001.Wren/1.png"), ("image_class_labels.txt", "1 1"),
                       ("train_test_split.txt", "1 0"), ("bounding_boxes.txt", "1 1 1 5 5"), ("classes.txt", "1 001.Wren"),
                       ("parts/parts.txt", parts), ("parts/part_locs.txt", locations)):
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text + "\n")
    return "cub"


def bytes_file(name: str, content: bytes) -> str:
    Path(name).write_bytes(content)
    return name


@pytest.mark.parametrize("argv, says", [pytest.param(argv, says, id=name) for name, argv, says in CASES])
def test_a_hostile_recognition_input_is_refused(tree, refuse, argv, says):
    refuse(argv() if callable(argv) else argv, says=says)
