"""Long jobs on Dask, in blocks: a bounded client, pieces on disk, a ledger of finished blocks.

A domain splits its work into blocks of numbered items (a survey's lines, a data set's
images) and gives one task that computes a block into a fresh folder of the parts folder
(``parts_folder``) and returns the block's ledger entry. ``run_blocks`` submits the blocks
that are not finished yet, records each as it finishes, and returns them all; the domain
then assembles its outputs from the pieces. This module knows no domain: what a block's
items are called, the file every piece holds and the format of the ledger are a
``LedgerKind``; what the job depends on is its fingerprint, a JSON-able dict.

The ledger, ``ledger.json`` in the parts folder, is replaced atomically after every block:
the job's fingerprint and, per block, its items, its folder and its files' checksums.
Started again, the job reuses every recorded block whose files still have those checksums
and computes the others; a ledger written for another job is discarded with its pieces,
and so, with a note, is a ledger that cannot be used (not JSON, of another shape, an entry
whose folder or files would lead out of the parts folder: ``read_ledger``). Nothing outside
the parts folder is ever read or deleted through the ledger. Two runs never share a parts
folder: the output claim (``rather.common.storage.claimed``) refuses the second. Every
attempt at a block writes into a fresh folder (``block_folder``), so a piece half-written
by a killed worker or driver is never read; the scheduler runs the task of a lost worker
again.

Every wait on the cluster is bounded (``timeout``, ``DEFAULT_TIMEOUT`` by default): the
scheduler must answer Dask's handshake in time (``check_scheduler``), and a job stops in
one line once, for that long, no block finished and no worker was there (``finished``).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import math
import os
import shutil
import socket
import threading
import time
import uuid
from concurrent.futures import CancelledError, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Optional, Sequence, TypeVar

from .errors import BadInput
from .progress import SILENT, Progress
from .storage import PathLike, atomic_path

DEFAULT_TIMEOUT = 30.0
"""Seconds a wait on the Dask cluster may go without an answer or any progress (``--timeout``)."""
RETRIES = 3
"""Times a block that raised is tried again; a block whose worker died is rescheduled by Dask on its own."""
NO_TCP_SOCKET = ("inproc", "ucx")
"""Dask address schemes a plain TCP socket cannot reach: in-process addresses and UCX."""
SHA256_HEX = frozenset("0123456789abcdef")

Item = TypeVar("Item")


@dataclass(frozen=True)
class LedgerKind:
    """The vocabulary of one kind of job's ledger.

    format: the ledger's format name (a ledger of another format is discarded); items: the
    entry's key for a block's item numbers, also the word messages use ("lines"); numbers:
    what those are ("line numbers"); piece: the file every block's folder holds; size_option:
    the command's option for the items per block, which messages suggest lowering; inputs:
    what the job reads ("survey"), as messages name it.
    """

    format: str
    items: str
    numbers: str
    piece: str
    size_option: str
    inputs: str


@dataclass(frozen=True)
class ClusterChoice:
    """Where a job in blocks runs: on a local cluster of ``workers`` processes, on the cluster whose scheduler
    is at ``scheduler``, or (neither) in this process; every wait on the cluster bounded by ``timeout`` s.

    Checked when made; messages name the command's options (``--workers``, ``--scheduler``, ``--timeout``).
    """

    workers: Optional[int] = None
    scheduler: Optional[str] = None
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self):
        if self.workers is not None and self.scheduler is not None:
            raise BadInput("--workers starts a local Dask cluster and --scheduler uses a running one; give one of them")
        if self.workers is not None and self.workers < 1:
            raise BadInput(f"--workers must be a positive number of worker processes; got {self.workers}")
        if not 0 < self.timeout < math.inf:
            raise BadInput(f"--timeout must be a positive number of seconds; got {self.timeout:g}")

    @property
    def on_dask(self) -> bool:
        """Whether the job runs on Dask (``--workers`` or ``--scheduler`` given)."""
        return self.workers is not None or self.scheduler is not None

    def client(self):
        """``dask_client`` of this choice (a context manager)."""
        return dask_client(self.workers, self.scheduler, self.timeout)


def parts_folder(out: PathLike) -> Path:
    """Where the pieces of a job writing ``out`` are kept until the outputs are assembled: ``.<out>.parts`` beside."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.parts"


