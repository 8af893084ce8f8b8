"""``rather seismic explain --all --workers N --format segy,zarr,netcdf``: the workers write the zarr regions.

The outputs equal the single-process run's byte for byte, after a killed driver too (the
driver's check of the workers' regions is tested in tests/seismic/test_volume_store.py).
"""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rather.suites.cli import main

LINES = 4
FORMATS = "segy,zarr,netcdf"


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """A small synthetic survey and its single-process explanation in every format (the reference output)."""
    folder = tmp_path_factory.mktemp("dask_stores")
    assert main(["seismic", "synth", str(folder / "survey.sgy"), "--inlines", str(LINES), "--crosslines", "56",
                 "--samples", "60", "--seed", "4"]) == 0
    assert main(["seismic", "explain", str(folder / "survey.sgy"), "--all", "--stride", "25", "--format", FORMATS,
                 "--out", str(folder / "single")]) == 0
    return folder


def command(folder, out, *extra):
    return ["seismic", "explain", str(folder / "survey.sgy"), "--all", "--stride", "25", "--out", str(out),
            "--block-lines", "1", "--format", FORMATS, *extra]


def every_file(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def assert_same_files(expected: Path, got: Path):
    want, have = every_file(expected), every_file(got)
    assert sorted(want) == sorted(have)
    assert any(name.startswith("explanations.zarr/") for name in want) and "explanations.nc" in want
    for name in want:
        assert want[name] == have[name], name
    assert not (got.parent / f".{got.name}.parts").exists()


def test_two_workers_write_the_single_process_bytes(single, tmp_path):
    assert main(command(single, tmp_path / "out", "--workers", "2")) == 0
    assert_same_files(single / "single", tmp_path / "out")


def recorded_blocks(out):
    try:
        return len(json.loads((out.parent / f".{out.name}.parts" / "ledger.json").read_text())["blocks"])
    except (OSError, ValueError):
        return 0


@pytest.mark.slow
def test_a_killed_driver_resumes_from_its_blocks(single, tmp_path):
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "rather.suites.cli", *command(single, out, "--workers", "2")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = time.monotonic()
        while recorded_blocks(out) < 1:
            assert driver.poll() is None and time.monotonic() - started < 300
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert 1 <= recorded_blocks(out) < LINES and not out.exists()
    assert main(command(single, out, "--workers", "2")) == 0
    assert_same_files(single / "single", out)
