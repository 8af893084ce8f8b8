"""Hostile ``--format`` values of ``rather seismic explain``: refused before any work, in one line.

Each case is a clean refusal (the ``refuse`` fixture): exit 2, one line naming
``--format`` and what it takes, the survey untouched, no output folder.
"""
from __future__ import annotations

import pytest

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey


@pytest.fixture(scope="module")
def survey_bytes(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("hostile_stores")
    path, _ = write_survey(make_survey(4, SurveyParameters(inlines=2, crosslines=56, samples=60)), folder / "s.sgy")
    return path.read_bytes()


@pytest.mark.parametrize("value, problem", [
    ("", "'' is not one of them"),
    (",", "'' is not one of them"),
    ("zarr,,netcdf", "'' is not one of them"),
    ("segy,", "'' is not one of them"),
    ("zarr,zarr", "one is given twice"),
    ("SEGY", "'SEGY' is not one of them"),
    ("tiff", "'tiff' is not one of them"),
    ("hdf5", "'hdf5' is not one of them"),
    ("zarr;netcdf", "'zarr;netcdf' is not one of them"),
    ("../../zarr", "'../../zarr' is not one of them"),
    ("segy zarr", "'segy zarr' is not one of them"),
])
def test_format_values_that_name_no_output(tmp_path, survey_bytes, refuse, value, problem):
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    refuse(["seismic", "explain", survey, "--out", tmp_path / "D", f"--format={value}"],
           says=("rather seismic: error: --format takes some of segy,zarr,netcdf separated by commas", problem))


@pytest.mark.parametrize("value", ["", "F4", "f3x", "8x951", "8x951x462x2", "0x951x462", "8x49x462", "8x951x49",
                                   "8x951x462,", "-8x951x462", "8x951x4e2", "８x951x462"])
def test_survey_sizes_that_are_no_size(refuse, value):
    refuse(["bench", "seismic", f"--survey-size={value}"],
           says=("rather bench: error: --survey-size takes F3 or INLINESxCROSSLINESxSAMPLES", f"got '{value}'"))


@pytest.mark.parametrize("argv, says", [
    (["bench", "iqa", "--survey-size", "F3"], "--survey-size runs the seismic benchmark on surveys of a given size, "
                                              "not 'iqa'"),
    (["bench", "seismic", "--survey-size", "F3", "--workers", "1,2"], "--workers with --survey-size is the size of "
                                                                      "one Dask cluster, e.g. 2; got '1,2'"),
    (["bench", "seismic", "--survey-size", "F3", "--workers", "0"], "--workers takes positive worker counts"),
])
def test_survey_size_with_options_it_cannot_take(refuse, argv, says):
    refuse(argv, says=("rather bench: error: ", says))