def split_blocks(numbers: Sequence[Item], size: int) -> list[list[Item]]:
    """Consecutive runs of ``size`` items of ``numbers`` (the last one shorter)."""
    return [list(numbers[first:first + size]) for first in range(0, len(numbers), size)]


def file_checksum(path: PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks of 1 MiB."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def block_folder(parts: PathLike, index: int) -> Path:
    """A fresh, empty folder for one attempt at block ``index``: ``block_NNNNNN.<random>`` in ``parts``."""
    folder = Path(parts) / f"block_{index:06d}.{uuid.uuid4().hex}"
    folder.mkdir()
    return folder


def block_entry(kind: LedgerKind, numbers: Sequence[int], folder: Path) -> dict:
    """The ledger entry of a block whose piece is complete in ``folder``: its items, folder and files' checksums."""
    return {kind.items: list(numbers), "folder": folder.name,
            "files": {path.name: file_checksum(path) for path in sorted(folder.iterdir())}}


_ONE_TASK_AT_A_TIME = threading.Lock()  # hooks on a shared model and torch's thread count are per process


@contextmanager
def one_task_at_a_time(threads: int) -> Iterator[None]:
    """Inside a worker: run one block at a time in this process, with torch's intra-op ``threads``.

    Matrix products split their sums across threads, so the last bit of a result depends on
    the thread count: a block equals the single-process run's bit for bit only with the
    thread count that run uses (the driver's ``torch.get_num_threads()``).
    """
    import torch

    with _ONE_TASK_AT_A_TIME:
        torch.set_num_threads(threads)
        yield


def _plain_name(name: object) -> bool:
    """Whether ``name`` names an entry of a folder itself: no path, no parent, nothing absolute."""
    return (isinstance(name, str) and name not in ("", ".", "..") and "/" not in name and "\\" not in name
            and "\0" not in name)


def _regular_file(path: Path) -> bool:
    """Whether ``path`` is a file itself, not a link to one (which could lead out of the parts folder)."""
    return path.is_file() and not path.is_symlink()


def _entry_problem(parts: Path, kind: LedgerKind, index: str, entry: object) -> Optional[str]:
    """Why block ``index``'s ledger entry cannot be used, or None.

    An entry is {items: [int, ...], "folder": name, "files": {name: SHA-256 hex}}, where
    every name stays inside the parts folder: a plain name (no "/", "..", absolute path),
    neither the folder nor its files a symbolic link.
    """
    if not index.isdigit():
        return f"block key {index!r} is not a block number"
    if not isinstance(entry, dict) or set(entry) != {kind.items, "folder", "files"}:
        return f"block {index} is not an entry of {kind.items}, folder and files"
    numbers, folder, files = entry[kind.items], entry["folder"], entry["files"]
    if not isinstance(numbers, list) or not all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
        return f"block {index}'s {kind.items} are not a list of {kind.numbers}"
    if not _plain_name(folder):
        return f"block {index}'s folder {folder!r} is not a name inside {parts.name}"
    if (parts / folder).is_symlink():
        return f"block {index}'s folder {folder!r} is a symbolic link"
    if not isinstance(files, dict) or not all(
            _plain_name(name) and isinstance(checksum, str) and len(checksum) == 64 and set(checksum) <= SHA256_HEX
            for name, checksum in files.items()):
        return f"block {index}'s files are not {{name inside its folder: SHA-256}}"
    if kind.piece not in files:
        return f"block {index} lists no {kind.piece}"
    if any((parts / folder / name).is_symlink() for name in files):
        return f"block {index} lists a symbolic link among its files"
    return None


def read_ledger(parts: Path, fingerprint: dict, kind: LedgerKind) -> tuple[dict[int, dict], Optional[str]]:
    """The blocks recorded in ``parts/ledger.json`` for the job of ``fingerprint``, or {} and why none are usable.

    The reason is None when there is nothing to say (no ledger yet). A ledger that is not
    a regular file, not JSON, of another shape (``_entry_problem``), or of another job
    gives {} and its reason: the caller starts afresh instead of failing on every rerun.
    """
    path = parts / "ledger.json"
    if not os.path.lexists(path):
        return {}, None
    if not _regular_file(path):
        return {}, "ledger.json is not a regular file"
    try:
        content = json.loads(path.read_bytes())
    except (OSError, ValueError):  # UnicodeDecodeError is a ValueError
        return {}, "ledger.json cannot be read as JSON"
    if not isinstance(content, dict) or not isinstance(content.get("blocks"), dict):
        return {}, "ledger.json is not a ledger (no blocks)"
    if content.get("format") != kind.format:
        return {}, f"ledger.json is not of format {kind.format}"
    if content.get("job") != fingerprint:
        return {}, f"ledger.json was written for another job (other {kind.inputs}, model or settings)"
    for index, entry in content["blocks"].items():
        problem = _entry_problem(parts, kind, index, entry)
        if problem:
            return {}, f"ledger.json is damaged: {problem}"
    return {int(index): entry for index, entry in content["blocks"].items()}, None


class Ledger:
    """The finished blocks of one job, in ``parts/ledger.json``; see the module docstring.

    A ledger that cannot be used (``read_ledger``) is discarded with its pieces, with a
    note on ``progress``; pieces without a ledger are discarded silently (a driver killed
    before its first record). Every path it reads stays inside ``parts``. A ``parts`` that
    is a symbolic link or a file is refused: rather deletes inside that folder only.
    """

    def __init__(self, parts: Path, kind: LedgerKind, fingerprint: dict, progress: Progress = SILENT):
        self.parts, self.path, self.kind, self.fingerprint = parts, parts / "ledger.json", kind, fingerprint
        if parts.is_symlink() or (os.path.lexists(parts) and not parts.is_dir()):
            raise BadInput(f"{parts}: is not a folder of rather's own (a symbolic link or a file), where a Dask job "
                           "keeps its pieces; move it away and run again")
        self.blocks, problem = read_ledger(parts, fingerprint, kind)
        if problem:
            progress.note(f"{problem}; its finished blocks are discarded and computed again")
        if not self.blocks and parts.exists():  # pieces of another job, or of none recorded: nothing to reuse
            shutil.rmtree(parts)
        parts.mkdir(parents=True, exist_ok=True)

    def intact(self, index: int, numbers: list[int]) -> bool:
        """Whether block ``index`` is recorded for exactly these items and its folder holds exactly its files.

        Exactly: the files recorded, each a regular file (no link) with its checksum, and
        nothing else, so that whatever is read from the piece later was checked here.
        """
        entry = self.blocks.get(index)
        if entry is None or entry[self.kind.items] != numbers:
            return False
        folder = self.parts / entry["folder"]
        if folder.is_symlink() or not folder.is_dir():
            return False
        if {path.name for path in folder.iterdir()} != set(entry["files"]):
            return False
        return all(_regular_file(folder / name) and file_checksum(folder / name) == checksum
                   for name, checksum in entry["files"].items())

    def record(self, index: int, entry: dict) -> None:
        """Add block ``index``'s entry and replace ``ledger.json`` atomically."""
        self.blocks[index] = entry
        content = {"format": self.kind.format, "job": self.fingerprint,
                   "blocks": {str(i): self.blocks[i] for i in sorted(self.blocks)}}
        with atomic_path(self.path) as temporary:
            temporary.write_text(json.dumps(content, indent=1) + "\n")


def _ask_scheduler(address: str, timeout: float) -> dict:
    """The scheduler's identity: Dask's handshake and one ``identity`` call, all within ``timeout`` seconds.

    ``distributed.Client`` bounds its connection attempts but not the handshake that
    follows: a server that accepts and never answers holds it forever. So the first
    exchange happens here, under one deadline, on a loop of its own in a thread of its own
    (the caller may run an event loop already). TLS settings come from Dask's configuration,
    as the client's do.
    """
    from distributed.comm import connect
    from distributed.security import Security

    async def identity() -> dict:
        comm = await connect(address, timeout=timeout, **Security().get_connection_args("client"))
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, asyncio.wait_for(identity(), timeout)).result()


