"""``rather iqa``: score, explain, evaluate from the command line, with the committed default model."""
import json
import re
import subprocess
import sys

import h5py
import numpy as np
import pytest
import torch
from skimage import io

from rather.common import load, load_model
from rather.iqa import quality_model
from rather.iqa.contrasts import explain_patchwise
from rather.iqa.distortions import distort
from rather.iqa.scorers import read_stack
from rather.iqa.synthetic import photo
from rather.suites.cli import OneLineParser, main

from help_text import defaults_said


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    folder = tmp_path_factory.mktemp("iqa")
    reference = photo("chelsea")[20:84, 100:180]  # 64 x 80
    distorted = distort(reference, "white_noise", 3, seed=1)
    for name, image in (("reference.png", reference), ("distorted.png", distorted)):
        io.imsave(folder / name, np.rint(image * 255).astype(np.uint8), check_contrast=False)
    io.imsave(folder / "narrow.png", np.zeros((64, 70, 3), dtype=np.uint8), check_contrast=False)
    io.imsave(folder / "tiny.png", np.zeros((20, 20, 3), dtype=np.uint8), check_contrast=False)
    io.imsave(folder / "tiny_ref.png", np.zeros((20, 20, 3), dtype=np.uint8), check_contrast=False)
    return folder


def test_score_prints_the_models_score(images, capsys):
    capsys.readouterr()
    assert main(["iqa", "score", str(images / "distorted.png"), str(images / "reference.png"), "--json"]) == 0
    score = json.loads(capsys.readouterr().out)["score"]
    model, _ = load_model(weights=quality_model.DEFAULT_CHECKPOINT)
    with torch.no_grad():
        expected = float(model(read_stack(images / "distorted.png", images / "reference.png")[0])[0])
    assert score == pytest.approx(expected, abs=1e-6)
    assert main(["iqa", "score", str(images / "reference.png"), str(images / "reference.png"), "--json"]) == 0
    pristine = json.loads(capsys.readouterr().out)["score"]
    assert pristine > score  # noise costs quality


def test_explain_patchwise_writes_every_output(images, tmp_path, capsys):
    out = tmp_path / "explained"
    assert main(["iqa", "explain", str(images / "distorted.png"), str(images / "reference.png"),
                 "--rather-than", "0.75", "0.9", "--stride", "8", "--out", str(out), "--json"]) == 0
    printed = capsys.readouterr()
    summary = json.loads(printed.out)
    assert printed.err == ""  # --json and stderr not a terminal: no progress
    assert sorted(p.name for p in out.iterdir()) == ["explanations.h5", "figure.png", "sides.npy", "summary.json"]
    sides = np.load(out / "sides.npy")
    assert sides.shape == (2, 64, 80) and np.abs(sides).max() == 1
    for record in summary["questions"][1:]:
        assert set(record["sides"]) == {"above_share", "below_share", "windows_above", "windows_below", "windows",
                                       "windows_above_without_evidence", "windows_below_without_evidence"}
        assert record["sides"]["windows"] == 35
    assert json.loads((out / "summary.json").read_text()) == summary
    assert summary["mode"] == "patchwise" and summary["stride"] == 8 and summary["call"] == 0
    assert [q["kind"] for q in summary["questions"]] == ["why", "score_rather", "score_rather"]
    assert [q.get("q") for q in summary["questions"]] == [None, 0.75, 0.9]
    assert summary["windows"]["count"] == 5 * 7
    result = load(out / "explanations.h5")
    assert result.maps.shape == (1, 3, 64, 80) and result.scores[0] == pytest.approx(summary["score"])
    with h5py.File(out / "explanations.h5", "r") as store:
        assert store.attrs["layer"] == "features" and store.attrs["task"] == "score"


