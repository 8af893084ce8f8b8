"""Hostile images fed to ``rather explain --image``, ``rather iqa score`` and ``rather iqa explain``.

Each file is either a legitimate image in an unusual form (16-bit, CMYK, grey + alpha,
palette, 1 x 1, float TIFF), which must be read correctly, or a broken or malicious one
(empty, truncated, not an image, a decompression bomb, a pickle, complex, date or NaN values,
float samples outside [0, 1], a folder), which must be refused cleanly: one line, exit 2, nothing written.
"""
from __future__ import annotations

import functools
import json
import pickle
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import tifffile
import torch
from PIL import Image

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN
from rather.iqa.synthetic import photo

CLASSES = ["ant", "bee", "cicada"]


@functools.cache
def picture() -> np.ndarray:
    """A 48 x 64 RGB photograph (uint8): large enough for the quality model's 32 x 32 patches."""
    image = np.rint(photo("chelsea")[20:68, 100:164] * 255).astype(np.uint8)
    image.flags.writeable = False  # shared between cases
    return image


def save_png(folder: Path, name: str, image: Image.Image) -> Path:
    image.save(folder / name)
    return folder / name


def written(folder: Path, name: str, data: bytes) -> Path:
    (folder / name).write_bytes(data)
    return folder / name


def save_npy(folder: Path, name: str, array: np.ndarray) -> Path:
    np.save(folder / name, array, allow_pickle=True)
    return folder / name


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_bomb(folder: Path) -> Path:
    """74 bytes whose header declares 100000 x 100000 RGB pixels (30 GB decoded)."""
    header = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    data = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"\0" * 64))
    return written(folder, "bomb.png", data + png_chunk(b"IEND", b""))


def jpeg_bomb(folder: Path) -> Path:
    """A small JPEG whose frame header (SOF0) is patched to declare 60000 x 60000 pixels."""
    Image.fromarray(picture()).save(folder / "small.jpg")
    data = bytearray((folder / "small.jpg").read_bytes())
    (folder / "small.jpg").unlink()
    frame = data.index(b"\xff\xc0")
    data[frame + 5:frame + 9] = struct.pack(">HH", 60_000, 60_000)
    return written(folder, "bomb.jpg", bytes(data))


def tiff_bomb(folder: Path) -> Path:
    """An 8 x 8 TIFF whose ImageWidth and ImageLength tags are patched to 100000."""
    path = folder / "bomb.tif"
    tifffile.imwrite(path, np.zeros((8, 8), dtype=np.uint8))
    with tifffile.TiffFile(path) as tiff:
        offsets = [tiff.pages[0].tags[name].valueoffset for name in ("ImageWidth", "ImageLength")]
    data = bytearray(path.read_bytes())
    for offset in offsets:
        data[offset:offset + 4] = struct.pack("<I", 100_000)
    path.write_bytes(bytes(data))
    return path


