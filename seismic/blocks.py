"""Explaining every line of a survey on Dask: blocks of lines, each a piece on disk.

The lines are split into blocks of consecutive lines. Blocks need no overlap: a
line is explained from its own samples only (``lines.explain_line``). Each block is
one task: it opens the survey itself (segyio handles cannot be pickled; once per worker
process, ``worker_survey``), loads the model once per worker process, explains its lines one after the other, and writes
its piece — a ``SectionStore`` file with the block's sections (the driver draws the
figures, with the run's scaling) — into a folder of its own; it returns the SHA-256 of
every file of the piece. A worker holds one section and the model at a time,
whatever the size of the block or of the survey.

The machinery is ``rather.common.cluster``'s: the bounded client, the parts folder and
the ledger of finished blocks (``ledger.json``, here of format ``LEDGER_FORMAT``), which
lets a killed job resume. What is seismic is here: the job's parameters and fingerprint
(survey file, model checksum, patch, stride, byte locations, block size, versions;
``VolumeJob``) and explaining a block of lines (``explain_block``).
"""
from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Optional

import torch

from rather.common import BadInput, Explainer, __version__
from rather.common import cluster
from rather.common.cluster import DEFAULT_TIMEOUT, LedgerKind, block_entry, block_folder, one_task_at_a_time
from rather.common.progress import SILENT, Progress

from .lines import explain_line
from .options import ModelChoice
from .seismic_model import SeismicModel, load_seismic_model
from .sections import SectionStore
from .survey import Survey, open_survey

LEDGER_FORMAT = "rather.seismic.blocks/1"
PIECE = "sections.h5"
SECTIONS = LedgerKind(format=LEDGER_FORMAT, items="lines", numbers="line numbers", piece=PIECE,
                      size_option="--block-lines", inputs="survey")
"""The ledger of a survey's blocks: entries list their line numbers; every piece holds a ``sections.h5``."""


@dataclass(frozen=True)
class VolumeJob:
    """Everything a block's piece depends on. Paths are absolute: workers may run elsewhere.

    ``factory``, ``model_kwargs``, ``classes``: the model as ``ModelChoice`` has it
    (``model_choice``). ``first_sample``, ``stop_sample``: the time window (``samples``).
    ``threads``: torch's intra-op threads in the workers (``cluster.one_task_at_a_time``):
    pieces equal the single-process run's bit for bit only with the thread count that run
    uses (torch's default on the driver's machine, ``torch.get_num_threads()``).
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
    factory: Optional[str] = None
    model_kwargs: str = "{}"
    classes: str = ""
    first_sample: int = 0
    stop_sample: Optional[int] = None

    @property
    def samples(self) -> slice:
        """The sample indices explained (a ``--time`` window; all by default)."""
        return slice(self.first_sample, self.stop_sample)

    def model_choice(self) -> ModelChoice:
        """The model as the driver chose it (``model_kwargs``: JSON; ``classes``: comma-separated, "" none)."""
        return ModelChoice(weights=self.model, factory=self.factory, kwargs=json.loads(self.model_kwargs),
                           layer=self.layer, classes=tuple(self.classes.split(",")) if self.classes else None,
                           patch=self.patch)

    def fingerprint(self) -> dict:
        """The job's parameters plus the survey file's size and modification time and the versions that compute."""
        stat = os.stat(self.survey)
        return {**asdict(self), "survey_bytes": stat.st_size, "survey_mtime_ns": stat.st_mtime_ns,
                "rather": __version__, "torch": torch.__version__}


_EXPLAINERS: dict[tuple[str, str, str], tuple[Explainer, SeismicModel]] = {}


def _explainer(job: VolumeJob) -> tuple[Explainer, SeismicModel]:
    """The job's explainer and model, loaded once per process, with the checksum the driver saw."""
    key = (job.model, job.device, job.model_checksum)
    if key not in _EXPLAINERS:
        network = load_seismic_model(job.model_choice(), job.device)
        explainer = Explainer(network.model, layer=job.layer)
        if explainer.model_checksum != job.model_checksum:
            raise BadInput(f"{job.model}: the model file changed while the job ran; start the job again")
        _EXPLAINERS[key] = explainer, network
    return _EXPLAINERS[key]


