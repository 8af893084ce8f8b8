"""Blocks of lines, their pieces and the ledger, without a cluster: a piece equals explaining its lines directly."""
import json
import os

import h5py
import numpy as np
import pytest
import torch

from rather.common import Explainer, load_model
from rather.seismic import classifier
from rather.common.cluster import file_checksum, parts_folder, split_blocks
from rather.seismic.blocks import PIECE, Ledger, VolumeJob, explain_block, read_ledger, worker_survey
from rather.seismic.lines import explain_line
from rather.seismic.sections import SectionStore, read_section
from rather.seismic.segy import open_survey
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    folder = tmp_path_factory.mktemp("blocks")
    survey, _ = write_survey(make_survey(5, SurveyParameters(inlines=3, crosslines=56, samples=60)),
                             folder / "survey.sgy")
    model, meta = load_model(weights=classifier.DEFAULT_CHECKPOINT)
    explainer = Explainer(model, layer=meta.get("layer", classifier.LAYER))
    return VolumeJob(survey=str(survey), model=str(classifier.DEFAULT_CHECKPOINT),
                     model_checksum=explainer.model_checksum, layer=explainer.layer_name, kind="inline",
                     patch=classifier.PATCH, stride=25, iline=189, xline=193, device="cpu", block_lines=2,
                     threads=torch.get_num_threads())


def test_blocks_are_consecutive_runs_of_lines():
    assert split_blocks([5, 6, 7, 8, 9], 2) == [[5, 6], [7, 8], [9]]
    assert split_blocks([5, 6], 8) == [[5, 6]]


def test_parts_folder_is_hidden_beside_the_output(tmp_path):
    assert parts_folder(tmp_path / "out") == tmp_path / ".out.parts"


def test_a_piece_holds_its_lines_as_explained_directly(job, tmp_path):
    entry = explain_block(job, 0, [100, 101], str(tmp_path))
    folder = tmp_path / entry["folder"]
    assert entry["lines"] == [100, 101] and folder.name.startswith("block_000000.")
    assert set(entry["files"]) == {PIECE}  # the driver draws the figures, with the run's scaling
    assert all(file_checksum(folder / name) == checksum for name, checksum in entry["files"].items())
    model, _ = load_model(weights=job.model)
    with open_survey(job.survey) as survey:
        direct = explain_line(survey, Explainer(model, layer=job.layer), "inline", 101, patch=job.patch,
                              stride=job.stride)
    from_piece = read_section(folder / PIECE, "inline", 101)
    for name in ("maps", "raw", "probabilities", "predicted", "patch_classes", "rows", "cols", "asked"):
        expected, got = getattr(direct, name), getattr(from_piece, name)
        assert got.dtype == expected.dtype and np.array_equal(got, expected), name
    assert (from_piece.patch, from_piece.stride) == (job.patch, job.stride)
    assert explain_block(job, 0, [100], str(tmp_path))["folder"] != entry["folder"]  # every attempt: a new folder


def test_read_section_returns_what_the_store_wrote(job, tmp_path):
    model, _ = load_model(weights=job.model)
    with open_survey(job.survey) as survey:
        section = explain_line(survey, Explainer(model, layer=job.layer), "inline", 102, patch=job.patch, stride=40)
    with SectionStore(tmp_path / "s.h5", {}) as store:
        store.add("inline", 102, section)
    with h5py.File(tmp_path / "s.h5", "r") as file:
        assert list(file["sections"]) == ["inline_102"]
    again = read_section(tmp_path / "s.h5", "inline", 102)
    assert np.array_equal(again.maps, section.maps) and again.stride == 40


def fake_piece(parts, name, content=b"piece"):
    (parts / name).mkdir(parents=True)
    (parts / name / PIECE).write_bytes(content)
    return {"lines": [100, 101], "folder": name, "files": {PIECE: file_checksum(parts / name / PIECE)}}


