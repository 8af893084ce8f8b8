"""Any quality model from the command line: a small LPIPS-like distance model(dist, ref) and a no-reference model."""
import importlib
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from skimage import io

from rather.common import load
from rather.iqa.distortions import distort
from rather.iqa.synthetic import photo
from rather.suites.cli import main

LPIPS = "toy_quality:lpips_like"
NR = "toy_quality:tiny_nr"


@pytest.fixture
def pair(tmp_path):
    reference = photo("chelsea")[20:84, 100:180]  # 64 x 80
    paths = tmp_path / "distorted.png", tmp_path / "reference.png"
    for path, image in zip(paths, (distort(reference, "white_noise", 3, seed=1), reference)):
        io.imsave(path, np.rint(image * 255).astype(np.uint8), check_contrast=False)
    return paths


def stacked(paths):
    images = [torch.from_numpy(io.imread(path).astype(np.float32) / 255).permute(2, 0, 1)[None] for path in paths]
    return images


def user_model(quality_models, name):
    model = getattr(importlib.import_module("toy_quality"), name.split(":")[1])()
    model.load_state_dict(torch.load(quality_models[name], weights_only=True))
    return model.eval()


def test_a_full_reference_distance_is_scored_as_model_dist_ref(pair, quality_models, capsys):
    capsys.readouterr()
    assert main(["iqa", "score", *map(str, pair), "--model", LPIPS, "--weights", str(quality_models[LPIPS]),
                 "--lower-better", "--json"]) == 0
    dist, ref = stacked(pair)
    with torch.no_grad():
        expected = float(user_model(quality_models, LPIPS)(dist, ref).reshape(-1)[0])
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(expected, rel=1e-5)


def test_image_mode_equals_a_direct_autograd_computation(pair, quality_models, tmp_path, capsys):
    out = tmp_path / "explained"
    assert main(["iqa", "explain", *map(str, pair), "--model", LPIPS, "--weights", str(quality_models[LPIPS]),
                 "--layer", "features", "--lower-better", "--mode", "image", "--rather-than", "0.0", "--out", str(out),
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["higher_is_better"] is False and summary["full_reference"] is True
    assert summary["questions"][1]["reads"] == "s is worse than 0 (lower is better)"
    model = user_model(quality_models, LPIPS)
    seen = []
    handle = model.features.register_forward_hook(lambda module, inputs, output: seen.append(output))
    score = model(*stacked(pair)).reshape(-1)
    handle.remove()
    activation = seen[0]  # the distorted image's: the first call of the shared trunk
    for question, loss in enumerate([score.sum(), (score - 0.0).pow(2).sum()]):
        gradient, = torch.autograd.grad(loss, activation, retain_graph=True)
        expected = F.relu((gradient.mean(dim=(2, 3), keepdim=True) * activation).sum(1))[0].detach()
        raw = load(out / "explanations.h5").raw[0, question]
        assert torch.allclose(raw, expected, rtol=1e-4, atol=1e-7 * float(expected.abs().max()))


def test_patchwise_cuts_window_pairs_for_any_model(pair, quality_models, tmp_path, capsys):
    out = tmp_path / "explained"
    assert main(["iqa", "explain", *map(str, pair), "--model", LPIPS, "--weights", str(quality_models[LPIPS]),
                 "--layer", "features", "--lower-better", "--stride", "16", "--rather-than", "0.01",
                 "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == "patchwise" and summary["windows"]["count"] == 3 * 4
    model = user_model(quality_models, LPIPS)
    dist, ref = stacked(pair)
    with torch.no_grad():  # the last window: rows 32..63, columns 48..79 of both images
        last = float(model(dist[..., 32:, 48:], ref[..., 32:, 48:]).reshape(-1)[0])
    assert summary["windows"]["score_max"] >= last >= summary["windows"]["score_min"]
    assert load(out / "explanations.h5").maps.shape == (1, 2, 64, 80)


def test_a_no_reference_model_reads_one_image(pair, quality_models, tmp_path, capsys):
    weights = str(quality_models[NR])
    capsys.readouterr()
    assert main(["iqa", "score", str(pair[0]), "--model", NR, "--weights", weights, "--no-reference", "--json"]) == 0
    with torch.no_grad():
        expected = float(user_model(quality_models, NR)(stacked(pair)[0])[0])
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(expected, rel=1e-5)
    out = tmp_path / "nr"
    assert main(["iqa", "explain", str(pair[0]), "--model", NR, "--weights", weights, "--no-reference",
                 "--layer", "features", "--rather-than", "0.9", "--stride", "16", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["reference"] is None and summary["full_reference"] is False
    assert summary["questions"][1]["reads"] == "s is worse than 0.9 (higher is better)"


def test_evaluate_a_user_model_on_a_data_set(quality_models, tmp_path, rated_tree, capsys):
    tid = rated_tree(tmp_path / "tid")
    capsys.readouterr()
    assert main(["iqa", "evaluate", "--model", LPIPS, "--weights", str(quality_models[LPIPS]), "--lower-better",
                 "--data", "tid2013", str(tid), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["count"] == 18 and report["data"].endswith("lower-is-better scores negated")
    assert report["split"] == "cross-data-set: trained on data rather does not know, tested on all of TID2013"
