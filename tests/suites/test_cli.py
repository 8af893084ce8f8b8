"""The ``rather`` command: outputs, summaries and one-line refusals."""
import argparse
import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from skimage import io

from rather.common import BadInput, load, save_checkpoint
from rather.common.networks import SmallCNN
from rather.suites.cli import build_parser, main

CLASSES = ["ant", "bee", "cicada"]


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    model = SmallCNN(num_classes=3, width=4)
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, "rather.common.networks:SmallCNN", {"num_classes": 3, "width": 4},
                    {"class_names": CLASSES, "preprocess": {"size": [32, 32], "channels": 3}})
    return path


@pytest.fixture
def picture(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "bug.png"
    io.imsave(path, rng.integers(0, 256, (40, 48, 3), dtype=np.uint8), check_contrast=False)
    return path


def test_explain_writes_summary_store_and_figure(tmp_path, checkpoint, picture, capsys):
    out = tmp_path / "out"
    status = main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                   "--rather-than", "cicada", "0", "--out", str(out), "--json"])
    assert status == 0
    summary = json.loads((out / "summary.json").read_text())
    assert json.loads(capsys.readouterr().out) == summary
    assert sorted(p.name for p in out.iterdir()) == ["explanations.h5", "figure.png", "summary.json"]
    questions = summary["images"][0]["questions"]
    assert [q["kind"] for q in questions] == ["why", "rather", "rather"]
    assert [q.get("q_name") for q in questions] == [None, "cicada", "ant"]
    assert questions[1]["title"] == f"Why {questions[1]['p_name']}, rather than cicada?"
    result = load(out / "explanations.h5")
    assert result.maps.shape == (1, 3, 32, 32) and result.class_names == tuple(CLASSES)
    assert summary["model_checksum"] == result.model_checksum and summary["layer"] == "features"


def test_explain_every_contrast_with_an_input_method(tmp_path, checkpoint, picture):
    status = main(["explain", "--weights", str(checkpoint), "--method", "gradient", "--image", str(picture),
                   str(picture), "--all", "--out", str(tmp_path / "out")])
    assert status == 0
    result = load(tmp_path / "out" / "explanations.h5")
    assert result.maps.shape == (2, 4, 32, 32) and result.layer == "input"
    assert result.q[:, 1:].tolist() == [[0, 1, 2]] * 2


@pytest.mark.parametrize("arguments, message", [
    (["--layer", "features", "--image", "missing.png"], "rather explain: error: image 'missing.png' does not exist"),
    (["--layer", "featurez", "--image", "{picture}"], "layer 'featurez' not found in SmallCNN; close matches: features"),
    (["--layer", "features", "--image", "{picture}", "--rather-than", "wasp"],
     "--rather-than 'wasp' is neither a class index nor a class name; known names include ant, bee, cicada"),
    (["--layer", "features", "--image", "{picture}", "--rather-than", "7"], "Q=7 is out of range"),
    (["--layer", "features", "--image", "{picture}", "--std", "0", "1", "1"], "std must be positive; got [0.0, 1.0, 1.0]"),
])
def test_bad_input_is_one_line_with_status_2_and_no_output(arguments, message, tmp_path, checkpoint, picture, capsys):
    out = tmp_path / "out"
    arguments = [a.format(picture=picture) for a in arguments]
    status = main(["explain", "--weights", str(checkpoint), *arguments, "--out", str(out)])
    error = capsys.readouterr().err
    assert status == 2
    assert message in error and error.count("\n") == 1
    assert not out.exists()


def test_the_installed_command_refuses_without_traceback(tmp_path, picture):
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled.pt")
    completed = subprocess.run(
        [sys.executable, "-m", "rather.suites.cli", "explain", "--model", "rather.common.networks:SmallCNN",
         "--weights", str(tmp_path / "pickled.pt"), "--layer", "features", "--image", str(picture),
         "--out", str(tmp_path / "out")],
        capture_output=True, text=True,
    )
    assert completed.returncode == 2
    assert completed.stderr.startswith("rather explain: error: ") and "needs arbitrary code" in completed.stderr
    assert "Traceback" not in completed.stderr and completed.stderr.count("\n") == 1


def test_usage_errors_are_one_line_with_status_2(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["explain", "--out", "x"])
    assert stop.value.code == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the following arguments are required" in error


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--help"])
    assert stop.value.code == 0
    text = capsys.readouterr().out
    assert all(command in text for command in ("explain", "demo", "bench"))


@pytest.mark.parametrize("arguments", [["seismic", "--debug", "info", "missing.sgy"],
                                       ["seismic", "info", "missing.sgy", "--debug"]])
def test_debug_shows_the_traceback_before_or_after_a_sub_command(arguments, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BadInput, match="missing.sgy"):
        main(arguments)
    assert main([a for a in arguments if a != "--debug"]) == 2


def leaf_parsers(parser, name="rather"):
    """(name, parser) of every command that takes no further sub-command."""
    subs = [action for action in parser._actions if isinstance(action, argparse._SubParsersAction)]
    if not subs:
        return [(name, parser)]
    return [leaf for action in subs for sub_name, sub in action.choices.items()
            for leaf in leaf_parsers(sub, f"{name} {sub_name}")]


def test_every_command_has_help_with_an_example_of_itself():
    leaves = leaf_parsers(build_parser())
    assert len(leaves) >= 17
    for name, parser in leaves:
        text = parser.format_help()
        assert f"Example: {name}" in text, name
        assert "--debug" in text, name
