"""Hostile Dask jobs for ``seismic explain --all``: clusters, a second run, damaged ledgers.

Clusters (``--scheduler``): every wait ends in one line, within --timeout. Only loopback
addresses: a socket server that accepts and never answers, a port nothing listens on, a
scheduler without workers, a worker's address in place of the scheduler's. Each is a clean
refusal (the ``refuse`` fixture): no output folder, no ``.out.parts`` left.

A second run into the same --out is refused while the first holds it. A ledger
(``.D.parts/ledger.json``) of the wrong shape, or with an entry leading out of
``.D.parts``, is discarded with a note, and nothing outside ``.D.parts`` is read or deleted.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from rather.common.errors import BadInput
from rather.common.storage import writing
from rather.common.cluster import parts_folder
from rather.seismic.blocks import LEDGER_FORMAT, PIECE, Ledger, VolumeJob
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
    """``explain(address, *extra, says=..., timeout=TIMEOUT)``: refuse ``seismic explain --all --scheduler
    address --timeout timeout``; seconds taken."""
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)

    def run(address: str, *extra, says, timeout: float = TIMEOUT) -> float:
        started = time.monotonic()
        refuse(["seismic", "explain", survey, "--all", "--scheduler", address, "--timeout", timeout,
                "--out", tmp_path / "D", *extra], says=("rather seismic: error: ", *says))
        return time.monotonic() - started

    return run


def test_a_server_that_never_answers(explain, silent_server):
    seconds = explain(silent_server, says=(
        f"cannot use the Dask scheduler at --scheduler {silent_server}: it accepts connections but gave no Dask "
        f"scheduler's answer within {TIMEOUT} s; check that this is the scheduler's address",))
    assert seconds < TIMEOUT + 5


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:{port}", "127.0.0.1:{port}"])
def test_nothing_listening(explain, address, free_port):
    address = address.format(port=free_port)
    patience = 120  # Dask's retries would last this long; a refusal at once takes a second or two, even on a busy machine
    seconds = explain(address, timeout=patience, says=(f"--scheduler {address}: connection refused, nothing listens "
                                                       "there; start the scheduler (dask scheduler) or check the host "
                                                       "and the port",))
    assert seconds < patience / 4  # refused at once, not after Dask's retries


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


def test_a_second_run_into_the_same_out_is_refused(tmp_path, survey_bytes, refuse):
    """Two runs would share .D.parts: the output claim (``.D.lock``) refuses the second before any work."""
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    with writing(folders={"--out": tmp_path / "D"}):   # the first run, still writing D
        refuse(["seismic", "explain", survey, "--all", "--workers", "1", "--out", tmp_path / "D"],
               says=("rather seismic: error: --out ", "is being written by another rather run"))


class Notes(list):
    """A ``Progress`` that keeps its notes."""

    def note(self, message: str) -> None:
        self.append(message)


@pytest.fixture
def ledger_job(tmp_path) -> VolumeJob:
    """A job whose fingerprint the ledgers below carry (only its survey file's size and time are read)."""
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(b"survey")
    return VolumeJob(survey=str(survey), model="model.pt", model_checksum="0" * 64, layer="features", kind="inline",
                     patch=99, stride=10, iline=189, xline=193, device="cpu", block_lines=2, threads=1)


@pytest.fixture
def victim(tmp_path) -> Path:
    """A folder outside .D.parts with a file a damaged ledger points at: never read, never deleted."""
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / PIECE).write_bytes(b"precious")
    return folder


PRECIOUS = hashlib.sha256(b"precious").hexdigest()


def entry(folder: str = "block_000000.a", files: object = None, **changes) -> dict:
    return {"lines": [100, 101], "folder": folder, "files": {PIECE: PRECIOUS} if files is None else files, **changes}


def ledger(blocks: object, **changes) -> object:
    return {"format": LEDGER_FORMAT, "job": "FINGERPRINT", "blocks": blocks, **changes}


