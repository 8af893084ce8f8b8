"""``rather seismic explain --all --workers N``: the same bytes as one process, after a killed driver or worker too."""
import json
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from rather.common import BadInput
from rather.common.cluster import finished
from rather.suites.cli import main

LINES = 4


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """A small synthetic survey and its single-process explanation (the reference output)."""
    folder = tmp_path_factory.mktemp("dask")
    assert main(["seismic", "synth", str(folder / "survey.sgy"), "--inlines", str(LINES), "--crosslines", "56",
                 "--samples", "60", "--seed", "4"]) == 0
    assert main(["seismic", "explain", str(folder / "survey.sgy"), "--all", "--stride", "25",
                 "--out", str(folder / "single")]) == 0
    return folder


def command(folder, out, *extra):
    return ["seismic", "explain", str(folder / "survey.sgy"), "--all", "--stride", "25", "--out", str(out),
            "--block-lines", "1", *extra]


def assert_same_files(expected, got):
    names = sorted(p.name for p in expected.iterdir())
    assert names == sorted(p.name for p in got.iterdir()) and len(names) == 5 + 2 + LINES
    for name in names:
        assert (expected / name).read_bytes() == (got / name).read_bytes(), name
    assert not (got.parent / f".{got.name}.parts").exists()  # the pieces are gone once the outputs are complete


def recorded_blocks(out):
    try:
        return len(json.loads((out.parent / f".{out.name}.parts" / "ledger.json").read_text())["blocks"])
    except (OSError, ValueError):
        return 0


