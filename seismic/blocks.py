"""Explaining every line of a survey on Dask: blocks of lines, pieces on disk, a ledger of finished blocks.

The lines are split into blocks of consecutive lines. Blocks need no overlap: a
line is explained from its own samples only (``lines.explain_line``). Each block is
one task: it opens the survey itself (segyio handles cannot be pickled), loads the
model once per worker process, explains its lines one after the other, and writes
its piece — a ``SectionStore`` file with the block's
sections and their figures — into a folder of its own; it returns the SHA-256 of
every file of the piece. A worker holds one section and the model at a time,
whatever the size of the block or of the survey.

The driver records each finished block in the ledger, ``ledger.json`` in the parts
folder, replaced atomically after every block: the job's fingerprint (survey file,
model checksum, patch, stride, byte locations, block size, versions) and, per
block, its lines, its folder and its files' checksums. Started again, the job
reuses every recorded block whose files still have those checksums and computes
the others; a ledger written for another job is discarded with its pieces. Every
attempt at a block writes into a fresh folder, so a piece half-written by a killed
worker or driver is never read; the scheduler runs the task of a lost worker again.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import threading
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator, Optional

import torch
from tqdm import tqdm

from rather.common import BadInput, Explainer, load_model
from rather.common._version import __version__
from rather.common.storage import PathLike, atomic_path

from .lines import explain_line
from .sections import SectionStore
from .segy import open_survey

LEDGER_FORMAT = "rather.seismic.blocks/1"
PIECE = "sections.h5"
RETRIES = 3
"""Times a block that raised is tried again; a block whose worker died is rescheduled by Dask on its own."""


@dataclass(frozen=True)
class VolumeJob:
    """Everything a block's piece depends on. Paths are absolute: workers may run elsewhere.

    ``threads``: torch's intra-op threads in the workers. Matrix products split their sums
    across threads, so the last bit of a map depends on the thread count: pieces equal the
    single-process run's bit for bit only with the thread count that run uses (torch's default
    on the driver's machine, ``torch.get_num_threads()``).
    """

    survey: str
    model: str
    model_checksum: str
    layer: str
    kind: str
    patch: int
    stride: int
    iline: int
    xline: int
    device: str
    block_lines: int
    threads: int

    def fingerprint(self) -> dict:
        """The job's parameters plus the survey file's size and modification time and the versions that compute."""
        stat = os.stat(self.survey)
        return {**asdict(self), "survey_bytes": stat.st_size, "survey_mtime_ns": stat.st_mtime_ns,
                "rather": __version__, "torch": torch.__version__}


def parts_folder(out: PathLike) -> Path:
    """Where the pieces of a job writing ``out`` are kept until the outputs are assembled: ``.<out>.parts`` beside."""
    out = Path(out).absolute()
    return out.parent / f".{out.name}.parts"


def split_blocks(numbers: list[int], block_lines: int) -> list[list[int]]:
    """Consecutive runs of ``block_lines`` line numbers (the last one shorter)."""
    return [numbers[first:first + block_lines] for first in range(0, len(numbers), block_lines)]


def file_checksum(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(2**20), b""):
            digest.update(chunk)
    return digest.hexdigest()


_EXPLAINERS: dict[tuple[str, str, str], Explainer] = {}
_ONE_BLOCK_AT_A_TIME = threading.Lock()  # the explainer's hooks and torch's thread count are per process


def _explainer(job: VolumeJob) -> Explainer:
    """The job's model, loaded once per process, with the checksum the driver saw."""
    key = (job.model, job.device, job.model_checksum)
    if key not in _EXPLAINERS:
        model, _ = load_model(weights=job.model, device=job.device)
        explainer = Explainer(model, layer=job.layer)
        if explainer.model_checksum != job.model_checksum:
            raise BadInput(f"{job.model}: the model file changed while the job ran; start the job again")
        _EXPLAINERS[key] = explainer
    return _EXPLAINERS[key]


def explain_block(job: VolumeJob, index: int, numbers: list[int], parts: str) -> dict:
    """The task: explain lines ``numbers`` into a fresh folder of ``parts``; its ledger entry.

    Entry: {"lines": numbers, "folder": name, "files": {file name: SHA-256}}.
    """
    with _ONE_BLOCK_AT_A_TIME:
        torch.set_num_threads(job.threads)
        return _explain_block(_explainer(job), job, index, numbers, Path(parts))