BAD_LEDGERS = {
    # (ledger.json's content: bytes, or JSON with "FINGERPRINT" for the job's), the note's fragment
    "not JSON": (b"{\"format\": ", "ledger.json cannot be read as JSON"),
    "not text": (b"\xff\xfe\x00\x01", "ledger.json cannot be read as JSON"),
    "empty": (b"", "ledger.json cannot be read as JSON"),
    "a JSON list": ([], "ledger.json is not a ledger (no blocks)"),
    "a JSON string": ("ledger", "ledger.json is not a ledger (no blocks)"),
    "JSON null": (None, "ledger.json is not a ledger (no blocks)"),
    "no blocks": ({"format": LEDGER_FORMAT, "job": "FINGERPRINT"}, "ledger.json is not a ledger (no blocks)"),
    "blocks as a list": (ledger([entry()]), "ledger.json is not a ledger (no blocks)"),
    "another format": (ledger({"0": entry()}, format="rather.seismic.blocks/0"), "is not of format"),
    "another job": (ledger({"0": entry()}, job={"stride": 3}), "ledger.json was written for another job"),
    "an entry that is a number": (ledger({"0": 5}), "block 0 is not an entry of lines, folder and files"),
    "an entry without files": (ledger({"0": {"lines": [100], "folder": "b"}}), "block 0 is not an entry of"),
    "an entry with an extra key": (ledger({"0": entry(extra=1)}), "block 0 is not an entry of"),
    "a block key that is not a number": (ledger({"first": entry()}), "block key 'first' is not a block number"),
    "a negative block key": (ledger({"-1": entry()}), "block key '-1' is not a block number"),
    "lines as a string": (ledger({"0": entry(lines="100")}), "block 0's lines are not a list of line numbers"),
    "fractional line numbers": (ledger({"0": entry(lines=[100.5])}), "block 0's lines are not a list"),
    "true as a line number": (ledger({"0": entry(lines=[True])}), "block 0's lines are not a list"),
    "a folder that is a number": (ledger({"0": entry(folder=7)}), "block 0's folder 7 is not a name inside"),
    "files as a list": (ledger({"0": entry(files=[PIECE])}), "block 0's files are not {name inside its folder"),
    "a checksum that is a number": (ledger({"0": entry(files={PIECE: 123})}), "block 0's files are not"),
    "a checksum that is not hex": (ledger({"0": entry(files={PIECE: "z" * 64})}), "block 0's files are not"),
    "no piece among the files": (ledger({"0": entry(files={})}), f"block 0 lists no {PIECE}"),
    # entries leading out of .D.parts
    "an absolute folder": (ledger({"0": entry(folder="VICTIM")}), "is not a name inside .D.parts"),
    "the parent folder": (ledger({"0": entry(folder="..")}), "block 0's folder '..' is not a name inside"),
    "a folder under the parent": (ledger({"0": entry(folder="../victim")}), "'../victim' is not a name inside"),
    "the parts folder itself": (ledger({"0": entry(folder=".")}), "block 0's folder '.' is not a name inside"),
    "a file under the parent": (ledger({"0": entry(files={PIECE: PRECIOUS, f"../../victim/{PIECE}": PRECIOUS})}),
                                "block 0's files are not {name inside its folder"),
    "an absolute file": (ledger({"0": entry(files={PIECE: PRECIOUS, f"VICTIM/{PIECE}": PRECIOUS})}),
                         "block 0's files are not"),
    "a backslash path": (ledger({"0": entry(folder="..\\victim")}), "is not a name inside .D.parts"),
}


def write_ledger(parts: Path, content: object, job: VolumeJob, victim: Path) -> None:
    parts.mkdir()
    if not isinstance(content, bytes):
        text = json.dumps(content).replace('"FINGERPRINT"', json.dumps(job.fingerprint()))
        content = text.replace("VICTIM", str(victim)).encode()
    (parts / "ledger.json").write_bytes(content)


def assert_discarded(parts: Path, job: VolumeJob, victim: Path, says: str) -> None:
    """Nothing reused, one note naming the problem, .D.parts fresh and empty, the victim untouched."""
    notes = Notes()
    ledger = Ledger(parts, job, notes)
    assert ledger.blocks == {} and not ledger.intact(0, [100, 101])
    assert len(notes) == 1 and says in notes[0] and notes[0].endswith("computed again"), notes
    assert sorted(parts.iterdir()) == []
    assert sorted(path.name for path in victim.iterdir()) == [PIECE] and (victim / PIECE).read_bytes() == b"precious"


@pytest.mark.parametrize("case", BAD_LEDGERS)
def test_a_ledger_of_the_wrong_shape_is_discarded_with_a_note(tmp_path, ledger_job, victim, case):
    content, says = BAD_LEDGERS[case]
    parts = parts_folder(tmp_path / "D")
    write_ledger(parts, content, ledger_job, victim)
    assert_discarded(parts, ledger_job, victim, says)


