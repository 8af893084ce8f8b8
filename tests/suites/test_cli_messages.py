"""What the ``rather`` command prints around a run: one error line, library warnings as notes, memory."""
import subprocess
import sys
import warnings

import numpy as np
import pytest
import torch

from rather.common import BadInput, save_checkpoint
from rather.common.networks import SmallCNN
from rather.suites import cli, data_cmd
from rather.suites.cli import main


def command_that(monkeypatch, *actions):
    """Make ``rather data list`` run ``actions`` in turn (warn, raise, ...) instead of its own work."""

    def run(args):
        for action in actions:
            action()
        print("done")
        return 0

    monkeypatch.setattr(data_cmd, "run", run)


def warn(text, category=UserWarning):
    return lambda: warnings.warn(text, category)


def fail(error):
    def action():
        raise error
    return action


def test_a_successful_run_prints_each_distinct_warning_once_as_a_note(monkeypatch, capsys):
    command_that(monkeypatch, warn("the scale is odd\nsecond line of advice"), warn("the scale is odd\nagain"),
                 warn("a future change", FutureWarning), warn("old API", DeprecationWarning))
    assert main(["data", "list"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "done\n"
    assert captured.err == "rather data: note: the scale is odd\nrather data: note: a future change\n"


def test_a_second_run_in_the_same_process_shows_its_notes_again(monkeypatch, capsys):
    command_that(monkeypatch, warn("the scale is odd"))
    for _ in range(2):
        assert main(["data", "list"]) == 0
        assert capsys.readouterr().err == "rather data: note: the scale is odd\n"


def test_a_refusal_after_warnings_is_the_error_line_alone(monkeypatch, capsys):
    command_that(monkeypatch, warn("libpng says hello\nand more"), fail(BadInput("the file 'x' is odd\n  twice")))
    assert main(["data", "list"]) == 2
    assert capsys.readouterr().err == "rather data: error: the file 'x' is odd twice\n"


@pytest.mark.parametrize("error, line", [
    (MemoryError(), "rather data: error: not enough memory"),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
                  "tried to allocate 120000000000 bytes. Error code 12 (Cannot allocate memory)"),
     "rather data: error: not enough memory: an allocation of 120.0 GB failed ("),
])
def test_a_failed_allocation_is_one_line_with_status_2(monkeypatch, capsys, error, line):
    command_that(monkeypatch, warn("noise"), fail(error))
    assert main(["data", "list"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(line) and err.count("\n") == 1
    assert err.rstrip().endswith("ask for less (a smaller size, fewer lines, samples or images) or free memory")


def test_our_own_bug_is_one_line_with_status_1_and_debug_shows_it(monkeypatch, capsys):
    command_that(monkeypatch, warn("noise"), fail(ZeroDivisionError("division by zero\nin detail")))
    assert main(["data", "list"]) == 1
    assert capsys.readouterr().err == "rather data: failed: ZeroDivisionError: division by zero (rerun with --debug)\n"
    with pytest.warns(UserWarning, match="noise"), pytest.raises(ZeroDivisionError):
        main(["data", "list", "--debug"])


@pytest.mark.slow
def test_warnings_are_held_in_a_real_process_too(tmp_path):
    script = tmp_path / "run.py"
    script.write_text(
        "import sys, warnings\n"
        "from rather.suites import cli, data_cmd\n"
        "def run(args):\n"
        "    warnings.warn('the scale is odd\\nsecond line')\n"
        "    warnings.warn('the scale is odd')\n"
        "    return 0\n"
        "data_cmd.run = run\n"
        "sys.exit(cli.main(sys.argv[1:]))\n"
    )
    completed = subprocess.run([sys.executable, str(script), "data", "list"], capture_output=True, text=True)
    assert completed.returncode == 0 and completed.stderr == "rather data: note: the scale is odd\n"


@pytest.fixture
def checkpoint(tmp_path):
    torch.manual_seed(0)
    path = tmp_path / "model.pt"
    save_checkpoint(path, SmallCNN(num_classes=3, width=4), "rather.common.networks:SmallCNN",
                    {"num_classes": 3, "width": 4}, {"preprocess": {"channels": 3}})
    return path


@pytest.fixture
def picture(tmp_path):
    path = tmp_path / "picture.npy"
    np.save(path, np.zeros((3, 24, 24), dtype=np.float32))
    return path


def test_an_impossible_resize_is_refused_before_allocating(tmp_path, checkpoint, picture, capsys):
    out = tmp_path / "out"
    status = main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                   "--size", "1000000", "1000000", "--out", str(out)])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("rather explain: error: resizing to --size 1000000 1000000 needs 24.0 TB of memory but ")
    assert err.endswith("; give a smaller --size\n") and not out.exists()


def test_a_model_that_runs_out_of_memory_is_one_line(tmp_path, checkpoint, picture, capsys, monkeypatch):
    def allocate(self, x):
        raise RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 6400000000 bytes.")

    monkeypatch.setattr(SmallCNN, "forward", allocate)
    status = main(["explain", "--weights", str(checkpoint), "--layer", "features", "--image", str(picture),
                   "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 2 and err.startswith("rather explain: error: not enough memory: an allocation of 6.4 GB failed")


def test_an_impossible_synthetic_survey_is_refused_before_allocating(tmp_path, capsys):
    out = tmp_path / "survey.sgy"
    status = main(["seismic", "synth", str(out), "--inlines", "100000", "--crosslines", "100000",
                   "--samples", "1000"])
    err = capsys.readouterr().err
    assert status == 2 and err.count("\n") == 1
    assert err.startswith("rather seismic: error: a synthetic survey of 100000 x 100000 x 1000 samples needs 1.4 PB "
                          "of memory but ")
    assert err.endswith("; ask for fewer inlines, crosslines or samples\n")
    assert list(tmp_path.iterdir()) == []


def test_one_line_folds_line_breaks():
    assert cli.one_line("a\n  b\n\nc ") == "a b c"
