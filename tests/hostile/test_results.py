"""Broken explanation stores fed to ``rather.common.load``: each refused as BadInput naming the file and the fault.

Every case starts from a valid store written by ``ExplanationResult.save`` (two inputs,
three questions) and breaks one thing with h5py or by cutting bytes; never a raw
KeyError, OSError or TypeError may escape.
"""
from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest
import torch

import rather.common.memory as memory
from rather.common import BadInput, ExplanationResult, load

STRINGS = h5py.string_dtype()


def class_result() -> ExplanationResult:
    generator = torch.Generator().manual_seed(0)
    return ExplanationResult(
        maps=torch.rand(2, 3, 16, 16, generator=generator), raw=torch.rand(2, 3, 4, 4, generator=generator),
        p=torch.tensor([[1, 1, 1], [2, 2, 2]]), q=torch.tensor([[-1, 0, 2], [-1, 0, 1]]),
        kinds=("why", "rather", "rather"), outputs=torch.randn(2, 3, generator=generator), task="class",
        layer="features", method="gradcam", ids=("a", "b"), class_names=("ant", "bee", "cicada"),
        notes=("explained in eval mode",), model_checksum="0" * 64,
    )


def score_result() -> ExplanationResult:
    return ExplanationResult(
        maps=torch.rand(1, 2, 8, 8), raw=torch.rand(1, 2, 2, 2), p=torch.tensor([[0.6, 0.6]], dtype=torch.float64),
        q=torch.tensor([[float("nan"), 0.9]], dtype=torch.float64), kinds=("why", "score_rather"),
        outputs=torch.tensor([[0.6]]), task="score", layer="features", method="gradcam", ids=("pair",),
    )


def replace(store: h5py.File, name: str, data, **options) -> None:
    del store[name]
    store.create_dataset(name, data=data, **options)


def cut(path: Path, keep: float) -> None:
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])


def scramble_maps(path: Path) -> None:
    """Overwrite the compressed bytes of the first input's maps with noise."""
    with h5py.File(path, "r") as store:
        chunk = store["inputs/a/maps"].id.get_chunk_info(0)
    data = bytearray(path.read_bytes())
    data[chunk.byte_offset:chunk.byte_offset + chunk.size] = np.random.default_rng(0).bytes(chunk.size)
    path.write_bytes(bytes(data))


