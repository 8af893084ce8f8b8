"""Hostile options of ``rather seismic train`` and ``explain``: refused before any work, in one line.

Each case is a clean refusal (the ``refuse`` fixture): exit 2, one line naming the
option and what to give, the survey untouched, no checkpoint, no output folder, no
``.out.parts`` beside it.
"""
from __future__ import annotations

import pytest

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey


@pytest.fixture(scope="module")
def survey_bytes(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("hostile_options")
    path, _ = write_survey(make_survey(4, SurveyParameters(inlines=2, crosslines=56, samples=60)), folder / "s.sgy")
    return path.read_bytes()


@pytest.mark.parametrize("option, value", [("--surveys", "0"), ("--per-class", "0"), ("--epochs", "0"),
                                           ("--epochs", "-3")])
def test_train_with_nothing_to_train_on(tmp_path, refuse, option, value):
    refuse(["seismic", "train", "--out", tmp_path / "model.pt", option, value],
           says=f"rather seismic: error: {option} must be a positive number; got {value}")


@pytest.mark.parametrize("extra, says", [
    (["--stride", "0"], "--stride must be a positive number of samples; got 0"),
    (["--stride", "-10"], "--stride must be a positive number of samples; got -10"),
    (["--workers", "2"], "--workers and --scheduler explain a whole survey in blocks of inlines; add --all"),
    (["--scheduler", "tcp://127.0.0.1:1"], "add --all"),
    (["--all", "--workers", "0"], "--workers must be a positive number of worker processes; got 0"),
    (["--all", "--workers", "1", "--block-lines", "0"], "--block-lines must be a positive number of inlines; got 0"),
    (["--all", "--workers", "1", "--timeout=-inf"], "--timeout must be a positive number of seconds; got -inf"),
])
def test_explain_options_that_cannot_run(tmp_path, survey_bytes, refuse, extra, says):
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    refuse(["seismic", "explain", survey, "--out", tmp_path / "D", *extra], says=("rather seismic: error: ", says))