def test_the_ledger_reuses_only_intact_blocks_of_the_same_job(job, tmp_path):
    parts = tmp_path / ".out.parts"
    ledger = Ledger(parts, job)
    ledger.record(0, fake_piece(parts, "block_000000.a"))
    ledger.record(1, fake_piece(parts, "block_000001.b"))
    content = json.loads((parts / "ledger.json").read_text())
    assert content["job"]["stride"] == job.stride and sorted(content["blocks"]) == ["0", "1"]

    again = Ledger(parts, job)
    assert again.intact(0, [100, 101]) and again.intact(1, [100, 101])
    assert not again.intact(0, [100]) and not again.intact(2, [102])
    (parts / "block_000001.b" / PIECE).write_bytes(b"other")  # a piece changed on disk: computed again
    assert not again.intact(1, [100, 101])
    (parts / "block_000000.a" / PIECE).unlink()
    assert not again.intact(0, [100, 101])


def test_the_ledger_of_another_job_is_discarded_with_its_pieces(job, tmp_path):
    parts = tmp_path / ".out.parts"
    Ledger(parts, job).record(0, fake_piece(parts, "block_000000.a"))
    other = VolumeJob(**{**job.__dict__, "stride": job.stride + 1})
    assert not Ledger(parts, other).intact(0, [100, 101])
    assert sorted(p.name for p in parts.iterdir()) == []

    Ledger(parts, job).record(0, fake_piece(parts, "block_000000.a"))
    stat = os.stat(job.survey)
    os.utime(job.survey, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # the survey was rewritten since
    try:
        assert not Ledger(parts, job).intact(0, [100, 101])
    finally:
        os.utime(job.survey, ns=(stat.st_atime_ns, stat.st_mtime_ns))


def test_pieces_without_a_ledger_are_not_reused(job, tmp_path):
    parts = tmp_path / ".out.parts"
    fake_piece(parts, "block_000000.a")  # written by a driver killed before its first record
    assert not Ledger(parts, job).intact(0, [100, 101]) and not (parts / "block_000000.a").exists()


def test_read_ledger_gives_the_recorded_blocks_or_why_there_are_none(job, tmp_path):
    parts = tmp_path / ".out.parts"
    assert read_ledger(parts, job.fingerprint()) == ({}, None)   # no ledger yet: nothing to say
    entry = fake_piece(parts, "block_000000.a")
    Ledger(parts, job).record(0, entry)
    assert read_ledger(parts, job.fingerprint()) == ({0: entry}, None)
    assert read_ledger(parts, {**job.fingerprint(), "stride": 1}) == (
        {}, "ledger.json was written for another job (other survey, model or settings)")
    (parts / "ledger.json").write_text("[]")
    assert read_ledger(parts, job.fingerprint()) == ({}, "ledger.json is not a ledger (no blocks)")


def test_a_discarded_ledger_is_noted(job, tmp_path):
    parts = tmp_path / ".out.parts"
    fake_piece(parts, "block_000000.a")
    (parts / "ledger.json").write_text("{")
    notes = []
    progress = type("Notes", (), {"note": lambda self, message: notes.append(message)})()
    assert Ledger(parts, job, progress).blocks == {} and sorted(parts.iterdir()) == []
    assert notes == ["ledger.json cannot be read as JSON; its finished blocks are discarded and computed again"]


def test_a_worker_opens_a_survey_once_and_again_when_it_changes(job, tmp_path):
    copy = tmp_path / "copy.sgy"
    copy.write_bytes(open(job.survey, "rb").read())
    with worker_survey(job.survey, 189, 193) as first:
        pass
    with worker_survey(job.survey, 189, 193) as again:
        assert again is first and opened(job.survey) == 1  # kept open between tasks
    with worker_survey(str(copy), 189, 193) as other:
        assert other is not first and opened(job.survey) == 0  # another survey: the one held is closed
    os.utime(copy, ns=(0, 0))  # the file changed (its modification time)
    with worker_survey(str(copy), 189, 193) as changed:
        assert changed is not other and opened(copy) == 1
        np.testing.assert_array_equal(changed.inlines, first.inlines)


def opened(path) -> int:
    """How many file descriptors of this process are open on ``path``."""
    target = os.path.realpath(path)
    return sum(os.path.realpath(os.path.join("/proc/self/fd", fd)) == target for fd in os.listdir("/proc/self/fd"))