def start_driver(folder, out):
    return subprocess.Popen([sys.executable, "-m", "rather.suites.cli", *command(folder, out, "--workers", "2")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def wait_for_blocks(driver, out, count, limit=300):
    started = time.monotonic()
    while recorded_blocks(out) < count:
        assert driver.poll() is None, "the driver ended before the blocks were recorded"
        assert time.monotonic() - started < limit
        time.sleep(0.05)


def worker_pids(driver):
    """The Dask worker processes started by the driver (multiprocessing spawns them as its children)."""
    listing = subprocess.run(["ps", "-ww", "-o", "pid=,args=", "--ppid", str(driver.pid)], capture_output=True,
                             text=True)
    return [int(line.split()[0]) for line in listing.stdout.splitlines() if "spawn_main" in line]


def stop_session(driver):
    try:
        os.killpg(driver.pid, signal.SIGKILL)  # whatever the driver left behind
    except ProcessLookupError:
        pass


def test_two_workers_give_the_single_process_bytes(single, tmp_path):
    environment = dict(os.environ)
    assert main(command(single, tmp_path / "out", "--workers", "2")) == 0
    assert_same_files(single / "single", tmp_path / "out")
    assert dict(os.environ) == environment  # not Dask's OMP_NUM_THREADS=1: later runs would compute other bits


@pytest.mark.slow
def test_an_existing_cluster_by_its_scheduler_address(single, tmp_path):
    from distributed import LocalCluster

    environment = dict(os.environ)
    try:
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            assert main(command(single, tmp_path / "out", "--scheduler", cluster.scheduler_address)) == 0
    finally:  # the nannies leave OMP_NUM_THREADS=1 behind, which the drivers of later tests would inherit
        os.environ.clear()
        os.environ.update(environment)
    assert_same_files(single / "single", tmp_path / "out")


@pytest.mark.slow
def test_a_killed_driver_resumes_from_its_ledger(single, tmp_path, capsys):
    out = tmp_path / "out"
    driver = start_driver(single, out)
    try:
        wait_for_blocks(driver, out, 1)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        stop_session(driver)
    done = recorded_blocks(out)
    assert 1 <= done < LINES and not out.exists()
    capsys.readouterr()
    assert main(command(single, out, "--workers", "2", "--progress")) == 0
    shown = capsys.readouterr().err
    assert f"blocks:  {100 * done // LINES}%" in shown and f"| {done}/{LINES} [00:00<?" in shown  # from the reused
    assert_same_files(single / "single", out)


@pytest.mark.slow
def test_a_killed_worker_does_not_fail_the_job(single, tmp_path):
    out = tmp_path / "out"
    driver = start_driver(single, out)
    try:
        wait_for_blocks(driver, out, 1)
        victim = worker_pids(driver)[0]
        os.kill(victim, signal.SIGKILL)
        assert driver.wait(timeout=300) == 0
    finally:
        stop_session(driver)
    assert_same_files(single / "single", out)


@pytest.mark.parametrize("extra, message", [
    (["--workers", "2", "--inline", "101"], "--workers and --scheduler explain a whole survey"),
    (["--workers", "0", "--all"], "--workers must be a positive number"),
    (["--workers", "2", "--all", "--block-lines", "0"], "--block-lines must be a positive number"),
    (["--scheduler", "nowhere", "--all"], "cannot use the Dask scheduler at --scheduler nowhere: "),
    (["--workers", "2", "--all", "--timeout", "0"], "--timeout must be a positive number of seconds; got 0"),
])
def test_bad_cluster_options_are_one_line_with_status_2(single, tmp_path, capsys, extra, message):
    capsys.readouterr()
    assert main(["seismic", "explain", str(single / "survey.sgy"), "--out", str(tmp_path / "x"), *extra]) == 2
    error = capsys.readouterr().err
    assert message in error and error.count("\n") == 1
    assert not (tmp_path / "x").exists() and not (tmp_path / ".x.parts").exists()


GATE = threading.Event()


def wait_at_the_gate(seconds: float) -> bool:
    return GATE.wait(seconds)


@pytest.fixture
def in_process_cluster():
    """A scheduler and one thread worker in this process: (cluster, client)."""
    from distributed import Client, LocalCluster

    GATE.clear()
    try:
        with LocalCluster(n_workers=1, processes=False, threads_per_worker=1, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield cluster, client
    finally:
        GATE.set()  # lets a task still waiting end, so that the cluster closes


def test_a_block_longer_than_the_timeout_on_a_live_worker_is_waited_for(in_process_cluster):
    _, client = in_process_cluster
    future = client.submit(time.sleep, 1.2, pure=False)
    started = time.monotonic()
    assert list(finished(client, [future], timeout=0.4)) == [future]
    assert time.monotonic() - started >= 1.1


def test_waiting_ends_when_every_worker_is_gone(in_process_cluster):
    cluster, client = in_process_cluster
    future = client.submit(wait_at_the_gate, 60, pure=False)
    cluster.scale(0)
    started = time.monotonic()
    with pytest.raises(BadInput, match=r"^the local Dask cluster had no worker for 0.4 s and no block finished; "
                                       "check that the scheduler and its workers run"):
        list(finished(client, [future], timeout=0.4, where="the local Dask cluster"))
    assert 0.4 <= time.monotonic() - started < 3


def test_bench_worker_counts_are_parsed_or_refused(capsys):
    from rather.suites.bench import worker_counts

    assert worker_counts("1,2") == [1, 2] and worker_counts("4") == [4]
    assert main(["bench", "seismic", "--workers", "1,0"]) == 2
    assert "--workers takes positive worker counts separated by commas" in capsys.readouterr().err


@pytest.mark.slow
def test_bench_reports_blocks_per_second_and_memory_per_worker():
    from rather.suites.bench_seismic import render_seismic_workers, run_seismic_workers

    report = run_seismic_workers([1, 2], sizes=(2, 3), crosslines=56, samples=60, stride=25, block_lines=1,
                                 progress=lambda message: None)
    runs = report["runs"]
    assert [(r["inlines"], r["workers"], r["blocks"]) for r in runs] == [(2, 1, 2), (2, 2, 2), (3, 1, 3), (3, 2, 3)]
    assert runs[0]["speed_up"] == {"median": 1, "min": 1, "max": 1, "pairs": runs[0]["pairs"]}
    assert all(len(r["peak_rss_bytes_per_worker"]) == r["workers"] for r in runs)
    assert all(r["runs"] == r["pairs"] + 1 for r in runs)  # the warm-up run, then the pairs
    assert all(r["blocks_per_second"] == pytest.approx(r["blocks"] / r["seconds"]) for r in runs)
    assert all(0 < r["cores_used"] for r in runs) and "blocks/s" in render_seismic_workers(report)