def check_scheduler(address: str, timeout: float = DEFAULT_TIMEOUT) -> None:
    """Refuse, in one line and within ``timeout`` seconds, an address where no Dask scheduler answers.

    Says which: not an address, nothing listening (refused), unreachable, silent (it
    accepts connections but never answers: another service, or a hung scheduler), or a
    Dask server that is not the scheduler (a worker).
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    def refuse(problem: str, todo: str) -> BadInput:
        return BadInput(f"cannot use the Dask scheduler at --scheduler {address}: {problem}; {todo}")

    try:
        scheme, location = parse_address(address)
        host, port = (None, None) if scheme in NO_TCP_SOCKET else parse_host_port(location)
    except ValueError:
        raise refuse("not a scheduler address", "give the address of a running scheduler, e.g. tcp://host:8786") from None
    if host is not None:  # Dask retries a refused connection until the timeout; a plain socket says so at once
        try:
            socket.create_connection((host, port), timeout=timeout).close()
        except ConnectionRefusedError:
            raise refuse("connection refused, nothing listens there",
                         "start the scheduler (dask scheduler) or check the host and the port") from None
        except socket.gaierror:
            raise refuse(f"no such host {host}", "check the host name") from None
        except OSError as error:
            reason = "no connection" if isinstance(error, TimeoutError) else (error.strerror or "no connection")
            raise refuse(f"{reason} within {timeout:g} s", "check the host, the port and the network, or give a "
                         "longer --timeout") from None
    try:
        identity = _ask_scheduler(address, timeout)
    except (ValueError, TypeError):  # a scheme Dask does not know or cannot use here, TLS without its configuration
        raise refuse("Dask cannot connect to this kind of address",
                     "give a tcp:// address, or configure TLS for tls:// (see Dask's security settings)") from None
    except TimeoutError:
        raise refuse(f"it accepts connections but gave no Dask scheduler's answer within {timeout:g} s",
                     "check that this is the scheduler's address (port 8786 by default, not its dashboard's) and "
                     "that the scheduler is not overloaded, or give a longer --timeout") from None
    except OSError:
        raise refuse("it closed the connection without a Dask scheduler's answer",
                     "check that this is the scheduler's address (port 8786 by default)") from None
    kind = identity.get("type") if isinstance(identity, dict) else None
    if kind != "Scheduler":
        raise refuse(f"it answers as a Dask {kind or 'peer'}, not as the scheduler",
                     "give the scheduler's address (its workers print it when they start)")


@contextmanager
def dask_client(workers: Optional[int] = None, scheduler: Optional[str] = None,
                timeout: float = DEFAULT_TIMEOUT) -> Iterator:
    """A ``distributed.Client``: of the cluster at ``scheduler``, or of a local cluster of ``workers`` processes.

    A scheduler is checked first (``check_scheduler``); ``timeout`` also bounds the
    client's reconnection attempts and its closing. A client that cannot close in time
    is left to the scheduler, which forgets it: the job's outcome stands.
    """
    from distributed import Client, LocalCluster  # imported on use: a second's import the one-process path skips

    if scheduler is not None:
        check_scheduler(scheduler, timeout)
        try:
            client = Client(scheduler, timeout=timeout)
        except (OSError, ValueError):  # gone between the check and now
            raise BadInput(f"cannot use the Dask scheduler at --scheduler {scheduler}: it stopped answering while "
                           "rather connected; check that it still runs") from None
        try:
            yield client
        finally:
            with suppress(OSError, RuntimeError):  # TimeoutError is an OSError
                client.close(timeout=timeout)
        return
    environment = dict(os.environ)  # Dask's nannies set OMP_NUM_THREADS=1 and others here to spawn the workers
    try:
        with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
                Client(cluster, timeout=timeout) as client:
            yield client
    finally:
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)


def _worker_count(client, timeout: float) -> Optional[int]:
    """The workers the scheduler knows, or None when it does not answer within ``timeout`` seconds."""
    try:
        return len(client.nthreads(callback_timeout=timeout))
    except (OSError, CancelledError, RuntimeError):  # TimeoutError, a closed connection or client
        return None


def finished(client, futures: Iterable, timeout: float = DEFAULT_TIMEOUT, where: str = "the Dask cluster") -> Iterator:
    """Each of ``futures`` once it has finished, in the order they finish, with bounded waits.

    The job as a whole has no time limit: a block may run for hours. What is bounded is
    silence. Every ``min(1, timeout / 4)`` s without a finished block the scheduler is asked
    how many workers it has; the wait ends in ``BadInput`` once, for ``timeout`` s in a row,
    no block finished and either the scheduler reported no worker (all of them gone: a worker
    that restarts, as a nanny's does, counts as back) or it did not answer. A worker that is
    alive but stuck in a block is not detected: it cannot be told from a slow block. A lost
    scheduler connection (the futures cancelled when the client gives up reconnecting) ends
    the wait at once.
    """
    from distributed import wait

    pending = set(futures)
    poll = min(1.0, timeout / 4)
    quiet_since = time.monotonic()
    while pending:
        try:
            done = wait(pending, timeout=poll, return_when="FIRST_COMPLETED").done
        except TimeoutError:
            done = set()
        except CancelledError:
            raise BadInput(f"{where} cancelled the blocks: the connection to the scheduler was lost for more than "
                           f"{timeout:g} s; check that the scheduler still runs, then run the same command again to "
                           "resume from the finished blocks") from None
        if done:
            quiet_since = time.monotonic()
        else:
            workers = _worker_count(client, timeout)
            if workers:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since >= timeout:
                problem = "did not answer" if workers is None else "had no worker"
                raise BadInput(f"{where} {problem} for {timeout:g} s and no block finished; check that the scheduler "
                               "and its workers run (the workers must see the inputs, the model and the output "
                               "folder), or give a longer --timeout; a rerun resumes from the finished blocks")
        pending -= done
        yield from done


def _result(future, kind: LedgerKind, index: int, numbers: list[int], timeout: float, where: str) -> Optional[dict]:
    """A finished block's ledger entry, or None when its result was lost with a worker and is being recomputed."""
    from distributed import KilledWorker

    which = f"block {index} ({kind.items} {numbers[0]} to {numbers[-1]})"
    try:
        return future.result(timeout=timeout)
    except TimeoutError:
        if future.status == "pending":
            return None
        raise BadInput(f"{where} did not hand over the result of {which} within {timeout:g} s; check its workers, "
                       "then run the same command again to resume") from None
    except KilledWorker:
        raise BadInput(f"the workers of {where} died again and again while running {which}: out of memory? see "
                       f"their logs; give them more memory or use a smaller {kind.size_option}") from None


def worker_peaks(client, timeout: float = DEFAULT_TIMEOUT) -> list[Optional[int]]:
    """Each worker's peak resident size in bytes (``memory.peak_resident``), smallest first; [] if they do not say
    within ``timeout`` seconds."""
    from .memory import peak_resident

    try:
        peaks = client.run(peak_resident, callback_timeout=timeout).values()
    except (OSError, CancelledError, RuntimeError):
        return []
    return sorted(peaks, key=lambda peak: -1 if peak is None else peak)


def cluster_name(client) -> str:
    """How messages name the cluster of ``client``."""
    if client.cluster is not None:
        return "the local Dask cluster"
    return f"the Dask scheduler at {client.scheduler.address}"


def run_blocks(client, task: Callable[..., dict], job, blocks: list[list[int]], ledger: Ledger, *,
               timeout: float = DEFAULT_TIMEOUT, progress: Progress = SILENT) -> dict[int, dict]:
    """Every block of ``blocks`` computed on ``client`` unless ``ledger`` holds it intact; {index: entry}.

    ``task(job, index, numbers, parts)`` runs on a worker: it computes block ``index``
    (items ``numbers``) into a fresh folder of ``parts`` (a str: ``block_folder``) and
    returns its entry (``block_entry``); ``job`` must pickle. Each entry is recorded as its
    block finishes. ``progress`` shows a bar over the blocks. Waits on the cluster are
    bounded as ``finished`` says (``timeout`` seconds of silence). A job that fails before
    any block is recorded leaves no parts folder behind.
    """
    where = cluster_name(client)
    parts = ledger.parts
    done = [index for index, numbers in enumerate(blocks) if ledger.intact(index, numbers)]
    futures = {client.submit(task, job, index, numbers, str(parts), retries=RETRIES, pure=False): index
               for index, numbers in enumerate(blocks) if index not in done}
    waiting = set(futures)
    try:
        with progress.bar(total=len(blocks), initial=len(done), unit="block", desc="blocks") as bar:
            while waiting:
                for future in finished(client, waiting, timeout, where):
                    index = futures[future]
                    entry = _result(future, ledger.kind, index, blocks[index], timeout, where)
                    if entry is not None:
                        waiting.discard(future)
                        ledger.record(index, entry)
                        bar.update()
    except BaseException:
        if not ledger.blocks:
            shutil.rmtree(parts, ignore_errors=True)
        raise
    finally:
        if client.status == "running":
            client.cancel(list(waiting))
    return dict(ledger.blocks)