def _explain_block(explainer: Explainer, job: VolumeJob, index: int, numbers: list[int], parts: Path) -> dict:
    folder = parts / f"block_{index:06d}.{uuid.uuid4().hex}"
    folder.mkdir()
    with open_survey(job.survey, iline=job.iline, xline=job.xline) as survey, SectionStore(folder / PIECE, {}) as store:
        for number in numbers:
            section = explain_line(survey, explainer, job.kind, number, patch=job.patch, stride=job.stride,
                                   figures=folder)
            store.add(job.kind, number, section)
    return {"lines": list(numbers), "folder": folder.name,
            "files": {path.name: file_checksum(path) for path in sorted(folder.iterdir())}}


class Ledger:
    """The finished blocks of one job, in ``parts/ledger.json``; see the module docstring."""

    def __init__(self, parts: Path, job: VolumeJob):
        self.parts, self.path = parts, parts / "ledger.json"
        self.fingerprint = job.fingerprint()
        self.blocks: dict[int, dict] = {}
        try:
            content = json.loads(self.path.read_text())
        except (OSError, ValueError):
            content = None
        if content is not None and content.get("format") == LEDGER_FORMAT and content.get("job") == self.fingerprint:
            self.blocks = {int(index): entry for index, entry in content["blocks"].items()}
        elif parts.exists():  # pieces of another job, or of none recorded: nothing to reuse
            shutil.rmtree(parts)
        parts.mkdir(parents=True, exist_ok=True)

    def intact(self, index: int, numbers: list[int]) -> bool:
        """Whether block ``index`` is recorded for exactly these lines and its files still have their checksums."""
        entry = self.blocks.get(index)
        if entry is None or entry["lines"] != numbers:
            return False
        folder = self.parts / entry["folder"]
        return all((folder / name).is_file() and file_checksum(folder / name) == checksum
                   for name, checksum in entry["files"].items())

    def record(self, index: int, entry: dict) -> None:
        self.blocks[index] = entry
        content = {"format": LEDGER_FORMAT, "job": self.fingerprint,
                   "blocks": {str(i): self.blocks[i] for i in sorted(self.blocks)}}
        with atomic_path(self.path) as temporary:
            temporary.write_text(json.dumps(content, indent=1) + "\n")


@contextmanager
def dask_client(workers: Optional[int] = None, scheduler: Optional[str] = None) -> Iterator:
    """A ``distributed.Client``: of the cluster at ``scheduler``, or of a local cluster of ``workers`` processes."""
    from distributed import Client, LocalCluster  # imported on use: a second's import the one-process path skips

    if scheduler is not None:
        try:
            client = Client(scheduler, timeout=10)
        except (OSError, ValueError) as error:  # unreachable (timed out, refused) or not an address
            raise BadInput(f"cannot use the Dask scheduler at --scheduler {scheduler}: {error}; "
                           "give the address of a running scheduler, e.g. tcp://host:8786") from None
        with client:
            yield client
        return
    environment = dict(os.environ)  # Dask's nannies set OMP_NUM_THREADS=1 and others here to spawn the workers
    try:
        with LocalCluster(n_workers=workers, processes=True, threads_per_worker=1, host="127.0.0.1",
                          dashboard_address=None, silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
            yield client
    finally:
        for name in set(os.environ) - set(environment):
            del os.environ[name]
        os.environ.update(environment)


def explain_blocks(client, job: VolumeJob, numbers: list[int], parts: Path) -> dict[int, Path]:
    """Every line of ``numbers`` explained in blocks on ``client``, reusing intact recorded blocks.

    Returns {line number: folder of the piece holding it}. A progress bar over blocks goes to stderr.
    """
    from distributed import as_completed

    blocks = split_blocks(numbers, job.block_lines)
    ledger = Ledger(parts, job)
    done = [index for index, lines in enumerate(blocks) if ledger.intact(index, lines)]
    futures = {client.submit(explain_block, job, index, lines, str(parts), retries=RETRIES, pure=False): index
               for index, lines in enumerate(blocks) if index not in done}
    try:
        with tqdm(total=len(blocks), initial=len(done), unit="block", desc="blocks", dynamic_ncols=True) as bar:
            for future in as_completed(futures):
                ledger.record(futures[future], future.result())
                bar.update()
    finally:
        client.cancel(list(futures))
    return {number: parts / ledger.blocks[index]["folder"] for index, lines in enumerate(blocks) for number in lines}