def test_a_valid_ledger_is_used_without_a_note(tmp_path, ledger_job, victim):
    parts = parts_folder(tmp_path / "D")
    write_ledger(parts, ledger({"0": entry()}), ledger_job, victim)
    (parts / "block_000000.a").mkdir()
    (parts / "block_000000.a" / PIECE).write_bytes(b"precious")
    notes = Notes()
    assert Ledger(parts, ledger_job, notes).intact(0, [100, 101]) and notes == []


def test_a_folder_entry_that_is_a_link_out_of_the_parts_folder(tmp_path, ledger_job, victim):
    parts = parts_folder(tmp_path / "D")
    write_ledger(parts, ledger({"0": entry()}), ledger_job, victim)
    (parts / "block_000000.a").symlink_to(victim, target_is_directory=True)
    assert_discarded(parts, ledger_job, victim, "block 0's folder 'block_000000.a' is a symbolic link")


def test_a_file_entry_that_is_a_link_out_of_the_parts_folder(tmp_path, ledger_job, victim):
    parts = parts_folder(tmp_path / "D")
    write_ledger(parts, ledger({"0": entry()}), ledger_job, victim)
    (parts / "block_000000.a").mkdir()
    (parts / "block_000000.a" / PIECE).symlink_to(victim / PIECE)
    assert_discarded(parts, ledger_job, victim, "block 0 lists a symbolic link among its files")


@pytest.mark.parametrize("kind", ["a link", "a folder"])
def test_a_ledger_that_is_not_a_regular_file(tmp_path, ledger_job, victim, kind):
    parts = parts_folder(tmp_path / "D")
    parts.mkdir()
    (victim / "ledger.json").write_text(json.dumps(ledger({"0": entry()})).replace(
        '"FINGERPRINT"', json.dumps(ledger_job.fingerprint())))
    if kind == "a link":
        (parts / "ledger.json").symlink_to(victim / "ledger.json")
    else:
        (parts / "ledger.json").mkdir()
    before = (victim / "ledger.json").read_bytes()
    notes = Notes()
    assert Ledger(parts, ledger_job, notes).blocks == {}
    assert notes == ["ledger.json is not a regular file; its finished blocks are discarded and computed again"]
    assert sorted(parts.iterdir()) == [] and (victim / "ledger.json").read_bytes() == before
    assert (victim / PIECE).read_bytes() == b"precious"


def test_an_unlisted_link_beside_a_recorded_piece_makes_the_block_computed_again(tmp_path, ledger_job, victim):
    parts = parts_folder(tmp_path / "D")
    write_ledger(parts, ledger({"0": entry()}), ledger_job, victim)
    (parts / "block_000000.a").mkdir()
    (parts / "block_000000.a" / PIECE).write_bytes(b"precious")
    (parts / "block_000000.a" / "inline_100.png").symlink_to(victim / PIECE)  # a figure the assembly would copy
    assert not Ledger(parts, ledger_job, Notes()).intact(0, [100, 101])


@pytest.mark.parametrize("kind", ["a link to a folder", "a file"])
def test_a_parts_folder_that_is_not_a_folder_of_rathers_own_is_refused(tmp_path, ledger_job, victim, kind):
    parts = parts_folder(tmp_path / "D")
    if kind == "a file":
        parts.write_bytes(b"not a folder")
    else:
        parts.symlink_to(victim, target_is_directory=True)
    with pytest.raises(BadInput, match=r"\.D\.parts: is not a folder of rather's own \(a symbolic link or a file\)"):
        Ledger(parts, ledger_job, Notes())
    assert (victim / PIECE).read_bytes() == b"precious" and os.path.lexists(parts)


@pytest.mark.slow
def test_a_rerun_over_a_damaged_ledger_starts_afresh_and_leaves_the_outside_alone(tmp_path, survey_bytes, run_cli,
                                                                                    victim):
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    parts = parts_folder(tmp_path / "D")
    parts.mkdir()
    (parts / "ledger.json").write_text(json.dumps({"format": LEDGER_FORMAT, "job": {}, "blocks": {
        "0": entry(folder="../victim")}}))
    outcome = run_cli(["seismic", "explain", survey, "--all", "--workers", "1", "--out", tmp_path / "D",
                       "--progress"])
    assert outcome.status == 0, outcome.err
    assert "ledger.json was written for another job" in outcome.err
    assert (tmp_path / "D" / "summary.json").is_file() and not parts.exists()
    assert sorted(path.name for path in victim.iterdir()) == [PIECE] and (victim / PIECE).read_bytes() == b"precious"
