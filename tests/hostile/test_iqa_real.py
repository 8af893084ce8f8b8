"""Hostile input to rather iqa on people's scores and users' models (issue 17): each refused in one line, exit 2.

Data sets in their published layouts with a wrong name, a broken score table, too few
references or images too small to train on; people's scores off their published scale;
users' models that read the wrong number of images, give several or no finite scores, or
name layers they lack; options that contradict each other.
"""
from __future__ import annotations

import importlib

import numpy as np
import pytest
import torch
from PIL import Image

from rather.common import save_checkpoint
from rather.iqa.networks import wadiqam_fr

LPIPS = "toy_quality:lpips_like"
NR = "toy_quality:tiny_nr"
HOSTILE_MODELS = '''
import torch
from torch import nn


class Scores(nn.Module):
    """One 3 x 3 convolution, then whatever ``give`` makes of its mean: a hostile quality model."""

    def __init__(self, give="two"):
        super().__init__()
        self.features = nn.Conv2d(3, 2, 3, padding=1)
        self.give = give

    def forward(self, dist, ref):
        mean = (self.features(dist) - self.features(ref)).mean(dim=(2, 3))
        if self.give == "nan":
            return mean[:, 0] * float("nan")
        return mean  # two numbers per image


def scores(give="two"):
    torch.manual_seed(0)
    return Scores(give)
'''


@pytest.fixture
def pair(tmp_path):
    """distorted.png and reference.png, 48 x 64, in the case's folder."""
    rng = np.random.default_rng(0)
    reference = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    distorted = np.clip(reference.astype(int) + rng.integers(-40, 40, reference.shape), 0, 255).astype(np.uint8)
    paths = tmp_path / "distorted.png", tmp_path / "reference.png"
    for path, image in zip(paths, (distorted, reference)):
        Image.fromarray(image).save(path)
    return [str(path) for path in paths]


@pytest.fixture
def hostile_model(tmp_path_factory, monkeypatch):
    """``hostile_scores:scores`` on sys.path and its weights (outside the case's folder)."""
    folder = tmp_path_factory.mktemp("hostile_scores")
    (folder / "hostile_scores.py").write_text(HOSTILE_MODELS)
    monkeypatch.syspath_prepend(str(folder))
    torch.save(importlib.import_module("hostile_scores").scores().state_dict(), folder / "scores.pt")
    return str(folder / "scores.pt")


def tid_options(tree) -> list[str]:
    return ["--data", "tid2013", str(tree)]


TRAIN = ["iqa", "train", "--epochs", "1", "--crops", "1", "--width", "1"]


@pytest.mark.parametrize("argv, says", [
    (["--data", "tid2008", "{tid}", "--out", "{tmp}/m.pt"], "--data 'tid2008'"),
    (["--data", "tid2013", "{tmp}/nowhere", "--out", "{tmp}/m.pt"], "data folder '{tmp}/nowhere' does not exist"),
    (["--data", "tid2013", "{tid}"], "--data needs --out CKPT"),
    (["--data", "kadid10k", "{tid}", "--out", "{tmp}/m.pt"], "dmos.csv' is missing"),
    (["--data", "tid2013", "{tid}", "--out", "{tmp}/m.pt", "--epochs", "0"], "--epochs 0 is out of range"),
    (["--data", "tid2013", "{tid}", "--out", "{tid}"], "--out"),
])
def test_training_on_a_data_set_refuses(argv, says, tmp_path, rated_tree, refuse):
    tid = rated_tree(tmp_path / "tid")
    fill = {"tid": str(tid), "tmp": str(tmp_path)}
    refuse([*TRAIN[:2], *[a.format(**fill) for a in argv]], says=says.format(**fill))


@pytest.mark.parametrize("damage, says", [
    ("a MOS that is text", "is not a number"),
    ("a listed image that is missing", "'i01_01_9.bmp' is listed but not in"),
    ("one reference", "has 1 reference image(s); training splits by reference and needs at least 2"),
    ("images smaller than a crop", "training cuts 64 x 64 crops"),
])
def test_a_broken_data_set_is_refused_before_training(damage, says, tmp_path, rated_tree, refuse):
    tid = rated_tree(tmp_path / "tid")
    table = tid / "mos_with_names.txt"
    lines = table.read_text().splitlines()
    if damage == "a MOS that is text":
        lines[0] = "five " + lines[0].split()[1]
    elif damage == "a listed image that is missing":
        lines.append("4.0 i01_01_9.bmp")
    elif damage == "one reference":
        lines = [line for line in lines if line.split()[1].startswith("i01")]
    else:
        for path in (tid / "distorted_images").iterdir():
            Image.open(path).crop((0, 0, 40, 40)).save(path)
        for path in (tid / "reference_images").iterdir():
            Image.open(path).crop((0, 0, 40, 40)).save(path)
    table.write_text("\n".join(lines) + "\n")
    refuse([*TRAIN, *tid_options(tid), "--out", tmp_path / "m.pt"], says=says)


@pytest.mark.parametrize("meta, says", [
    ({"trained_on": "tid2013"}, "meta field 'trained_on' must hold 'data'"),
    ({"trained_on": {"data": "tid2013", "test_references": []}}, "meta field 'trained_on' must hold"),
    ({"trained_on": {"data": "tid2013", "test_references": [3]}}, "meta field 'trained_on' must hold"),
    ({"trained_on": {"data": "tid2013", "test_references": ["i99.bmp"]}}, "holds none of the 1 references"),
])
def test_evaluation_checks_what_a_checkpoint_says_it_held_out(meta, says, tmp_path, rated_tree, refuse):
    tid = rated_tree(tmp_path / "tid")
    weights = tmp_path / "model.pt"
    save_checkpoint(weights, wadiqam_fr(1), "rather.iqa.networks:wadiqam_fr", {"width": 1}, meta)
    refuse(["iqa", "evaluate", "--weights", weights, *tid_options(tid)], says=says)


