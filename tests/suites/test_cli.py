"""The ``rather`` command: outputs, summaries and one-line refusals."""
import json
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
from skimage import io

from rather.common import BadInput, load, save_checkpoint
from rather.common.networks import SmallCNN
from rather.suites.cli import build_parser, main

from help_text import defaults_said

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
    assert sorted(p.name for p in out.iterdir()) == ["explanations.h5", "figure.png", "figures", "summary.json"]
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
    assert main(["explain", "--out", "x"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "the following arguments are required" in error


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
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
    if parser.commands is None:
        return [(name, parser)]
    return [leaf for sub_name, sub in parser.commands.choices.items()
            for leaf in leaf_parsers(sub, f"{name} {sub_name}")]


def test_every_command_has_help_with_an_example_of_itself():
    leaves = leaf_parsers(build_parser())
    assert len(leaves) >= 17
    for name, parser in leaves:
        text = parser.format_help()
        assert f"Example: {name}" in text, name
        assert "--debug" in text, name


def help_entries(text: str) -> list[str]:
    """The help of each option: the text from one option's line to the next."""
    return [" ".join(entry.split()) for entry in re.split(r"\n(?=  -)", text) if entry.startswith("  -")]


def test_help_states_each_default_once():
    for name, parser in leaf_parsers(build_parser()):
        text = parser.format_help()
        assert "(default: None)" not in text and "(default: False)" not in text, name
        for entry in help_entries(text):  # "(default: X)" appended only where the help says nothing of it
            assert "(default: " not in entry or defaults_said(entry) == 1, f"{name}: {entry}"


@pytest.mark.parametrize("argv, shown", [
    (["bench"], ["(default: 4)", "(default: [1, 16])"]),
    (["demo"], ["(default: each suite's own, which the committed models were not trained on)", "(default: cpu)"]),
    (["recognition", "audit"], ["(default: 600)", "(default: test)", "(default: 3)", "(default: cpu)"]),
    (["recognition", "train"], ["(default: 0)", "(default: 10)"]),
    (["seismic", "explain"], ["trunk (default: 10)", "(default: 189)"]),
    (["explain"], ["(default: gradcam)", "(default: the runner-up)"]),
])
def test_help_shows_the_defaults_once(argv, shown, capsys):
    assert main([*argv, "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for fragment in shown:
        assert text.count(fragment) == 1, fragment


HELP_EVERYWHERE = """
import sys
from rather.suites.cli import build_parser

def every_help(parser):
    parser.format_help()
    if parser.commands is not None:
        for sub in parser.commands.choices.values():
            every_help(sub)

every_help(build_parser())
heavy = ("torch", "matplotlib", "dask", "segyio", "h5py", "scipy", "skimage")
print(" ".join(sorted(name for name in sys.modules if name.split(".")[0] in heavy and "." not in name)))
"""


@pytest.mark.slow
def test_building_every_help_imports_no_heavy_library():
    """`rather --help` and every `rather ... --help` start at once: no torch, matplotlib, Dask or segyio."""
    completed = subprocess.run([sys.executable, "-c", HELP_EVERYWHERE], capture_output=True, text=True, check=True)
    assert completed.stdout.split() == []


def test_a_rerun_replaces_the_output_folder_as_a_whole(tmp_path, checkpoint, picture, capsys):
    """The earlier run's files go, and a user's file put in the output folder goes with them."""
    out = tmp_path / "out"
    argv = ["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture), "--out", str(out)]
    assert main(argv) == 0
    (out / "figure_of_an_earlier_version.png").write_bytes(b"stale")
    assert main([*argv, "--method", "gradient"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["explanations.h5", "figure.png", "figures", "summary.json"]
    assert json.loads((out / "summary.json").read_text())["method"] == "gradient"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bug.png", "model.pt", "out"]


def test_an_existing_empty_folder_is_a_fine_out(tmp_path, checkpoint, picture):
    (tmp_path / "out").mkdir()
    assert main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                 "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["explanations.h5", "figure.png", "figures", "summary.json"]


def test_progress_goes_to_stderr_and_the_results_stay_on_stdout(tmp_path, checkpoint, picture, capsys):
    assert main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                 "--out", str(tmp_path / "out"), "--json", "--progress"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["command"] == "explain"
    assert "explaining 1 image(s) with gradcam at layer features" in captured.err
    assert main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                 "--out", str(tmp_path / "out")]) == 0
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.splitlines()[-1] == (
        f"wrote {tmp_path / 'out'}/summary.json, explanations.h5, figure.png (contact sheet), figures/ (one per image)")
