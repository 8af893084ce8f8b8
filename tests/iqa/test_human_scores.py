"""Training and evaluation on people's scores, split by reference; people's scores mapped by --mos-scale."""
import json
from types import SimpleNamespace

import pytest
import torch

import rather.iqa.explanations as explanations
from rather.common import BadInput, load_model
from rather.iqa.datasets import SCALES, load_rated_set
from rather.iqa.explanations import on_both_scales, on_published_scale
from rather.iqa.human_scores import held_out, split_references
from rather.iqa.options import Contrast, ExplainOptions
from rather.suites.cli import main


def test_the_split_is_by_reference_seeded_and_disjoint(tmp_path, rated_tree):
    rated = load_rated_set(rated_tree(tmp_path / "tid"), "tid2013")
    training, test, names = split_references(rated, seed=3)
    assert len(names) == 1 and len(test.ratings) == 6 and len(training.ratings) == 12
    trained_on = {r.reference.name.lower() for r in training.ratings}
    assert trained_on.isdisjoint(names) and {r.reference.name.lower() for r in test.ratings} == set(names)
    assert split_references(rated, seed=3)[2] == names  # same seed, same split
    assert {tuple(split_references(rated, seed)[2]) for seed in range(12)} == {("i01.bmp",), ("i02.bmp",), ("i03.bmp",)}
    one = held_out(rated, ["i01.bmp"], keep=True)
    with pytest.raises(BadInput, match="has 1 reference image"):
        split_references(one, seed=0)


def test_scales_map_published_scores_as_the_loaders_do():
    assert SCALES["tid2013"].unit(3.86486) == pytest.approx(3.86486 / 9)
    assert SCALES["kadid10k"].unit(4.6) == pytest.approx(0.9)
    assert SCALES["live"].unit(30.0) == pytest.approx(0.7) and SCALES["live"].unit(111.8) == 0.0
    assert SCALES["csiq"].unit(0.062) == pytest.approx(0.938) and SCALES["unit"].unit(0.25) == 0.25


def test_train_on_tid2013_then_evaluate_held_out_and_across_data_sets(tmp_path, rated_tree, capsys):
    tid = rated_tree(tmp_path / "tid")
    kadid = rated_tree(tmp_path / "kadid", "kadid10k")
    weights = tmp_path / "tid.pt"
    assert main(["iqa", "train", "--data", "tid2013", str(tid), "--out", str(weights), "--epochs", "1",
                 "--crops", "1", "--width", "1", "--seed", "3"]) == 0
    assert capsys.readouterr().out.startswith("final L1 loss ")
    model, meta = load_model(weights=weights)
    test = split_references(load_rated_set(tid, "tid2013"), seed=3)[2]
    assert meta["trained_on"] == {"data": "tid2013", "split_seed": 3, "test_references": test}
    assert meta["labels"].startswith("TID2013 scores mapped to [0, 1]: MOS 0..9")

    assert main(["iqa", "evaluate", "--weights", str(weights), "--data", "tid2013", str(tid), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)
    assert same["split"] == "held-out references: the 1 the model did not train on"
    assert same["count"] == 6 and {"srcc", "krcc", "plcc", "rmse", "per_distortion"} <= set(same)
    assert main(["iqa", "evaluate", "--weights", str(weights), "--data", "kadid10k", str(kadid), "--json"]) == 0
    cross = json.loads(capsys.readouterr().out)
    assert cross["split"] == "cross-data-set: trained on tid2013, tested on all of KADID-10k" and cross["count"] == 18
    assert main(["iqa", "train", "--data", "tid2013", str(tid), "--out", str(tmp_path / "again.pt"), "--epochs",
                 "1", "--crops", "1", "--width", "1", "--seed", "3"]) == 0
    again, _ = load_model(weights=tmp_path / "again.pt")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


def test_mos_scale_maps_people_s_score_onto_the_model_s_scale(tmp_path, rated_tree, capsys):
    tid = rated_tree(tmp_path / "tid")
    pair = [str(tid / "distorted_images" / "i01_01_5.bmp"), str(tid / "reference_images" / "I01.BMP")]
    assert main(["iqa", "explain", *pair, "--rather-than", "human", "0.5", "--mos", "3.8649", "--mos-scale",
                 "tid2013", "--mode", "image", "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    human = summary["questions"][1]
    assert human["q"] == pytest.approx(3.8649 / 9) and human["mos"] == 3.8649 and human["mos_scale"] == "tid2013"
    assert human["contrast"] == "human"
    s = summary["score"]
    assert human["score_on_mos_scale"] == pytest.approx(9 * s)  # the default model's scale is [0, 1], higher better
    assert human["on_both_scales"] == f"{3.8649 / 9:.3g} on the model's scale (MOS 3.86 on TID2013's 0-9); " \
                                      f"s {s:.3g} (MOS {9 * s:.3g})"


def test_the_figure_says_both_scales_where_a_scale_was_named(tmp_path, rated_tree, monkeypatch):
    """Under the question: whether s is better than q, then q and s on the model's scale and on the published one."""
    drawn = []
    monkeypatch.setattr(explanations, "plot_pair", lambda *args, remarks, **kwargs: drawn.append(remarks))
    tid = rated_tree(tmp_path / "tid")
    pair = [tid / "distorted_images" / "i01_01_5.bmp", tid / "reference_images" / "I01.BMP"]
    contrasts = [Contrast(0.5), Contrast(3.8649, people=True, scale="tid2013")]
    summary, _ = explanations.explain_pair(*pair, contrasts, tmp_path / "out", ExplainOptions(mode="image"))
    plain, human = summary["questions"][1:]
    assert "on_both_scales" not in plain and "score_on_mos_scale" not in plain
    assert drawn == [["", plain["reads"], f"{human['reads']}\n{human['on_both_scales']}"]]


@pytest.mark.parametrize("name", sorted(SCALES))
def test_a_published_score_goes_to_the_unit_scale_and_back(name):
    scale = SCALES[name]
    for raw in (scale.low, 0.3 * scale.low + 0.7 * scale.high, scale.high):
        assert scale.published(scale.unit(raw)) == pytest.approx(raw)
    assert scale.quoted(scale.high).startswith(f"{scale.called} {scale.high:.3g} on {scale.name}'s ")


def test_s_on_the_published_scale_follows_a_lower_is_better_model():
    """A distance in [0, 2] (lower is better) asked about a LIVE DMOS (lower is better): 0 is DMOS 0, 2 is DMOS 100."""
    distance = SimpleNamespace(score_range=(0.0, 2.0), lower_better=True)
    assert on_published_scale(0.0, "live", distance) == 0 and on_published_scale(2.0, "live", distance) == 100
    assert on_published_scale(0.5, "tid2013", distance) == pytest.approx(6.75)  # a quarter of the way down from 9
    assert on_both_scales(0.5, 1.0, Contrast(50.0, people=True, scale="live"), distance) == \
        "1 on the model's scale (DMOS 50 on LIVE release 2's 0-100); s 0.5 (DMOS 25)"
