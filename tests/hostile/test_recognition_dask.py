"""Hostile Dask runs of ``rather recognition audit`` (``--workers``, ``--scheduler``, ``--timeout``) and damaged
ledgers of finished batches.

Clusters: every wait ends in one line within --timeout, exit 2, and nothing written (no --out, no ``.out.parts``).
Only loopback addresses: a server that accepts and never answers, a port nothing listens on, a scheduler
without workers, a worker in place of the scheduler. A ledger (``.out.parts/ledger.json``) of the wrong shape,
or with an entry leading out of ``.out.parts``, is discarded with a note; nothing outside it is read or deleted.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import pytest

from rather.common.cluster import Ledger, parts_folder
from rather.common.storage import writing
from rather.recognition.batches import BATCHES, PIECE

TIMEOUT = 1
BIRDS = ["recognition", "audit", "--format", "synthetic", "--images", "20", "--truth-images", "4", "--steps", "2",
         "--sanity-images", "2", "--sanity-steps", "1"]


@pytest.fixture
def audit(tmp_path, refuse):
    """``audit(*options, says=..., usage=False)``: refuse an audit of 20 synthetic birds into ``out`` with
    ``options`` (a usage error, from the parser, when ``usage``); seconds taken."""

    def run(*options, says, usage: bool = False) -> float:
        started = time.monotonic()
        prefix = "rather recognition audit: error: argument " if usage else "rather recognition: error: "
        refuse([*BIRDS, "--out", tmp_path / "out", *options], says=(prefix, *says))
        return time.monotonic() - started

    return run


def test_a_scheduler_that_never_answers(audit, silent_server):
    seconds = audit("--scheduler", silent_server, "--timeout", TIMEOUT, says=(
        f"--scheduler {silent_server}: it accepts connections but gave no Dask scheduler's answer within "
        f"{TIMEOUT} s",))
    assert seconds < TIMEOUT + 10


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "127.0.0.1:{port}"])
def test_nothing_listening_is_said_at_once(audit, address, free_port):
    address = address.format(port=free_port)
    patience = 120
    seconds = audit("--scheduler", address, "--timeout", patience, says=(
        f"--scheduler {address}: connection refused, nothing listens there",))
    assert seconds < patience / 4


@pytest.mark.parametrize("address", ["tcp://127.0.0.1", "tcp://127.0.0.1:port", "nowhere", "tcp://[::1", ""])
def test_not_a_scheduler_address(audit, address):
    audit("--scheduler", address, says=(f"--scheduler {address}: not a scheduler address",))


@pytest.mark.parametrize("timeout", ["0", "-1", "nan", "inf", "-inf"])
def test_a_timeout_that_is_not_a_positive_number_of_seconds(audit, timeout):
    audit("--workers", "2", f"--timeout={timeout}", says=(f"--timeout must be a positive number of seconds; got "
                                                        f"{float(timeout):g}",))


@pytest.mark.parametrize("timeout", ["soon", "1s", ""])
def test_a_timeout_that_is_not_a_number(audit, timeout):
    audit("--workers", "2", f"--timeout={timeout}", says=("--timeout: invalid float value",), usage=True)


@pytest.mark.parametrize("workers", ["0", "-3"])
def test_a_worker_count_below_one(audit, workers):
    audit("--workers", workers, says=(f"--workers must be a positive number of worker processes; got {workers}",))


@pytest.mark.parametrize("workers", ["two", "1.5", ""])
def test_a_worker_count_that_is_not_a_whole_number(audit, workers):
    audit(f"--workers={workers}", says=("--workers: invalid int value",), usage=True)


def test_workers_and_a_scheduler_together(audit, silent_server):
    audit("--workers", "2", "--scheduler", silent_server, says=("--scheduler: not allowed with argument --workers",),
          usage=True)


def test_a_batch_size_below_one_on_dask(audit):
    audit("--workers", "2", "--batch-size", "0", says=("--batch-size must be at least 1; got 0",))


@pytest.mark.parametrize("shown", [False, True], ids=["quiet", "--progress"])
def test_a_scheduler_without_workers(tmp_path, run_cli, shown):
    """All workers gone: the audit stops after --timeout seconds without a finished batch, nothing written."""
    from distributed import LocalCluster

    with LocalCluster(n_workers=0, processes=False, dashboard_address=None) as cluster:
        address = cluster.scheduler_address
        started = time.monotonic()
        outcome = run_cli([*BIRDS, "--scheduler", address, "--timeout", TIMEOUT, "--out", tmp_path / "out",
                           *(["--progress"] if shown else [])])
    assert outcome.status == 2 and time.monotonic() - started < TIMEOUT + 15
    last = outcome.err.rstrip("\n").rsplit("\n", 1)[-1]
    assert last.startswith(f"rather recognition: error: the Dask scheduler at {address} had no worker for {TIMEOUT} "
                           "s and no block finished; check that the scheduler and its workers run")
    assert ("blocks:   0%|" in outcome.err) == shown and "Traceback" not in outcome.err
    assert sorted(path.name for path in tmp_path.iterdir()) == []  # no output, no .out.parts


def test_a_worker_in_place_of_the_scheduler(audit):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, processes=False, dashboard_address=None) as cluster:
        worker = next(iter(cluster.scheduler.workers))
        audit("--scheduler", worker, "--timeout", 5, says=(f"--scheduler {worker}: it answers as a Dask Worker, not "
                                                           "as the scheduler",))


def test_a_second_run_into_the_same_out_is_refused(tmp_path, refuse):
    with writing(folders={"--out": tmp_path / "out"}):  # the first run, still writing out
        refuse([*BIRDS, "--workers", "1", "--out", tmp_path / "out"],
               says=("rather recognition: error: --out ", "is being written by another rather run"))


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["a link to a folder", "a file"])
def test_a_parts_folder_that_is_not_rathers_own(tmp_path, refuse, kind):
    """``.out.parts`` put there by someone else: refused, and neither it nor what it points at is touched."""
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "keep.txt").write_text("precious")
    parts = parts_folder(tmp_path / "out")
    if kind == "a file":
        parts.write_text("not a folder")
    else:
        parts.symlink_to(victim, target_is_directory=True)
    refuse([*BIRDS, "--workers", "1", "--out", tmp_path / "out"],
           says=(".out.parts: is not a folder of rather's own (a symbolic link or a file)",))


class Notes(list):
    """A ``Progress`` that keeps its notes."""

    def note(self, message: str) -> None:
        self.append(message)


PRECIOUS = hashlib.sha256(b"precious").hexdigest()
FINGERPRINT = {"data": {"format": "imagefolder"}, "batch_size": 4}


def entry(**changes) -> dict:
    return {"images": [0, 1, 2, 3], "folder": "block_000000.a", "files": {PIECE: PRECIOUS}, **changes}


def ledger(blocks: object, **changes) -> dict:
    return {"format": BATCHES.format, "job": FINGERPRINT, "blocks": blocks, **changes}


BAD_LEDGERS = {
    "a seismic ledger": (ledger({"0": entry()}, format="rather.seismic.blocks/1"),
                         "is not of format rather.recognition.batches/1"),
    "another batch size": (ledger({"0": entry()}, job={**FINGERPRINT, "batch_size": 8}),
                           "ledger.json was written for another job (other images, model or settings)"),
    "lines in place of images": (ledger({"0": {"lines": [0], "folder": "b", "files": {PIECE: PRECIOUS}}}),
                                 "block 0 is not an entry of images, folder and files"),
    "image numbers as text": (ledger({"0": entry(images="0-3")}), "block 0's images are not a list of image numbers"),
    "fractional image numbers": (ledger({"0": entry(images=[0.5])}), "block 0's images are not a list of image"),
    "no scores among the files": (ledger({"0": entry(files={"sections.h5": PRECIOUS})}),
                                  f"block 0 lists no {PIECE}"),
    "a folder under the parent": (ledger({"0": entry(folder="../victim")}), "'../victim' is not a name inside"),
    "an absolute folder": (ledger({"0": entry(folder="VICTIM")}), "is not a name inside .out.parts"),
    "a file under the parent": (ledger({"0": entry(files={PIECE: PRECIOUS, f"../../victim/{PIECE}": PRECIOUS})}),
                                "block 0's files are not {name inside its folder"),
}


@pytest.mark.parametrize("case", BAD_LEDGERS)
def test_a_damaged_batch_ledger_is_discarded_with_a_note(tmp_path, case):
    content, says = BAD_LEDGERS[case]
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / PIECE).write_bytes(b"precious")
    parts = parts_folder(tmp_path / "out")
    parts.mkdir()
    (parts / "ledger.json").write_text(json.dumps(content).replace("VICTIM", str(victim)))
    notes = Notes()
    kept = Ledger(parts, BATCHES, FINGERPRINT, notes)
    assert kept.blocks == {} and not kept.intact(0, [0, 1, 2, 3])
    assert len(notes) == 1 and says in notes[0] and notes[0].endswith("computed again"), notes
    assert sorted(parts.iterdir()) == []
    assert sorted(path.name for path in victim.iterdir()) == [PIECE] and (victim / PIECE).read_bytes() == b"precious"


def test_a_valid_batch_ledger_is_used_without_a_note(tmp_path):
    parts = parts_folder(tmp_path / "out")
    (parts / "block_000000.a").mkdir(parents=True)
    (parts / "block_000000.a" / PIECE).write_bytes(b"precious")
    (parts / "ledger.json").write_text(json.dumps(ledger({"0": entry()})))
    notes = Notes()
    assert Ledger(parts, BATCHES, FINGERPRINT, notes).intact(0, [0, 1, 2, 3]) and notes == []
    assert not Ledger(parts, BATCHES, FINGERPRINT, notes).intact(0, [0, 1, 2])  # other images: computed again