def test_explain_rather_than_people_in_image_mode(images, tmp_path, capsys):
    out = tmp_path / "human"
    assert main(["iqa", "explain", str(images / "distorted.png"), str(images / "reference.png"),
                 "--rather-than", "human", "--mos", "0.4", "--mode", "image", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    human = summary["questions"][1]
    assert human["contrast"] == "human" and human["q"] == 0.4 and "people's score" in human["title"]
    assert summary["mode"] == "image" and "stride" not in summary
    assert load(out / "explanations.h5").maps.shape == (1, 2, 64, 80)


@pytest.mark.parametrize("arguments, message", [
    (["score", "{d}/distorted.png", "{d}/narrow.png"], "needs two images of the same size"),
    (["score", "{d}/tiny.png", "{d}/tiny_ref.png"], "at least 32 x 32"),
    (["score", "{d}/missing.png", "{d}/reference.png"], "missing.png"),
    (["explain", "{d}/distorted.png", "{d}/reference.png", "--rather-than", "human", "--out", "{d}/x"], "--mos"),
    (["explain", "{d}/distorted.png", "{d}/reference.png", "--rather-than", "good", "--out", "{d}/x"], "'good'"),
    (["explain", "{d}/distorted.png", "{d}/reference.png", "--rather-than", "0.5", "--stride", "0",
      "--out", "{d}/x"], "--stride must be a positive"),
    (["explain", "{d}/distorted.png", "{d}/reference.png", "--rather-than", "0.5", "--stride", "40",
      "--out", "{d}/x"], "at most the window's 32; got 40"),
    (["explain", "{d}/distorted.png", "{d}/reference.png", "--rather-than", "0.5", "nan", "--out", "{d}/x"],
     "--rather-than nan is not a score the model can be asked about"),
    (["evaluate", "--data", "tid2008", "{d}"], "--data 'tid2008'"),
    (["evaluate", "--data", "live", "{d}"], "dmos.mat"),
    (["train", "--data", "tid2013", "{d}"], "--data needs --out CKPT"),
])
def test_bad_input_is_one_line_with_status_2(arguments, message, images, capsys):
    capsys.readouterr()
    assert main(["iqa", *[a.format(d=images) for a in arguments]]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (images / "x").exists()


def test_evaluate_on_a_tid2013_tree(images, tmp_path, capsys):
    reference = photo("rocket")[:64, :96]
    (tmp_path / "reference_images").mkdir()
    (tmp_path / "distorted_images").mkdir()
    io.imsave(tmp_path / "reference_images" / "I01.BMP", np.rint(reference * 255).astype(np.uint8))
    lines = []
    for kind_number, kind in ((1, "white_noise"), (8, "gaussian_blur")):
        for level in range(1, 6):
            name = f"i01_{kind_number:02d}_{level}.bmp"
            io.imsave(tmp_path / "distorted_images" / name,
                      np.rint(distort(reference, kind, level, seed=level) * 255).astype(np.uint8))
            lines.append(f"{7 - level:.4f} {name}")
    (tmp_path / "mos_with_names.txt").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["iqa", "evaluate", "--data", "tid2013", str(tmp_path), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {"srcc", "krcc", "plcc", "rmse", "per_distortion"} <= set(report) and "localisation" not in report
    assert set(report["per_distortion"]) == {"additive_gaussian_noise", "gaussian_blur"}
    assert report["per_distortion"]["gaussian_blur"]["count"] == 5
    assert -1 <= report["srcc"] <= 1 and report["rmse"] >= 0
    assert "4-parameter logistic" in report["fit"]
    assert main(["iqa", "evaluate", "--data", "tid2013", str(tmp_path)]) == 0
    assert "after a 4-parameter logistic fit" in capsys.readouterr().out


@pytest.mark.slow
def test_default_model_meets_the_target_on_held_out_references(capsys):
    capsys.readouterr()
    assert main(["iqa", "evaluate", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["srcc"] >= 0.9 and len(report["per_distortion"]) == 9


@pytest.mark.slow
def test_training_reproduces_the_committed_checkpoint(tmp_path):
    """The committed checkpoint is what `rather iqa train` writes, byte for byte (weights, fields and checksum)."""
    assert main(["iqa", "train", "--out", str(tmp_path / "model.pt")]) == 0
    assert (tmp_path / "model.pt").read_bytes() == quality_model.DEFAULT_CHECKPOINT.read_bytes()


def test_no_reference_models_read_the_distorted_image_only(images, tmp_path, capsys):
    from rather.common import save_checkpoint
    from rather.iqa.networks import wadiqam_nr

    torch.manual_seed(0)
    model = wadiqam_nr(4).eval()
    save_checkpoint(tmp_path / "nr.pt", model, "rather.iqa.networks:wadiqam_nr", {"width": 4}, {})
    capsys.readouterr()
    assert main(["iqa", "score", str(images / "distorted.png"), "--json", "--weights", str(tmp_path / "nr.pt")]) == 0
    distorted = read_stack(images / "distorted.png", None)[0]
    with torch.no_grad():
        expected = float(model(distorted)[0])
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(expected, abs=1e-6)
    assert main(["iqa", "score", str(images / "distorted.png"), str(images / "reference.png"),
                 "--weights", str(tmp_path / "nr.pt")]) == 2
    assert "this model reads one image (--no-reference)" in capsys.readouterr().err


def test_the_command_module_imports_nothing_heavy():
    """``rather iqa ... --help`` builds its parser without torch, numpy or matplotlib (they load inside the runs)."""
    probe = ("import argparse, sys; from rather.suites import iqa_cmd; iqa_cmd.add_arguments(argparse.ArgumentParser()); "
             "print(sorted(m for m in ('torch', 'numpy', 'matplotlib', 'scipy', 'skimage') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_help_text_leaves_defaults_to_the_formatter():
    """Each option's help says nothing of its default: the command's formatter adds it, once."""
    from rather.suites import iqa_cmd

    parser = OneLineParser()
    iqa_cmd.add_arguments(parser)
    commands = parser.commands.choices
    assert set(commands) == {"train", "evaluate", "score", "explain"}
    for name, command in commands.items():
        for entry in re.split(r"\n(?=  -)", command.format_help()):  # an option's help: "default" only as added
            entry = " ".join(entry.split())
            assert defaults_said(entry) == entry.count("(default: "), (name, entry)


def test_explain_shows_progress_on_stderr_when_asked(images, tmp_path, capsys):
    out = tmp_path / "explained"
    capsys.readouterr()
    assert main(["iqa", "explain", str(images / "distorted.png"), str(images / "reference.png"), "--rather-than",
                 "0.75", "--stride", "8", "--out", str(out), "--json", "--progress"]) == 0
    printed = capsys.readouterr()
    assert json.loads(printed.out)["windows"]["count"] == 35  # stdout: the summary alone
    assert "patchwise: 100%" in printed.err and "35/35" in printed.err and "window/s" in printed.err
    assert "explained in" in printed.err and "(patchwise)" in printed.err


def test_evaluate_shows_a_bar_over_the_images_when_asked(tmp_path, capsys):
    reference = photo("rocket")[:48, :64]
    (tmp_path / "reference_images").mkdir()
    (tmp_path / "distorted_images").mkdir()
    io.imsave(tmp_path / "reference_images" / "I01.BMP", np.rint(reference * 255).astype(np.uint8))
    lines = []
    for level in range(1, 4):
        name = f"i01_08_{level}.bmp"
        io.imsave(tmp_path / "distorted_images" / name,
                  np.rint(distort(reference, "gaussian_blur", level, seed=level) * 255).astype(np.uint8))
        lines.append(f"{7 - level:.4f} {name}")
    (tmp_path / "mos_with_names.txt").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["iqa", "evaluate", "--data", "tid2013", str(tmp_path), "--progress"]) == 0
    printed = capsys.readouterr()
    assert "scoring: 100%" in printed.err and "3/3" in printed.err
    assert printed.out.startswith("TID2013") and "scoring" not in printed.out
    assert "split: cross-data-set: trained on the synthetic set, tested on all of TID2013" in printed.out


@pytest.mark.slow
def test_train_shows_epochs_on_stderr_and_the_result_on_stdout(tmp_path, capsys):
    capsys.readouterr()
    assert main(["iqa", "train", "--epochs", "2", "--crops", "1", "--width", "2", "--out", str(tmp_path / "m.pt"),
                 "--progress"]) == 0
    printed = capsys.readouterr()
    assert printed.out.startswith("final L1 loss ") and printed.out.count("\n") == 1
    assert "training: 100%" in printed.err and "2/2" in printed.err
    assert "epoch/s" in printed.err or "s/epoch" in printed.err  # the rate, whichever way round tqdm shows it
    assert "epoch 1/2: L1 loss" in printed.err and "epoch 2/2: L1 loss" in printed.err


def test_fast_mode_is_the_patchwise_question_on_every_third_column_of_windows(images, tmp_path, capsys):
    out = tmp_path / "fast"
    assert main(["iqa", "explain", str(images / "distorted.png"), str(images / "reference.png"), "--rather-than",
                 "0.75", "--mode", "fast", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["mode"] == "fast" and summary["stride"] == [4, 12]
    assert summary["windows"]["count"] == 9 * 5  # 64 x 80 pixels: rows 0, 4, ..., 32 by columns 0, 12, 24, 36, 48
    assert any(note.startswith("mode fast: the patchwise question at stride 4 down, 12 across instead of stride 4 "
                               "(a third of the windows") for note in summary["notes"])
    model, _ = load_model(weights=quality_model.DEFAULT_CHECKPOINT)
    x = read_stack(images / "distorted.png", images / "reference.png")[0]
    expected = explain_patchwise(model, x, [0.75], stride=(4, 12))[0]
    torch.testing.assert_close(load(out / "explanations.h5").maps, expected.maps)
