"""Hostile Dask clusters for ``seismic explain --all --scheduler``: every wait ends in one line, within --timeout.

Only loopback addresses: a socket server that accepts and never answers, a port nothing
listens on, a scheduler without workers, a worker's address in place of the scheduler's.
Each is a clean refusal (the ``refuse`` fixture): no output folder, no ``.out.parts`` left.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

TIMEOUT = 1


@pytest.fixture(scope="module")
def survey_bytes(tmp_path_factory) -> bytes:
    """A survey just large enough for the default classifier's 99 x 99 patches."""
    folder = tmp_path_factory.mktemp("hostile_dask")
    path, _ = write_survey(make_survey(2, SurveyParameters(inlines=2, crosslines=56, samples=60)), folder / "s.sgy")
    return path.read_bytes()


@pytest.fixture
def explain(tmp_path, survey_bytes, refuse):
    """``explain(address, *extra, says=...)``: refuse ``seismic explain --all --scheduler address``; seconds taken."""
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)

    def run(address: str, *extra, says) -> float:
        started = time.monotonic()
        refuse(["seismic", "explain", survey, "--all", "--scheduler", address, "--timeout", TIMEOUT,
                "--out", tmp_path / "D", *extra], says=("rather seismic: error: ", *says))
        return time.monotonic() - started

    return run


@pytest.fixture
def silent_server():
    """The address of a loopback TCP server that accepts connections and never sends a byte."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted = []
    stop = threading.Event()

    def serve():
        server.settimeout(0.05)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"tcp://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for connection in accepted:
        connection.close()
    server.close()


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def test_a_server_that_never_answers(explain, silent_server):
    seconds = explain(silent_server, says=(
        f"cannot use the Dask scheduler at --scheduler {silent_server}: it accepts connections but gave no Dask "
        f"scheduler's answer within {TIMEOUT} s; check that this is the scheduler's address",))
    assert seconds < TIMEOUT + 5


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "127.0.0.1:{port}"])
def test_nothing_listening(explain, address):
    address = address.format(port=free_port())
    seconds = explain(address, says=(f"--scheduler {address}: connection refused, nothing listens there; start "
                                     "the scheduler (dask scheduler) or check the host and the port",))
    assert seconds < TIMEOUT  # refused at once, not after Dask's retries


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "tcp://127.0.0.1:port", "nowhere", "tcp://[::1"])
def test_not_an_address(explain, address):
    explain(address, says=f"--scheduler {address}: not a scheduler address; give the address of a running "
                          "scheduler, e.g. tcp://host:8786")


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds(explain, silent_server, timeout):
    explain(silent_server, "--timeout", timeout, says=f"--timeout must be a positive number of seconds; got {timeout}")


@pytest.mark.parametrize("shown", [False, True], ids=["quiet", "--progress"])
def test_a_scheduler_without_workers(tmp_path, survey_bytes, run_cli, shown):
    """All workers gone: the job stops after --timeout seconds without progress (with --progress, the blocks' bar
    stays at 0 before the error line; without it, off a terminal, the error line is all)."""
    from distributed import LocalCluster

    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        started = time.monotonic()
        outcome = run_cli(["seismic", "explain", survey, "--all", "--scheduler", address, "--timeout", TIMEOUT,
                           "--out", tmp_path / "D", *(["--progress"] if shown else [])])
    assert outcome.status == 2 and time.monotonic() - started < TIMEOUT + 5
    lines = outcome.err.rstrip("\n").rsplit("\n", 1)
    assert len(lines) == (2 if shown else 1)
    if shown:
        assert all(update.startswith("blocks:   0%|          | 0/1 [") for update in lines[0].strip("\r").split("\r"))
    assert lines[-1].startswith(f"rather seismic: error: the Dask scheduler at {address} had no worker for {TIMEOUT} "
                                "s and no block finished; check that the scheduler and its workers run")
    assert sorted(path.name for path in tmp_path.iterdir()) == ["survey.sgy"]  # no output, no .D.parts
    assert survey.read_bytes() == survey_bytes


def test_a_worker_in_place_of_the_scheduler(explain):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        worker = next(iter(cluster.scheduler.workers))
        explain(worker, says=f"--scheduler {worker}: it answers as a Dask Worker, not as the scheduler")