def truncated(folder: Path, name: str, fmt: str) -> Path:
    Image.fromarray(picture()).save(folder / name, format=fmt)
    data = (folder / name).read_bytes()
    (folder / name).write_bytes(data[:len(data) // 2])
    return folder / name


def corrupted_png(folder: Path) -> Path:
    """A PNG with one byte of its image data flipped: its checksum no longer matches."""
    path = save_png(folder, "corrupted.png", Image.fromarray(picture()))
    data = bytearray(path.read_bytes())
    data[data.index(b"IDAT") + 40] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def npy_with_header(folder: Path, header: bytes) -> Path:
    """A file with the .npy magic and version 1.0 but the given header text."""
    header = header.ljust(118) + b"\n"
    return written(folder, "header.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header)


def truncated_npy(folder: Path) -> Path:
    path = save_npy(folder, "truncated.npy", np.zeros((48, 64), dtype=np.float32))
    path.write_bytes(path.read_bytes()[:-100])
    return path


def tiff(folder: Path, name: str, array: np.ndarray, **options) -> Path:
    tifffile.imwrite(folder / name, array, **options)
    return folder / name


def float_tiff_outside(folder: Path) -> Path:
    """The photograph standardised (zero mean, unit variance): float samples outside [0, 1]."""
    values = picture().astype(np.float32)
    return tiff(folder, "standardised.tif", (values - values.mean()) / values.std(), photometric="rgb")


def folder_named_png(folder: Path) -> Path:
    (folder / "folder.png").mkdir()
    return folder / "folder.png"


def with_nan(value: float) -> np.ndarray:
    array = np.full((48, 64), 0.5, dtype=np.float32)
    array[10, 10] = value
    return array


# name -> (builder of the file under a folder, a fragment the one-line refusal must contain)
BROKEN = {
    "zero bytes": (lambda d: written(d, "empty.png", b""), "the file is empty (0 bytes)"),
    "truncated PNG": (lambda d: truncated(d, "truncated.png", "PNG"), "truncated or damaged"),
    "truncated JPEG": (lambda d: truncated(d, "truncated.jpg", "JPEG"), "truncated or damaged"),
    "corrupted PNG data": (corrupted_png, "truncated or damaged"),
    "text named .png": (lambda d: written(d, "notes.png", b"not a picture\n"),
                        "not an image file rather can read (PNG, JPEG, TIFF, .npy)"),
    "PNG bomb 100000 x 100000": (png_bomb, ("declares 100000 x 100000 pixels", "RATHER_MAX_PIXELS=")),
    "JPEG bomb 60000 x 60000": (jpeg_bomb, ("declares 60000 x 60000 pixels", "decompression bombs")),
    "TIFF bomb 100000 x 100000": (tiff_bomb, "declares 100000 x 100000 pixels"),
    "npy of objects": (lambda d: save_npy(d, "objects.npy", np.array([{"a": 1}] * 4, dtype=object)),
                       "holds Python objects (pickled data)"),
    "pickle named .npy": (lambda d: written(d, "pickle.npy", pickle.dumps({"a": 1})),
                          "not an image file rather can read"),
    "npy header declaring objects": (lambda d: npy_with_header(
        d, b"{'descr': '|O', 'fortran_order': False, 'shape': (4, 4), }"), "holds Python objects"),
    "npy header that is not a dict": (lambda d: npy_with_header(d, b"__import__('os')"), "header is damaged"),
    "complex npy": (lambda d: save_npy(d, "complex.npy", np.ones((48, 64), dtype=np.complex64)),
                    "holds complex numbers"),
    "npy of strings": (lambda d: save_npy(d, "strings.npy", np.full((48, 64), "ab")), "holds <U2 values"),
    "NaN npy": (lambda d: save_npy(d, "nan.npy", with_nan(np.nan)), "holds NaN or Inf values"),
    "Inf npy": (lambda d: save_npy(d, "inf.npy", with_nan(np.inf)), "holds NaN or Inf values"),
    "truncated npy": (truncated_npy, "truncated or damaged"),
    "empty npy": (lambda d: save_npy(d, "empty.npy", np.zeros((0, 64), dtype=np.float32)), "is empty"),
    "4-D npy": (lambda d: save_npy(d, "volume.npy", np.zeros((2, 3, 48, 64), dtype=np.float32)),
                "expected (H, W), (H, W, C) or (C, H, W)"),
    "folder named .png": (folder_named_png, "is a folder"),
    # issue 21: samples that are not numbers in [0, 1], and arrays with no channel axis rather can name
    "float npy above 1": (lambda d: save_npy(d, "bright.npy", np.full((48, 64), 2.0, dtype=np.float32)),
                          ("holds float samples from 2 to 2", "rescale it to [0, 1]")),
    "float npy below 0": (lambda d: save_npy(d, "signed.npy", with_nan(-0.5)),
                          "holds float samples from -0.5 to 0.5"),
    "float64 npy beyond float32": (lambda d: save_npy(d, "huge.npy", np.full((48, 64), 1e40)),
                                   "holds float samples from 1e+40 to 1e+40"),
    "float TIFF of standardised values": (float_tiff_outside, "holds float samples from -"),
    "complex TIFF": (lambda d: tiff(d, "complex.tif", np.ones((48, 64), dtype=np.complex64)), "complex numbers"),
    "datetime npy": (lambda d: save_npy(d, "dates.npy", np.zeros((48, 64), dtype="datetime64[s]")),
                     "holds datetime64[s] values; save numbers"),
    "timedelta npy": (lambda d: save_npy(d, "spans.npy", np.zeros((48, 64), dtype="timedelta64[ms]")),
                      "holds timedelta64[ms] values"),
    "npy of 65 x 48 x 64": (lambda d: save_npy(d, "planes.npy", np.zeros((65, 48, 64), dtype=np.uint8)),
                            "as (C, H, W) its first is more than 64"),
}


@pytest.fixture
def inputs(tmp_path) -> Path:
    """tmp_path/inputs with a checkpoint of a small classifier and a plain reference photograph."""
    folder = tmp_path / "inputs"
    folder.mkdir()
    torch.manual_seed(0)
    save_checkpoint(folder / "model.pt", SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4},
                    {"class_names": CLASSES, "preprocess": {"size": [32, 32], "channels": 3}})
    save_png(folder, "reference.png", Image.fromarray(picture()))
    return folder


def argv(command: str, image: Path, folder: Path, out: Path) -> list:
    """The command line that feeds ``image`` to ``command``."""
    reference = folder / "reference.png"
    return {
        "explain": ["explain", "--weights", folder / "model.pt", "--layer", "features", "--image", image,
                    "--out", out],
        "iqa score (distorted)": ["iqa", "score", image, reference],
        "iqa score (reference)": ["iqa", "score", reference, image],
        "iqa explain": ["iqa", "explain", image, reference, "--rather-than", "0.9", "--mode", "image",
                        "--out", out],
    }[command]


COMMANDS = ("explain", "iqa score (distorted)", "iqa score (reference)", "iqa explain")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_images_are_refused(case, command, inputs, tmp_path, refuse):
    build, says = BROKEN[case]
    image = build(inputs)
    refuse(argv(command, image, inputs, tmp_path / "out"), says=says)


@pytest.mark.parametrize("command", COMMANDS)
def test_a_missing_image_is_refused(command, inputs, tmp_path, refuse):
    refuse(argv(command, inputs / "missing.png", inputs, tmp_path / "out"), says="does not exist")


def test_the_pixel_limit_can_be_raised_for_a_genuine_image(inputs, tmp_path, refuse, run_cli, monkeypatch):
    image = save_png(inputs, "photo.png", Image.fromarray(picture()))  # 3072 pixels
    monkeypatch.setenv("RATHER_MAX_PIXELS", "3000")
    refuse(argv("iqa score (distorted)", image, inputs, tmp_path / "out"),
           says=("declares 48 x 64 pixels", "RATHER_MAX_PIXELS=3072"))
    monkeypatch.setenv("RATHER_MAX_PIXELS", "3072")
    assert run_cli(argv("iqa score (distorted)", image, inputs, tmp_path / "out")).status == 0
    monkeypatch.setenv("RATHER_MAX_PIXELS", "lots")
    refuse(argv("iqa score (distorted)", image, inputs, tmp_path / "out"),
           says="RATHER_MAX_PIXELS='lots' is not a positive whole number")


# Legitimate images in unusual forms: name -> (builder, builder of a plain 8-bit twin with the same pixels,
# how far the quality model's score may move from the twin's: 0 where the decoded pixels are equal)
def grey() -> np.ndarray:
    return np.rint(picture().mean(axis=2)).astype(np.uint8)


def cmyk_jpeg(folder: Path) -> Path:
    Image.fromarray(picture()).convert("CMYK").save(folder / "cmyk.jpg", quality=95)
    return folder / "cmyk.jpg"


def palette(folder: Path) -> Path:
    return save_png(folder, "palette.png", Image.fromarray(picture()).quantize(64))


def palette_twin(folder: Path) -> Path:
    return save_png(folder, "palette_twin.png", Image.fromarray(picture()).quantize(64).convert("RGB"))


def grey_alpha(folder: Path) -> Path:
    alpha = np.linspace(0, 255, grey().size).reshape(grey().shape).astype(np.uint8)
    return save_png(folder, "grey_alpha.png", Image.fromarray(np.stack([grey(), alpha], axis=-1), mode="LA"))


def sixteen_bit(folder: Path) -> Path:
    """The photograph's grey as 16-bit samples (v * 257 maps 0..255 exactly onto 0..65535)."""
    return save_png(folder, "sixteen.png", Image.fromarray(grey().astype(np.uint16) * 257))


def sixteen_bit_tiff(folder: Path) -> Path:
    tifffile.imwrite(folder / "sixteen.tif", picture().astype(np.uint16) * 257, photometric="rgb")
    return folder / "sixteen.tif"


def float_tiff(folder: Path) -> Path:
    tifffile.imwrite(folder / "float.tif", np.moveaxis(picture() / np.float32(255), -1, 0).astype(np.float32),
                     photometric="rgb", planarconfig="separate")
    return folder / "float.tif"


LEGITIMATE = {
    "16-bit grey PNG": (sixteen_bit, lambda d: save_png(d, "grey.png", Image.fromarray(grey())), 0.0),
    "16-bit RGB TIFF": (sixteen_bit_tiff, lambda d: d / "reference.png", 0.0),
    "float RGB TIFF, planar": (float_tiff, lambda d: d / "reference.png", 1e-6),
    "CMYK JPEG": (cmyk_jpeg, lambda d: d / "reference.png", 0.05),
    "grey + alpha PNG": (grey_alpha, lambda d: save_png(d, "grey.png", Image.fromarray(grey())), 0.0),
    "palette PNG": (palette, palette_twin, 0.0),
    "1-bit PNG": (lambda d: save_png(d, "bits.png", Image.fromarray(grey() > 128)),
                  lambda d: save_png(d, "bits_twin.png", Image.fromarray(np.where(grey() > 128, 255, 0)
                                                                           .astype(np.uint8))), 0.0),
}


def score(run_cli, distorted: Path, reference: Path) -> float:
    outcome = run_cli(["iqa", "score", distorted, reference, "--json"])
    assert outcome.status == 0 and outcome.err == "", outcome.err
    return json.loads(outcome.out)["score"]


@pytest.mark.parametrize("case", sorted(LEGITIMATE))
def test_unusual_but_legitimate_images_score_like_their_plain_twin(case, inputs, run_cli):
    build, build_twin, tolerance = LEGITIMATE[case]
    image, twin = build(inputs), build_twin(inputs)
    reference = inputs / "reference.png"
    assert score(run_cli, image, reference) == pytest.approx(score(run_cli, twin, reference), abs=tolerance)


@pytest.mark.parametrize("case", sorted(LEGITIMATE) + ["1 x 1 PNG"])
def test_unusual_but_legitimate_images_are_explained(case, inputs, tmp_path, run_cli):
    if case == "1 x 1 PNG":
        image = save_png(inputs, "dot.png", Image.fromarray(picture()[:1, :1]))
    else:
        image = LEGITIMATE[case][0](inputs)
    outcome = run_cli(argv("explain", image, inputs, tmp_path / "out"))
    assert outcome.status == 0 and outcome.err == "", outcome.err
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["images"][0]["path"] == str(image)
    assert [q["kind"] for q in summary["images"][0]["questions"]] == ["why", "rather"]


@pytest.mark.parametrize("command", [["iqa", "score"], ["iqa", "explain", "--rather-than", "0.9", "--out", "OUT"]])
def test_a_1_x_1_pair_is_too_small_for_the_quality_model(command, inputs, tmp_path, refuse):
    dot = save_png(inputs, "dot.png", Image.fromarray(picture()[:1, :1]))
    command = [tmp_path / "out" if word == "OUT" else word for word in command]
    refuse([*command[:2], dot, dot, *command[2:]], says="smaller than the model's 32 x 32 patch")