MOS_CASES = {
    "a TID2013 MOS past 9": (["--mos", "12", "--mos-scale", "tid2013"], "--mos 12 is outside TID2013's range [0, 9]"),
    "a KADID DMOS below 1": (["--mos", "0.5", "--mos-scale", "kadid10k"], "outside KADID-10k's range [1, 5]"),
    "a LIVE DMOS far below 0": (["--mos", "-20", "--mos-scale", "live"], "outside LIVE release 2's range [-10, 120]"),
    "a CSIQ DMOS past 1": (["--mos", "1.5", "--mos-scale", "csiq"], "outside CSIQ's range [0, 1]"),
    "a unit score past 1": (["--mos", "1.01", "--mos-scale", "unit"], "outside unit's range [0, 1]"),
    "NaN on a scale": (["--mos", "nan", "--mos-scale", "tid2013"], "--mos nan is outside TID2013's range"),
    "a scale without --mos": (["--mos-scale", "tid2013"], "--mos-scale names the scale of --mos M"),
    "a scale nobody publishes": (["--mos", "3", "--mos-scale", "tid2008"],
                                 "--mos-scale 'tid2008': use one of tid2013, kadid10k, live, csiq, unit"),
}


@pytest.mark.parametrize("case", MOS_CASES)
def test_people_s_score_off_its_published_scale_is_refused(case, pair, tmp_path, refuse):
    options, says = MOS_CASES[case]
    refuse(["iqa", "explain", *pair, "--rather-than", "human", *options, "--out", tmp_path / "out"], says=says)


def test_mos_without_human_is_refused(pair, tmp_path, refuse):
    refuse(["iqa", "explain", *pair, "--rather-than", "0.5", "--mos", "0.4", "--out", tmp_path / "out"],
           says="--mos is people's score for --rather-than human")


@pytest.mark.parametrize("options, images, says", [
    (["--model", LPIPS, "--no-reference"], 1, "cannot run as model(x)"),
    (["--model", LPIPS], 1, "this is a full-reference model: give the reference image"),
    (["--model", NR, "--no-reference"], 2, "this model reads one image (--no-reference)"),
    (["--model", NR], 2, "cannot run as model(dist, ref)"),
    (["--no-reference"], 1, "--no-reference: '{default}' is a full-reference WaDIQaM"),
    (["--model-kwargs", '{"width": 2}'], 2, "--model-kwargs needs --model module:factory"),
    (["--model", LPIPS, "--model-kwargs", "[1]"], 2, "--model-kwargs must be a JSON object"),
    (["--model", LPIPS, "--model-kwargs", '{"width": 9}'], 2, "do not fit 'toy_quality:lpips_like'"),
    (["--model", LPIPS, "--score-range", "1", "0"], 2, "must be two finite numbers, low < high"),
    (["--model", LPIPS, "--score-range", "nan", "1"], 2, "must be two finite numbers, low < high"),
    (["--model", "toy_quality:nowhere"], 2, "'toy_quality' has no attribute 'nowhere'"),
])
def test_a_user_model_that_does_not_fit_the_question_is_refused_when_scoring(options, images, says, pair,
                                                                              quality_models, refuse):
    from rather.iqa.options import DEFAULT_CHECKPOINT

    factory = options[options.index("--model") + 1] if "--model" in options else None
    weights = ["--weights", quality_models.get(factory, quality_models[LPIPS])] if factory else []
    refuse(["iqa", "score", *pair[:images], *options, *weights], says=says.format(default=DEFAULT_CHECKPOINT))


@pytest.mark.parametrize("give, says", [("two", "must give one score per image"), ("nan", "NaN or Inf scores")])
def test_a_model_giving_no_single_finite_score_is_refused(give, says, pair, hostile_model, tmp_path, refuse):
    model = ["--model", "hostile_scores:scores", "--weights", hostile_model, "--model-kwargs", f'{{"give": "{give}"}}']
    refuse(["iqa", "score", *pair, *model], says=says)
    refuse(["iqa", "explain", *pair, *model, "--layer", "features", "--rather-than", "0.5", "--out", tmp_path / "o"],
           says=says)


@pytest.mark.parametrize("options, says", [
    (["--layer", "nope"], "layer 'nope' not found in LpipsLike"),
    ([], "--layer: name the layer of your model to explain"),
])
def test_explaining_a_user_model_needs_a_layer_it_has(options, says, pair, quality_models, tmp_path, refuse):
    refuse(["iqa", "explain", *pair, "--model", LPIPS, "--weights", quality_models[LPIPS], *options,
            "--rather-than", "0.1", "--out", tmp_path / "out"], says=says)


def test_a_distance_asked_about_a_score_far_off_its_declared_range_is_refused(pair, quality_models, tmp_path,
                                                                              refuse):
    refuse(["iqa", "explain", *pair, "--model", LPIPS, "--weights", quality_models[LPIPS], "--layer", "features",
            "--lower-better", "--score-range", "0", "0.5", "--rather-than", "1.2", "--out", tmp_path / "out"],
           says="--rather-than 1.2 is not a score the model can be asked about: its scale is [0, 0.5] (lower is "
                "better); give a finite score in [-0.5, 1]")