# name -> (what to do to the valid file: with the open store, or with its path, message fragment)
IN_STORE = {
    "format missing": (lambda s: s.attrs.__delitem__("format"), "is not a rather explanation store"),
    "a newer schema": (lambda s: s.attrs.__setitem__("schema", 7), "has store schema 7, newer than"),
    "schema as text": (lambda s: s.attrs.__setitem__("schema", "one"),
                       "attribute 'schema' of '/' is text, expected an integer"),
    "layer attribute missing": (lambda s: s.attrs.__delitem__("layer"), "attribute 'layer' of '/' is missing"),
    "layer as a number": (lambda s: s.attrs.__setitem__("layer", 5), "attribute 'layer' of '/' is the int64 value 5, "
                                                                     "expected text"),
    "call as text": (lambda s: s.attrs.__setitem__("call", "first"), "attribute 'call' of '/' is text, expected an "
                                                                     "integer"),
    "call negative": (lambda s: s.attrs.__setitem__("call", -1), "attribute 'call' of '/' is -1"),
    "an unknown task": (lambda s: s.attrs.__setitem__("task", "segment"), "attribute 'task' of '/' is 'segment', expected "
                                                                          "'class' or 'score'"),
    "kinds as numbers": (lambda s: s.attrs.__setitem__("kinds", np.arange(3)),
                         "attribute 'kinds' of '/' is an array of int64, shape (3,), expected a list of texts"),
    "kinds of the wrong length": (lambda s: s.attrs.create("kinds", np.array(["why", "rather"], dtype=object),
                                                           dtype=STRINGS),
                                  "'/inputs/a/maps' has 3 questions but attribute 'kinds' names 2"),
    "class names as one text": (lambda s: s.attrs.__setitem__("class_names", "ant bee"),
                                "attribute 'class_names' of '/' is text, expected a list of texts"),
    "ids missing": (lambda s: s.__delitem__("ids"), "'/ids' is missing"),
    "ids as numbers": (lambda s: replace(s, "ids", np.arange(2)), "'/ids' is an array of int64, shape (2,), expected "
                                                                  "a list of texts"),
    "ids repeated": (lambda s: replace(s, "ids", np.array(["a", "a"], dtype=object), dtype=STRINGS),
                     "'/ids' repeats a name"),
    "ids empty": (lambda s: replace(s, "ids", np.array([], dtype=object), dtype=STRINGS), "'/ids' is empty"),
    "an input's group missing": (lambda s: s.__delitem__("inputs/b"), "'/inputs/b' is missing"),
    "the inputs group missing": (lambda s: s.__delitem__("inputs"), "'/inputs/a' is missing"),
    "an input as a dataset": (lambda s: (s.__delitem__("inputs/b"), s.create_dataset("inputs/b", data=[1.0])),
                              "'/inputs/b' is a Dataset, expected a Group"),
    "raw maps missing": (lambda s: s.__delitem__("inputs/a/raw"), "'/inputs/a/raw' is missing"),
    "maps of rank 2": (lambda s: replace(s, "inputs/a/maps", np.zeros((16, 16), np.float32)),
                       "'/inputs/a/maps' is an array of float32, shape (16, 16), expected a float array "
                       "(questions, H, W)"),
    "maps of rank 5": (lambda s: replace(s, "inputs/b/maps", np.zeros((1, 1, 3, 16, 16), np.float32)),
                       "'/inputs/b/maps' is an array of float32, shape (1, 1, 3, 16, 16)"),
    "volume maps with flat raw maps": (lambda s: replace(s, "inputs/b/maps", np.zeros((3, 2, 16, 16), np.float32)),
                                       "'/inputs/b/raw' is an array of float32, shape (3, 4, 4), expected a float "
                                       "array (questions, d, h, w), as 'maps' is over volumes"),
    "dense outputs of rank 2": (lambda s: replace(s, "inputs/a/outputs", np.zeros((3, 16), np.float32)),
                                "'/inputs/a/outputs' is an array of float32, shape (3, 16), expected a float array "
                                "(classes,) or dense (classes, *pixels)"),
    "maps as integers": (lambda s: replace(s, "inputs/a/maps", np.zeros((3, 16, 16), np.int32)),
                         "'/inputs/a/maps' is an array of int32"),
    "maps of another size in one input": (lambda s: replace(s, "inputs/b/maps", np.zeros((3, 8, 8), np.float32)),
                                          "'maps' differs in shape between inputs: [(3, 8, 8), (3, 16, 16)]"),
    "NaN in the maps": (lambda s: s["inputs/a/maps"].__setitem__((0, 0, 0), np.nan),
                        "'/inputs/a/maps' holds NaN or Inf"),
    "Inf in the outputs": (lambda s: s["inputs/b/outputs"].__setitem__(1, np.inf), "'/inputs/b/outputs' holds NaN or Inf"),
    "maps above 1": (lambda s: s["inputs/a/maps"].__setitem__((1, 2, 3), 3.5),
                     "'/inputs/a/maps' holds values outside [0, 1]"),
    "negative raw maps": (lambda s: s["inputs/b/raw"].__setitem__((0, 0, 0), -1.0), "holds negative values"),
    "outputs as strings": (lambda s: replace(s, "inputs/a/outputs", np.array(["1.5", "2", "3"], dtype=object),
                                             dtype=STRINGS),
                           "'/inputs/a/outputs' is an array of texts, shape (3,), expected a float array (classes,)"),
    "maps as strings": (lambda s: replace(s, "inputs/b/maps", np.full((3, 16, 16), b"0.5")),
                        "'/inputs/b/maps' is an array of texts"),
    "p missing": (lambda s: s["inputs/a"].attrs.__delitem__("p"), "attribute 'p' of '/inputs/a' is missing"),
    "p as strings": (lambda s: s["inputs/a"].attrs.create("p", np.array(["1", "1", "1"], dtype=object),
                                                           dtype=STRINGS),
                     "attribute 'p' of '/inputs/a' is an array of texts, shape (3,), expected 3 class indices"),
    "q of the wrong length": (lambda s: s["inputs/b"].attrs.__setitem__("q", np.array([0, 1])),
                              "attribute 'q' of '/inputs/b' is an array of int64, shape (2,), expected 3 class "
                              "indices"),
    "q naming a class the model lacks": (lambda s: s["inputs/a"].attrs.__setitem__("q", np.array([-1, 0, 7])),
                                         "attribute 'q' of '/inputs/a' holds classes outside -1..2 (3 outputs)"),
    "p of -1": (lambda s: s["inputs/b"].attrs.__setitem__("p", np.array([-1, 2, 2])),
                "attribute 'p' of '/inputs/b' holds classes outside 0..2"),
    # issue 21: inconsistent stores that loaded, and more of the damages the API must name
    "maps of 0 x 0 pixels": (lambda s: [replace(s, f"inputs/{name}/maps", np.zeros((3, 0, 0), np.float32))
                                        for name in "ab"],
                             "'/inputs/a/maps' is empty: shape (3, 0, 0), expected a float array (questions, H, W)"),
    "raw maps of 0 rows": (lambda s: [replace(s, f"inputs/{name}/raw", np.zeros((3, 0, 4), np.float32))
                                      for name in "ab"], "'/inputs/a/raw' is empty: shape (3, 0, 4)"),
    "outputs empty": (lambda s: [replace(s, f"inputs/{name}/outputs", np.zeros(0)) for name in "ab"],
                      "'/inputs/a/outputs' is empty: shape (0,), expected a float array (classes,)"),
    "NaN in the raw maps": (lambda s: s["inputs/b/raw"].__setitem__((2, 1, 1), np.nan),
                            "'/inputs/b/raw' holds NaN or Inf"),
    "-Inf in the maps": (lambda s: s["inputs/b/maps"].__setitem__((0, 5, 5), -np.inf),
                         "'/inputs/b/maps' holds NaN or Inf"),
    "NaN maps in half floats": (lambda s: replace(s, "inputs/a/maps", np.full((3, 16, 16), np.nan, np.float16)),
                                "'/inputs/a/maps' holds NaN or Inf"),
    "maps as complex numbers": (lambda s: replace(s, "inputs/a/maps", np.zeros((3, 16, 16), np.complex64)),
                                "'/inputs/a/maps' is an array of complex64"),
    "raw maps of rank 2": (lambda s: replace(s, "inputs/a/raw", np.zeros((4, 4), np.float32)),
                           "'/inputs/a/raw' is an array of float32, shape (4, 4), expected a float array "
                           "(questions, h, w)"),
    "raw maps with fewer questions": (lambda s: replace(s, "inputs/a/raw", np.zeros((2, 4, 4), np.float32)),
                                      "'/inputs/a/raw' has 2 questions but attribute 'kinds' names 3"),
    "outputs of rank 2": (lambda s: replace(s, "inputs/a/outputs", np.zeros((3, 1))),
                          "'/inputs/a/outputs' is an array of float64, shape (3, 1), expected a float array "
                          "(classes,)"),
    "kinds empty": (lambda s: s.attrs.create("kinds", np.array([], dtype=object), dtype=STRINGS),
                    "'/inputs/a/maps' has 3 questions but attribute 'kinds' names 0"),
    "kinds naming an unknown question": (lambda s: s.attrs.create("kinds", np.array(["why", "rather", "how"],
                                                                                     dtype=object), dtype=STRINGS),
                                         "attribute 'kinds' of '/' names the unknown question kind 'how'"),
    "p of the wrong length": (lambda s: s["inputs/a"].attrs.__setitem__("p", np.array([0, 1])),
                              "attribute 'p' of '/inputs/a' is an array of int64, shape (2,), expected 3 class "
                              "indices"),
    "q as floats in a class store": (lambda s: s["inputs/b"].attrs.__setitem__("q", np.zeros(3)),
                                     "is an array of float64, shape (3,), expected 3 class indices"),
}

