"""Hostile options and neighbours of ``rather seismic explain``'s outputs (issue 16).

``--questions``, ``--normalise``, ``--figures`` / ``--no-figures`` given wrong are clean
refusals (the ``refuse`` fixture: exit 2, one line, the folder untouched) before any line is
explained. A labels file beside the survey that cannot be used is no reason to fail a run:
the figures are drawn without it, and a note says why.
"""
from __future__ import annotations

import json

import h5py
import pytest

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

CLASSES = "horizon, chaotic, fault, salt_dome"


@pytest.fixture(scope="module")
def survey_bytes(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("hostile_outputs")
    path, _ = write_survey(make_survey(4, SurveyParameters(inlines=2, crosslines=56, samples=60)), folder / "s.sgy")
    return path.read_bytes()


@pytest.fixture
def survey(tmp_path, survey_bytes):
    path = tmp_path / "survey.sgy"
    path.write_bytes(survey_bytes)
    return path


@pytest.mark.parametrize("extra, says", [
    (["--normalise", "slice"], "argument --normalise: invalid choice: 'slice'"),
    (["--normalise", ""], "argument --normalise: invalid choice: ''"),
    (["--normalise", "Volume"], "argument --normalise: invalid choice: 'Volume'"),
    (["--figures", "every:0"], "--figures every:0: give all, none, or every:N with N a positive whole number"),
    (["--figures", "every:-2"], "--figures every:-2: give all, none, or every:N"),
    (["--figures", "every:ten"], "--figures every:ten: give all, none, or every:N"),
    (["--figures", "every:"], "--figures every:: give all, none, or every:N"),
    (["--figures", "every:2.5"], "--figures every:2.5: give all, none, or every:N"),
    (["--figures", "some"], "--figures some: give all, none, or every:N"),
    (["--figures", "every:3", "--no-figures"], "argument --no-figures: not allowed with argument --figures"),
    (["--questions", ""], "--questions is empty; give why, rather, or class names separated by commas"),
    (["--questions", "bogus"], f"'bogus' is not a question of this model; give why, rather, or class names of "
                               f"the model ({CLASSES})"),
    (["--questions", "why,salt dome"], "'salt dome' is not a question of this model"),
    (["--questions", ",,"], "--questions is empty"),
    (["--questions", "why,,fault"], "'' is not a question of this model"),
    (["--questions", "rather_than_"], "'rather_than_' is not a question of this model"),
    (["--questions", "WHY"], "'WHY' is not a question of this model"),
    (["--questions", "why;fault"], "'why;fault' is not a question of this model"),
    (["--questions", "rather_than_rather_than_fault"], "'rather_than_rather_than_fault' is not a question"),
], ids=["normalise-unknown", "normalise-empty", "normalise-capitalised", "figures-every-0", "figures-negative",
        "figures-word", "figures-no-count", "figures-fraction", "figures-unknown", "figures-and-no-figures",
        "questions-empty", "questions-unknown", "questions-space", "questions-only-commas", "questions-gap",
        "questions-bare-prefix",
        "questions-capitalised", "questions-semicolon", "questions-double-prefix"])
def test_output_options_that_cannot_run(tmp_path, survey, refuse, extra, says):
    refuse(["seismic", "explain", survey, "--out", tmp_path / "D", *extra], says=("rather seismic", says))


def explain(run_cli, survey, out, *extra):
    outcome = run_cli(["seismic", "explain", survey, "--stride", 40, "--out", out, "--progress", *extra])
    assert outcome.status == 0, outcome.err
    return outcome, json.loads((out / "summary.json").read_text())


@pytest.mark.slow
@pytest.mark.parametrize("labels", [b"not an HDF5 file", b""], ids=["labels-not-hdf5", "labels-empty"])
def test_labels_that_cannot_be_read_leave_the_figures_without_them(tmp_path, survey, run_cli, labels):
    (tmp_path / "survey.labels.h5").write_bytes(labels)
    outcome, summary = explain(run_cli, survey, tmp_path / "out")
    assert "labels left out of the figures: survey.labels.h5" in outcome.err
    assert (tmp_path / "out" / summary["sections"][0]["figure"]).is_file()


@pytest.mark.slow
def test_labels_of_another_survey_leave_the_figures_without_them(tmp_path, survey, run_cli):
    write_survey(make_survey(5, SurveyParameters(inlines=2, crosslines=40, samples=60)), tmp_path / "other.sgy")
    (tmp_path / "other.labels.h5").rename(tmp_path / "survey.labels.h5")
    outcome, _ = explain(run_cli, survey, tmp_path / "out")
    assert "labels left out of the figures: survey.labels.h5: its inline 101 is 60 x 40, the survey's 60 x 56" \
        in outcome.err


@pytest.mark.slow
def test_a_labels_folder_is_not_labels(tmp_path, survey, run_cli):
    (tmp_path / "survey.labels.h5").mkdir()
    outcome, _ = explain(run_cli, survey, tmp_path / "out")
    assert "labels" not in outcome.err


@pytest.mark.slow
def test_no_segy_and_no_figures_leave_the_store_and_the_summary(tmp_path, survey, run_cli):
    out = tmp_path / "out"
    outcome, summary = explain(run_cli, survey, out, "--no-segy", "--no-figures", "--questions", "fault")
    assert sorted(path.name for path in out.iterdir()) == ["explanations.h5", "summary.json"]
    assert summary["outputs"]["segy"] == {} and summary["sections"][0]["figure"] is None
    assert summary["questions"] == ["rather_than_fault"]
    with h5py.File(out / "explanations.h5", "r") as store:  # the store keeps every question
        assert store["sections/inline_101/maps"].shape[0] == 5


@pytest.mark.slow
@pytest.mark.parametrize("text", [bytes(3200), bytes(range(128, 256)) * 25], ids=["text-nul", "text-high-bytes"])
def test_a_survey_with_an_odd_textual_header_gets_rather_s_cards_and_keeps_its_own(tmp_path, survey, run_cli, text):
    import segyio

    survey.write_bytes(text + survey.read_bytes()[3200:])
    _, summary = explain(run_cli, survey, tmp_path / "out", "--no-figures")
    written = (tmp_path / "out" / "why.sgy").read_bytes()[:3200]
    assert written[:33 * 80] == text[:33 * 80] and written[33 * 80:].startswith(b"C34 RATHER ")
    assert f"MODEL {summary['model_checksum']}".encode() in written
    with segyio.open(str(tmp_path / "out" / "why.sgy")) as why:
        assert list(why.ilines) == [101]
