"""Hostile ``--format`` and ``--zarr-bits`` values of ``rather seismic explain``, and ``--survey-size`` values of
``rather bench seismic``: refused before any work, in one line.

Each case is a clean refusal (the ``refuse`` fixture): exit 2, one line naming the
option and what it takes, the survey untouched, no output folder.
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


@pytest.mark.parametrize("argv, says", [
    (["--format", "zarr", "--zarr-bits", "16"], "--zarr-bits 16: give 8 (values in [0, 1] packed to within 1/508, the "
                                                "default) or 32 (float32)"),
    (["--format", "zarr", "--zarr-bits", "0"], "--zarr-bits 0: give 8"),
    (["--format", "netcdf", "--zarr-bits", "-8"], "--zarr-bits -8: give 8"),
    (["--format", "zarr", "--zarr-bits", "64"], "--zarr-bits 64: give 8"),
    (["--format", "zarr", "--zarr-bits", "1"], "--zarr-bits 1: give 8"),
    (["--format", "zarr", "--zarr-bits", "eight"], "argument --zarr-bits: invalid int value: 'eight'"),
    (["--format", "zarr", "--zarr-bits", "8.0"], "argument --zarr-bits: invalid int value: '8.0'"),
    (["--format", "zarr", "--zarr-bits="], "argument --zarr-bits: invalid int value: ''"),
    (["--zarr-bits", "32"], "--zarr-bits 32 sets the precision of the zarr and netCDF outputs; add --format zarr"),
    (["--format", "segy", "--zarr-bits", "8"], "--zarr-bits 8 sets the precision of the zarr and netCDF outputs"),
    (["--format", "zarr,zarr", "--zarr-bits", "32"], "--format takes some of segy,zarr,netcdf separated by commas (one "
                                                     "is given twice)"),
    (["--format", "tiff", "--zarr-bits", "32"], "'tiff' is not one of them"),
])
def test_zarr_bits_that_name_no_precision_or_no_store(tmp_path, survey_bytes, refuse, argv, says):
    survey = tmp_path / "survey.sgy"
    survey.write_bytes(survey_bytes)
    refuse(["seismic", "explain", survey, "--out", tmp_path / "D", *argv], says=("rather seismic", says))


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