ON_DISK = {
    "zero bytes": (lambda p: p.write_bytes(b""), "the file is empty (0 bytes)"),
    "not HDF5": (lambda p: p.write_text("maps,raw\n1,2\n"), "it is not an HDF5 file"),
    "truncated to 90 %": (lambda p: cut(p, 0.9), "the HDF5 file is truncated or damaged"),
    "truncated to its signature": (lambda p: cut(p, 0.001), "the HDF5 file is truncated or damaged"),
    "compressed maps scrambled": (scramble_maps, "'/inputs/a/maps' cannot be read (the file is truncated or damaged)"),
}


@pytest.fixture
def store(tmp_path) -> Path:
    return class_result().save(tmp_path / "explanations.h5")


def refused(path: Path, says: str) -> str:
    with pytest.raises(BadInput) as caught:
        load(path)
    message = str(caught.value)
    assert f"'{path}'" in message and says in message and "\n" not in message, message
    return message


@pytest.mark.parametrize("case", sorted(IN_STORE))
def test_a_store_broken_inside_is_refused(case, store):
    assert load(store).maps.shape == (2, 3, 16, 16)  # valid before
    damage, says = IN_STORE[case]
    with h5py.File(store, "r+") as handle:
        damage(handle)
    refused(store, says)


@pytest.mark.parametrize("case", sorted(ON_DISK))
def test_a_store_broken_on_disk_is_refused(case, store):
    damage, says = ON_DISK[case]
    damage(store)
    refused(store, says)


