"""Benchmark options that cannot run (issue 21 item 7): refused by the parser in one line, before any work."""
import pytest

from rather.suites.cli import main

CASES = [
    (["--batches", "0"], "--batches"), (["--batches", "-1"], "--batches"), (["--batches", "1", "99999"], "--batches"),
    (["--batches", "1.5"], "--batches"), (["--loop-iterations", "0"], "--loop-iterations"),
    (["--loop-iterations", "201"], "--loop-iterations"), (["--repeats", "-1"], "--repeats"),
    (["--repeats", "\u00b2"], "--repeats"), (["--repeats", "1e3"], "--repeats"),
]


@pytest.mark.parametrize("options,argument", CASES, ids=[" ".join(case[0]) for case in CASES])
def test_bench_refuses_numbers_that_cannot_run(options, argument, capsys):
    status = main(["bench", "core", *options])
    lines = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(lines) == 1
    assert f"argument {argument}: expected a whole number from 1 to" in lines[0]


def test_bench_refuses_worker_counts_that_cannot_run(capsys):
    assert main(["bench", "seismic", "--workers", "0,-1"]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and "--workers takes positive worker counts" in lines[0]
