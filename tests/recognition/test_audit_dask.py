"""``rather recognition audit --workers N``: the single process's bytes, and a resumable run.

Every output file is byte-identical to the single process's, but summary.json, which is
equal but for the timing (``seconds`` and ``run``: speed, where it ran, peak memory).
"""
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
import torch
from PIL import Image

from rather.common.cluster import Ledger, file_checksum, parts_folder, split_blocks
from rather.recognition.audit import Scores
from rather.recognition.batches import BATCHES, PIECE, AuditJob, index_digest, score_block
from rather.recognition.options import DataChoice, ModelChoice
from rather.recognition.pipeline import load_classifier, read_data
from rather.suites.cli import main

from test_audit_cli import RESNET_KWARGS, resnet_weights

CLASSES = ("finch", "sparrow", "wren")
PER_CLASS = 6
BATCH = 4
BATCHES_COUNT = -(-len(CLASSES) * PER_CLASS // BATCH)
TIMING = ("seconds", "run")


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """An image folder of noise pictures, a three-class user model, and its single-process audit (``single/out``)."""
    folder = tmp_path_factory.mktemp("audit_dask")
    generator = np.random.default_rng(3)
    for name in CLASSES:
        for number in range(PER_CLASS):
            (folder / "data" / name).mkdir(parents=True, exist_ok=True)
            pixels = generator.integers(0, 256, (30 + number, 40, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(folder / "data" / name / f"{number}.png")
    resnet_weights(folder / "w.pt", len(CLASSES))
    assert main(command(folder, folder / "out")) == 0
    return folder


def command(folder, out, *extra):
    return ["recognition", "audit", "--format", "imagefolder", str(folder / "data"), "--split", "all",
            "--model", "rather.common.networks:ResNetLike", "--weights", str(folder / "w.pt"),
            "--model-kwargs", json.dumps({**RESNET_KWARGS, "num_classes": len(CLASSES)}), "--layer", "layer2",
            "--size", "32", "32", "--steps", "2", "--truth-images", "6", "--per-pair", "2", "--sanity-images", "2",
            "--sanity-steps", "2", "--batch-size", str(BATCH), "--out", str(out), *extra]


def summary_of(out) -> dict:
    return json.loads((out / "summary.json").read_text())


def assert_same_results(expected, got):
    """The same files; each byte-identical, summary.json equal but for its timing."""
    names = sorted(path.name for path in expected.iterdir())
    assert names == sorted(path.name for path in got.iterdir()) and "explanations.h5" in names
    for name in names:
        if name != "summary.json":
            assert (expected / name).read_bytes() == (got / name).read_bytes(), name
    first, second = summary_of(expected), summary_of(got)
    assert set(TIMING) <= set(first)
    assert {**first, **dict.fromkeys(TIMING)} == {**second, **dict.fromkeys(TIMING)}
    assert not parts_folder(got).exists()  # the pieces are gone once the outputs are complete


def test_two_workers_give_the_single_process_results(single, tmp_path, capsys):
    environment = dict(os.environ)
    capsys.readouterr()
    assert main(command(single, tmp_path / "out", "--workers", "2")) == 0
    assert_same_results(single / "out", tmp_path / "out")
    assert dict(os.environ) == environment  # not Dask's OMP_NUM_THREADS=1: later runs would compute other bits
    run = summary_of(tmp_path / "out")["run"]
    assert run["workers"] == 2 and run["batches"] == BATCHES_COUNT and len(run["peak_rss_bytes_per_worker"]) == 2
    assert f"on 2 Dask worker(s);" in capsys.readouterr().out


def test_the_single_process_says_how_it_ran(single):
    run = summary_of(single / "out")["run"]
    assert run["images"] == len(CLASSES) * PER_CLASS and run["batches"] == BATCHES_COUNT
    assert run["workers"] is None and run["scheduler"] is None and run["peak_rss_bytes"] > 2**20
    assert run["images_per_second"] > 0 and "peak_rss_bytes_per_worker" not in run


def job_of(folder) -> AuditJob:
    data = DataChoice("imagefolder", folder / "data", split="all")
    model = ModelChoice("rather.common.networks:ResNetLike", folder / "w.pt",
                        {**RESNET_KWARGS, "num_classes": len(CLASSES)}, "layer2", (32, 32))
    from rather.common import Explainer

    network, layer, preprocess, _ = load_classifier(model)
    images = read_data(data, preprocess.size)
    return AuditJob.of(data, model, Explainer(network, layer=layer), images, BATCH)


def test_a_batch_piece_holds_the_scores_of_its_images(single, tmp_path):
    job = job_of(single)
    entry = score_block(job, 1, [4, 5, 6, 7], str(tmp_path))
    assert entry["images"] == [4, 5, 6, 7] and entry["folder"].startswith("block_000001.")
    assert set(entry["files"]) == {PIECE}
    scores = Scores.from_array(np.load(tmp_path / entry["folder"] / PIECE))
    assert scores.logits.shape == (4, len(CLASSES)) and scores.logits.dtype == torch.float32
    assert scores.trust.shape == scores.voice.shape == (4,) and bool((scores.trust >= 1).all())
    assert np.array_equal(Scores.from_array(scores.to_array()).to_array(), scores.to_array())


def test_the_fingerprint_follows_the_images_and_survives_json(single, tmp_path):
    job = job_of(single)
    assert json.loads(json.dumps(job.fingerprint())) == job.fingerprint()
    assert job.fingerprint()["data"]["folder"] == str(single / "data") and job.fingerprint()["batch_size"] == BATCH
    before = job.index
    image = single / "data" / "wren" / "0.png"
    stat = os.stat(image)
    os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # an image rewritten since
    try:
        data = read_data(job.data, (32, 32))
        assert index_digest(data) != before
    finally:
        os.utime(image, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert index_digest(read_data(job.data, (32, 32))) == before


@pytest.mark.slow
def test_a_recorded_batch_is_reused_not_computed_again(single, tmp_path):
    """A ledger left by an interrupted run: its batch is read back as recorded (here altered, so it shows)."""
    out = tmp_path / "out"
    job = job_of(single)
    parts = parts_folder(out)
    ledger = Ledger(parts, BATCHES, job.fingerprint())
    entry = score_block(job, 0, list(range(BATCH)), str(parts))
    honest = np.load(parts / entry["folder"] / PIECE)
    altered = honest.copy()
    altered[:, -2] = 4.5  # every GradTrust of the first batch
    np.save(parts / entry["folder"] / PIECE, altered)
    ledger.record(0, {**entry, "files": {PIECE: file_checksum(parts / entry["folder"] / PIECE)}})
    score_block(job, 1, list(range(BATCH, 2 * BATCH)), str(parts))  # a piece a killed run left unrecorded
    assert main(command(single, out, "--workers", "1")) == 0
    means = ("mean_gradtrust_correct", "mean_gradtrust_mistakes")
    reference, got = summary_of(single / "out")["trust"], summary_of(out)["trust"]
    assert [got[mean] for mean in means] != [reference[mean] for mean in means]  # recomputed, they would be equal
    assert summary_of(out)["accuracy"] == summary_of(single / "out")["accuracy"]
    assert not parts.exists()


def recorded(out) -> int:
    try:
        return len(json.loads((parts_folder(out) / "ledger.json").read_text())["blocks"])
    except (OSError, ValueError):
        return 0


@pytest.mark.slow
def test_a_killed_driver_resumes_from_its_ledger(single, tmp_path, capsys):
    out = tmp_path / "out"
    driver = subprocess.Popen([sys.executable, "-m", "rather.suites.cli",
                               *command(single, out, "--workers", "2", "--batch-size", "1")],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        started = time.monotonic()
        while recorded(out) < 2:
            assert driver.poll() is None, "the driver ended before the batches were recorded"
            assert time.monotonic() - started < 300
            time.sleep(0.05)
        driver.send_signal(signal.SIGKILL)
        driver.wait()
    finally:
        try:
            os.killpg(driver.pid, signal.SIGKILL)  # the workers the driver left behind
        except ProcessLookupError:
            pass
    done = recorded(out)
    total = len(CLASSES) * PER_CLASS
    assert 2 <= done < total and not out.exists()
    capsys.readouterr()
    assert main(command(single, out, "--workers", "2", "--batch-size", "1", "--progress")) == 0
    assert f"| {done}/{total} [00:00<?" in capsys.readouterr().err  # the bar starts from the reused batches
    reference = tmp_path / "reference"
    assert main(command(single, reference, "--batch-size", "1")) == 0
    assert_same_results(reference, out)


def test_batches_are_the_single_process_batches():
    assert split_blocks(range(10), 4) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