def test_a_folder_and_a_missing_file_are_refused(tmp_path):
    refused(tmp_path, "is a folder")
    refused(tmp_path / "missing.h5", "does not exist")


def test_a_dataset_too_big_for_memory_is_refused_before_reading(store, monkeypatch):
    """A compressed dataset of zeros declaring (3, 200000, 200000) floats: 480 GB once read."""
    with h5py.File(store, "r+") as handle:
        del handle["inputs/a/maps"]
        handle.create_dataset("inputs/a/maps", shape=(3, 200_000, 200_000), dtype=np.float32,
                              chunks=(1, 1000, 1000), compression="gzip")
    monkeypatch.setattr(memory, "available_memory", lambda: 10**11)
    refused(store, "reading '/inputs/a/maps' of")


def test_score_stores_check_their_own_fields(tmp_path):
    path = score_result().save(tmp_path / "scores.h5")
    loaded = load(path)
    assert torch.isnan(loaded.q[0, 0]) and loaded.q[0, 1] == 0.9  # q = NaN: no contrast, allowed
    with h5py.File(path, "r+") as handle:
        handle["inputs/pair"].attrs["p"] = np.array([np.nan, 0.6])
    refused(path, "attribute 'p' of '/inputs/pair' holds NaN or Inf, expected finite scores")
    path = score_result().save(tmp_path / "scores.h5")
    with h5py.File(path, "r+") as handle:
        handle["inputs/pair"].attrs["q"] = np.array([np.nan, np.inf])
    refused(path, "attribute 'q' of '/inputs/pair' holds NaN or Inf, expected finite scores (NaN: no contrast)")
    path = score_result().save(tmp_path / "scores.h5")
    with h5py.File(path, "r+") as handle:
        replace(handle, "inputs/pair/outputs", np.array([0.6, 0.4], dtype=np.float32))
    refused(path, "'outputs' holds 2 values per input; a score task has one")
    path = score_result().save(tmp_path / "scores.h5")
    with h5py.File(path, "r+") as handle:
        handle["inputs/pair"].attrs["q"] = np.array([0, 1])
    refused(path, "expected 2 scores")