_SURVEY_LOCK = threading.Lock()
_OPEN_SURVEY: dict[str, object] = {}
"""The survey this worker process holds open: {"key": (path, iline, xline, size, mtime), "stack", "survey"}."""


@contextmanager
def worker_survey(path: str, iline: int, xline: int) -> Iterator[Survey]:
    """The survey ``path`` (``open_survey``), opened once per worker process and used by one task at a time.

    Opening reads the line numbers of every trace header (``geometry.read_geometry``): 0.4 s
    for 200 inlines of 951 traces here, so about 1.2 s at the F3 size, where a block of one
    inline takes about 3 s. Opened per block,
    that cost grows with the survey and is paid twice per block (explaining it, writing its
    zarr regions). So a worker keeps one survey open, and opens it again when the file's size
    or modification time changes or another survey (or byte locations) is asked; the one it
    held is closed then. Tasks on threads of one worker take turns (a segyio handle is not
    shared between threads).
    """
    stat = os.stat(path)
    key = (str(path), iline, xline, stat.st_size, stat.st_mtime_ns)
    with _SURVEY_LOCK:
        if _OPEN_SURVEY.get("key") != key:
            _close_worker_survey()
            stack = ExitStack()
            survey = stack.enter_context(open_survey(path, iline=iline, xline=xline))
            _OPEN_SURVEY.update(key=key, stack=stack, survey=survey)
        yield _OPEN_SURVEY["survey"]


def _close_worker_survey() -> None:
    """Close the survey this process holds (if any)."""
    if _OPEN_SURVEY:
        _OPEN_SURVEY.pop("stack").close()
        _OPEN_SURVEY.clear()


def explain_block(job: VolumeJob, index: int, numbers: list[int], parts: str) -> dict:
    """The task: explain lines ``numbers`` into a fresh folder of ``parts``; its ledger entry.

    Entry: {"lines": numbers, "folder": name, "files": {file name: SHA-256}}.
    """
    with one_task_at_a_time(job.threads):
        return _explain_block(*_explainer(job), job, index, numbers, Path(parts))


def _explain_block(explainer: Explainer, network: SeismicModel, job: VolumeJob, index: int,
                   numbers: list[int], parts: Path) -> dict:
    folder = block_folder(parts, index)
    with worker_survey(job.survey, job.iline, job.xline) as survey, \
            SectionStore(folder / PIECE, {}, network.class_names) as store:
        for number in numbers:
            section = explain_line(survey, explainer, job.kind, number, patch=job.patch, stride=job.stride,
                                   class_names=network.class_names, samples=job.samples, dense=network.dense)
            store.add(job.kind, number, section)
    return block_entry(SECTIONS, numbers, folder)


def read_ledger(parts: Path, fingerprint: dict) -> tuple[dict[int, dict], Optional[str]]:
    """``rather.common.cluster.read_ledger`` for a survey's ledger."""
    return cluster.read_ledger(parts, fingerprint, SECTIONS)


class Ledger(cluster.Ledger):
    """The ledger of ``job``'s blocks in ``parts`` (``rather.common.cluster.Ledger``)."""

    def __init__(self, parts: Path, job: VolumeJob, progress: Progress = SILENT):
        super().__init__(parts, SECTIONS, job.fingerprint(), progress)


def explain_blocks(client, job: VolumeJob, numbers: list[int], parts: Path, *,
                   timeout: float = DEFAULT_TIMEOUT, progress: Progress = SILENT) -> dict[int, Path]:
    """Every line of ``numbers`` explained in blocks on ``client``, reusing intact recorded blocks.

    Returns {line number: folder of the piece holding it}. ``progress`` shows a bar over the blocks.
    Waits on the cluster are bounded as ``rather.common.cluster.finished`` says (``timeout``
    seconds of silence). A job that fails before any block is recorded leaves no parts folder behind.
    """
    blocks = cluster.split_blocks(numbers, job.block_lines)
    entries = cluster.run_blocks(client, explain_block, job, blocks, Ledger(parts, job, progress),
                                 timeout=timeout, progress=progress)
    return {number: parts / entries[index]["folder"] for index, lines in enumerate(blocks) for number in lines}
