"""The audit's per-image pass on Dask: batches of images as blocks, each a piece on disk, resumable.

What the audit computes for every image — the logits, GradTrust and VOICE
(``audit.score_batch``) — is the part that grows with the data set; the rest (the
confused pairs, the ground-truth metrics, the sanity checks) reads a bounded number
of images. So only that pass is spread: each batch of ``--batch-size`` images is one
block, the same batches the single process runs one after the other, computed by the
same function with the driver's torch thread count, so every number is the same bit
for bit. A worker loads the classifier and the data set's index once per process, reads
its batch's images itself (the workers must see the data and the weights) and writes
the batch's scores as one ``.npy`` array (``Scores.to_array``) into a fresh folder.

The blocks, the ledger of finished batches and the bounded waits are
``rather.common.cluster``'s: the job's fingerprint (``AuditJob.fingerprint``) holds the
data choice, the model choice and checksum, a digest of the data set's index (every
image's id, label, file, size and modification time), the batch size, the thread count
and the versions; a run killed and started again reuses the batches recorded for the
same fingerprint.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from rather.common import BadInput, Explainer, __version__
from rather.common.cluster import (ClusterChoice, Ledger, LedgerKind, block_entry, block_folder, one_task_at_a_time,
                                   run_blocks)
from rather.common.progress import SILENT, Progress

from .audit import Scores, score_batch
from .options import DataChoice, ModelChoice

PIECE = "scores.npy"
BATCHES = LedgerKind(format="rather.recognition.batches/1", items="images", numbers="image numbers", piece=PIECE,
                     size_option="--batch-size", inputs="images")
"""The ledger of an audit's batches: entries list their image numbers; every piece holds a ``scores.npy``."""


@dataclass(frozen=True)
class AuditJob:
    """What a batch's scores depend on. Paths are absolute: workers may run elsewhere.

    ``index``: the digest of the data set's index (``index_digest``); ``threads``: torch's
    intra-op threads in the workers, the driver's (``rather.common.cluster.one_task_at_a_time``).
    """

    data: DataChoice
    model: ModelChoice
    model_checksum: str
    index: str
    batch_size: int
    threads: int

    @classmethod
    def of(cls, data: DataChoice, model: ModelChoice, explainer: Explainer, images, batch_size: int) -> "AuditJob":
        """The job of auditing ``images`` (read from ``data``) with ``model``, its paths made absolute."""
        folder = None if data.folder is None else str(Path(data.folder).absolute())
        weights = None if model.weights is None else str(Path(model.weights).absolute())
        return cls(replace(data, folder=folder), replace(model, weights=weights, kwargs=dict(model.kwargs)),
                   explainer.model_checksum, index_digest(images), batch_size, torch.get_num_threads())

    def fingerprint(self) -> dict:
        """The job's fields and the versions that compute, as JSON gives them back (tuples as lists)."""
        job = {**asdict(self), "rather": __version__, "torch": torch.__version__}
        return json.loads(json.dumps(job, default=str))


def index_digest(images) -> str:
    """SHA-256 of every image's id, label and file (with its size and modification time; none for a rendered one)."""
    digest = hashlib.sha256()
    for number, (name, label) in enumerate(zip(images.ids, images.labels.tolist())):
        path = images.path(number)
        stat = None if path is None else os.stat(path)
        digest.update(json.dumps([name, label, path, stat and stat.st_size, stat and stat.st_mtime_ns]).encode())
        digest.update(b"\n")
    return digest.hexdigest()


_LOADED: dict[str, tuple] = {}


def _loaded(job: AuditJob) -> tuple:
    """(network, explainer, preprocessing, images) of ``job``, loaded once per worker process (the last job's only).

    The model must have the checksum the driver saw, and the data the same index.
    """
    from .pipeline import load_classifier, read_data  # the pipeline imports this module

    key = repr(job)
    if key not in _LOADED:
        _LOADED.clear()
        network, layer, preprocess, _ = load_classifier(job.model)
        explainer = Explainer(network, layer=layer)
        if explainer.model_checksum != job.model_checksum:
            raise BadInput(f"{job.model.weights}: the model file changed while the audit ran; start it again")
        images = read_data(job.data, preprocess.size)
        if index_digest(images) != job.index:
            raise BadInput(f"{job.data.folder}: the data set changed while the audit ran; start it again")
        _LOADED[key] = network, explainer, preprocess, images
    return _LOADED[key]


def score_block(job: AuditJob, index: int, numbers: list[int], parts: str) -> dict:
    """The task: the scores of images ``numbers`` into a fresh folder of ``parts``; its ledger entry."""
    with one_task_at_a_time(job.threads):
        network, explainer, preprocess, images = _loaded(job)
        scores = score_batch(network, explainer, images, preprocess, numbers, job.model.device)
        folder = block_folder(parts, index)
        np.save(folder / PIECE, scores.to_array(), allow_pickle=False)
        return block_entry(BATCHES, numbers, folder)


def score_on_dask(job: AuditJob, batches: list[list[int]], parts: Path, cluster: ClusterChoice,
                  progress: Progress = SILENT) -> tuple[Scores, list]:
    """The ``Scores`` of every batch, computed on the cluster into ``parts`` (reusing the batches its ledger
    holds intact); and each worker's peak resident bytes."""
    from rather.common.cluster import worker_peaks

    with cluster.client() as client:
        entries = run_blocks(client, score_block, job, batches, Ledger(parts, BATCHES, job.fingerprint(), progress),
                             timeout=cluster.timeout, progress=progress)
        peaks = worker_peaks(client, cluster.timeout)
    pieces = []
    for index, numbers in enumerate(batches):
        array = np.load(parts / entries[index]["folder"] / PIECE, allow_pickle=False)
        if array.ndim != 2 or len(array) != len(numbers):
            raise BadInput(f"{parts}: batch {index}'s scores are not one row per image; delete {parts} and run "
                           "again")
        pieces.append(Scores.from_array(array))
    return Scores.concatenate(pieces), peaks
