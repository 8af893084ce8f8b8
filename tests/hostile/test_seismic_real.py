"""Hostile inputs of seismic work on real data: 2D lines, the user's model and classes, real labels.

Each case is a clean refusal (the ``refuse`` fixture): exit 2, one line naming what was
wrong and what to give, the inputs untouched, nothing written.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import segyio
import torch

from rather.common import save_checkpoint
from rather.common.networks import SmallCNN
from rather.seismic.networks import SeismicUNet
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

FACTORY = "rather.common.networks:SmallCNN"
KWARGS = {"num_classes": 3, "in_channels": 1, "width": 4, "pools": 2, "padding": 0}


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> dict[str, bytes]:
    """The bytes of a single-inline survey, a 2D line by CDP, a three-class checkpoint and its state dict."""
    folder = tmp_path_factory.mktemp("hostile_real")
    survey, _ = write_survey(make_survey(4, SurveyParameters(inlines=1, crosslines=56, samples=60)),
                             folder / "one.sgy")
    spec = segyio.spec()
    spec.format, spec.tracecount, spec.samples = 5, 40, np.arange(50) * 4.0
    with segyio.create(str(folder / "line.sgy"), spec) as file:
        for trace in range(40):
            file.header[trace] = {segyio.TraceField.CDP: 10 + trace, segyio.TraceField.TRACE_SAMPLE_COUNT: 50}
            file.trace[trace] = np.sin(np.arange(50, dtype=np.float32) + trace)
        file.bin.update(hns=50, format=5)
    torch.manual_seed(0)
    network = SmallCNN(**KWARGS)
    save_checkpoint(folder / "three.pt", network, FACTORY, KWARGS,
                    {"class_names": ["a", "b", "c"], "layer": "features", "patch": 33})
    torch.save(network.state_dict(), folder / "state.pt")
    torch.manual_seed(0)
    unet = SeismicUNet(num_classes=2, width=4, depth=2)
    save_checkpoint(folder / "unet.pt", unet, "rather.seismic.networks:SeismicUNet",
                    {"num_classes": 2, "width": 4, "depth": 2}, {"class_names": ["rock", "fault"], "patch": 32})
    return {name: (folder / name).read_bytes() for name in ("one.sgy", "line.sgy", "three.pt", "state.pt", "unet.pt")}


def lay_out(tmp_path, originals) -> None:
    for name, content in originals.items():
        (tmp_path / name).write_bytes(content)


@pytest.mark.parametrize("extra, says", [
    (["one.sgy", "--crossline", "300"], "holds a single line, inline 100, not crossline 300; drop --inline"),
    (["one.sgy", "--inline", "7"], "holds a single line, inline 100, not inline 7"),
    (["line.sgy", "--inline", "1"], "holds a 2D line, not inline 1"),
    (["line.sgy", "--all", "--workers", "1"], "is a 2d file, a single line; explain it without --workers"),
    (["one.sgy", "--time", "500", "900"], "no sample between 500 and 900 ms"),
    (["one.sgy", "--time", "9", "3"], "--time must be two times in ms, the first smaller; got 9 3"),
    (["one.sgy", "--time", "0", "40"], "needs at least 50 of each — explain a larger survey or a longer --time"),
    (["one.sgy", "--weights", "three.pt", "--classes", "a,b"],
     "gives (1, 3) for one patch, not 2 logits (a, b)"),
    (["one.sgy", "--weights", "three.pt", "--classes", "a,b,a"], "--classes names the class 'a' twice"),
    (["one.sgy", "--weights", "three.pt", "--classes", "solo"], "--classes names 1 class; give at least two"),
    (["one.sgy", "--weights", "three.pt", "--classes", "a,b/c,d"], "class name 'b/c' is not a plain name"),
    (["one.sgy", "--weights", "three.pt", "--patch", "1"], "--patch must be a whole number of samples from 2"),
    (["one.sgy", "--weights", "three.pt", "--patch", "4"], "does not run on a one-channel patch of 4 x 4"),
    (["one.sgy", "--weights", "three.pt", "--layer", "nope"], "layer 'nope' not found"),
    (["one.sgy", "--weights", "state.pt"], "no architecture"),
    (["one.sgy", "--weights", "state.pt", "--model", FACTORY, "--model-kwargs", json.dumps(KWARGS)],
     "records no layer to explain; give one with --layer"),
    (["one.sgy", "--weights", "state.pt", "--model", FACTORY, "--model-kwargs", "[3]", "--layer", "features"],
     "--model-kwargs must be a JSON object"),
    (["one.sgy", "--weights", "state.pt", "--model", FACTORY, "--model-kwargs", "{", "--layer", "features"],
     "--model-kwargs is not JSON"),
    (["one.sgy", "--weights", "state.pt", "--model", FACTORY, "--layer", "features"], "missing 1 required"),
    (["one.sgy", "--weights", "state.pt", "--model", FACTORY, "--layer", "features", "--model-kwargs",
      json.dumps({**KWARGS, "width": 8})], "do not fit"),
    (["one.sgy", "--weights", "missing.pt"], "missing.pt"),
    (["one.sgy", "--weights", "unet.pt", "--patch", "30"], "does not run on a one-channel patch of 30 x 30"),
    (["one.sgy", "--weights", "unet.pt", "--classes", "a,b,c"],
     "gives (1, 2, 32, 32) for one patch, not 3 logits (a, b, c), or per-pixel logits (1, 3, 32, 32)"),
    (["one.sgy", "--weights", "unet.pt", "--model-kwargs", '{"depth": 9}'], "takes depth as"),
])
def test_explain_refuses_lines_and_models_it_cannot_use(tmp_path, originals, refuse, extra, says):
    lay_out(tmp_path, originals)
    survey, *options = extra
    refuse(["seismic", "explain", tmp_path / survey, *[tmp_path / o if o.endswith(".pt") else o for o in options],
            "--out", tmp_path / "D"], says=("rather seismic: error: ", says))


def patch_tree(root, classes=("a", "b"), count=3, size=12):
    for name in classes:
        (root / name).mkdir(parents=True)
        for index in range(count):
            np.save(root / name / f"{index}.npy", np.random.default_rng(index).standard_normal((size, size)))


def section_tree(root, mask_shape=(20, 30), mask_values=(0, 1), classes=None, section_shape=(20, 30)):
    (root / "sections").mkdir(parents=True)
    (root / "masks").mkdir()
    np.save(root / "sections" / "one.npy", np.random.default_rng(0).standard_normal(section_shape))
    mask = np.zeros(mask_shape, dtype=np.int64)
    mask[: mask_shape[0] // 2] = mask_values[0]
    mask[mask_shape[0] // 2:] = mask_values[1]
    np.save(root / "masks" / "one_mask.npy", mask)
    if classes:
        (root / "classes.txt").write_text("\n".join(classes) + "\n")


def write_bytes(path, content):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


LABEL_CASES = [  # (id, lay out under the folder "data", source option, refusal)
    ("single-class-folder", lambda d: patch_tree(d, classes=("fault",)), "--patches",
     "holds 1 class folder (fault); a classifier needs at least two classes"),
    ("no-class-folder", lambda d: d.mkdir(), "--patches", "holds 0 class folders (none)"),
    ("empty-class-folder", lambda d: (patch_tree(d), (d / "c").mkdir()), "--patches",
     "class folder 'c' holds no patch"),
    ("folder-outside-classes-txt", lambda d: (patch_tree(d, classes=("a", "b", "z")),
                                              (d / "classes.txt").write_text("a\nb\n")), "--patches",
     "class folder 'z' is not in"),
    ("not-a-patch-file", lambda d: (patch_tree(d), (d / "a" / "notes.doc").write_text("x")), "--patches",
     "notes.doc: is not a patch file"),
    ("text-that-is-not-numbers", lambda d: (patch_tree(d), (d / "a" / "bad.csv").write_text("1,2\nx,y\n")),
     "--patches", "bad.csv: is not a text matrix of numbers"),
    ("pickled-npy", lambda d: (patch_tree(d), np.save(d / "a" / "obj.npy", np.array([{}], dtype=object))),
     "--patches", "obj.npy: cannot be read (it holds pickled objects)"),
    ("nan-patch", lambda d: (patch_tree(d), np.save(d / "b" / "nan.npy", np.full((12, 12), np.nan))),
     "--patches", "nan.npy: holds NaN or Inf samples"),
    ("one-dimensional-patch", lambda d: (patch_tree(d), np.save(d / "b" / "flat.npy", np.zeros(12))),
     "--patches", "flat.npy: holds float64 of shape (12,), not a 2-D matrix"),
    ("folder-missing", lambda d: None, "--patches", "is not a folder"),
    ("mask-shape-differs", lambda d: section_tree(d, mask_shape=(20, 29)), "--sections",
     "mask shape 20 x 29 differs from its section one.npy, 20 x 30"),
    ("class-outside-declared-set", lambda d: section_tree(d, mask_values=(0, 3), classes=("rock", "fault")),
     "--sections", "class 3 is outside the declared classes 0..1 (rock, fault)"),
    ("negative-class", lambda d: section_tree(d, mask_values=(-1, 0)), "--sections", "class -1 is outside"),
    ("single-class-masks", lambda d: section_tree(d, mask_values=(0, 0)), "--sections",
     "every mask holds the one class class_0; training needs samples of at least two classes"),
    ("mask-missing", lambda d: (section_tree(d), (d / "masks" / "one_mask.npy").unlink()), "--sections",
     "no mask one_mask"),
    ("no-masks-folder", lambda d: (d / "sections").mkdir(parents=True), "--sections",
     "needs the folders sections/ and masks/"),
    ("fractional-mask", lambda d: (section_tree(d), np.save(d / "masks" / "one_mask.npy",
                                                            np.full((20, 30), 0.5))), "--sections",
     "holds fractions, NaN or Inf; a mask holds whole class indices"),
    ("bad-class-name", lambda d: section_tree(d, classes=("rock", "a b")), "--sections",
     "class name 'a b' is not a plain name"),
]


@pytest.mark.parametrize("make, option, says", [pytest.param(m, o, s, id=i) for i, m, o, s in LABEL_CASES])
def test_training_refuses_labels_it_cannot_use(tmp_path, refuse, make, option, says):
    make(tmp_path / "data")
    refuse(["seismic", "train", option, tmp_path / "data", "--epochs", "1", "--out", tmp_path / "m.pt"],
           says=("rather seismic: error: ", says))


@pytest.mark.parametrize("extra, says", [
    (["--hold-out", "1"], "--hold-out must be a share from 0 to below 1; got 1"),
    (["--hold-out", "-0.1"], "--hold-out must be a share"),
    (["--patch", "4"], "--patch must be a whole number of samples from 8 to 1024; got 4"),
    (["--epochs", "0"], "--epochs must be a positive number; got 0"),
])
def test_training_options_on_labels(tmp_path, refuse, extra, says):
    patch_tree(tmp_path / "data")
    refuse(["seismic", "train", "--patches", tmp_path / "data", *extra, "--out", tmp_path / "m.pt"],
           says=("rather seismic: error: ", says))


def test_evaluate_refuses_a_class_the_model_lacks(tmp_path, originals, refuse):
    lay_out(tmp_path, originals)
    patch_tree(tmp_path / "data", classes=("a", "salt"), size=33)
    refuse(["seismic", "evaluate", "--weights", tmp_path / "three.pt", "--patches", tmp_path / "data"],
           says="class 'salt' is outside the model's classes (a, b, c)")


def test_evaluate_sections_needs_a_segmentation_network(tmp_path, originals, refuse):
    lay_out(tmp_path, originals)
    section_tree(tmp_path / "data")
    refuse(["seismic", "evaluate", "--weights", tmp_path / "three.pt", "--sections", tmp_path / "data"],
           says="score it on windows of the sections with --binary CLASS, or give a segmentation network")


def test_synthetic_evaluation_needs_the_four_classes(tmp_path, originals, refuse):
    lay_out(tmp_path, originals)
    refuse(["seismic", "evaluate", "--weights", tmp_path / "three.pt"],
           says="is not a 4-class patch classifier of horizon, chaotic, fault, salt_dome")


def test_evaluate_sections_of_classes_the_network_lacks(tmp_path, originals, refuse):
    lay_out(tmp_path, originals)
    section_tree(tmp_path / "data", section_shape=(40, 40), mask_shape=(40, 40), classes=("rock", "salt"))
    refuse(["seismic", "evaluate", "--weights", tmp_path / "unet.pt", "--sections", tmp_path / "data"],
           says="class 'salt' is outside the model's classes (rock, fault)")
