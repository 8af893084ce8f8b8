"""``rather seismic explain --format zarr,netcdf``: the explained lines on the survey's grid, for xarray.

The zarr store opens with ``xarray.open_zarr`` with real coordinates (line numbers,
times, CDP X/Y with the coordinate scalar applied); its variables are the HDF5 store's
section maps put back on the grid, NaN where nothing was explained, packed to 8 bits
(within half a step of the float32 maps) unless ``--zarr-bits 32`` keeps them exact;
the netCDF file is the same dataset, packed alike; the HDF5 store's groups read with
real coordinates through h5netcdf.
"""
from __future__ import annotations

import dataclasses
import json

import h5py
import numpy as np
import pytest
import segyio
import xarray

from rather.common import BadInput
from rather.seismic.options import ExplainOptions
from rather.seismic.classes import CLASS_NAMES as CLASSES
from rather.seismic.sections import QUESTIONS
from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey
from rather.seismic.volume_store import FILL, STEP, Precision
from rather.suites.cli import main

VARIABLES = list(QUESTIONS) + ["predicted_class", "margin"]
INLINES, CROSSLINES, SAMPLES = 3, 56, 60


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    """A small synthetic survey explained whole in every format, and in zarr at 32 bits; its middle inline alone
    in zarr."""
    folder = tmp_path_factory.mktemp("stores")
    survey = folder / "survey.sgy"
    write_survey(make_survey(4, SurveyParameters(inlines=INLINES, crosslines=CROSSLINES, samples=SAMPLES)), survey)
    common = [str(survey), "--stride", "25"]
    assert main(["seismic", "explain", *common, "--all", "--format", "segy,zarr,netcdf", "--out",
                 str(folder / "all")]) == 0
    assert main(["seismic", "explain", *common, "--all", "--format", "zarr", "--zarr-bits", "32", "--figures", "none",
                 "--no-segy", "--out", str(folder / "float32")]) == 0
    assert main(["seismic", "explain", *common, "--format", "zarr", "--time", "20", "230", "--out",
                 str(folder / "one")]) == 0
    return folder


def headers(path):
    """Inline, crossline, CDP X, CDP Y and coordinate scalar of every trace, as segyio reads them."""
    with segyio.open(str(path), ignore_geometry=True) as file:
        return {name: np.asarray(file.attributes(byte)[:], dtype=np.float64) for name, byte in [
            ("inline", 189), ("crossline", 193), ("x", 181), ("y", 185), ("scalar", 71)]}


def test_the_zarr_store_opens_with_real_coordinates(explained):
    volume = xarray.open_zarr(explained / "all" / "explanations.zarr")
    assert volume[QUESTIONS[0]].dims == ("inline", "crossline", "time")
    assert sorted(volume.data_vars) == sorted(VARIABLES)
    words = headers(explained / "survey.sgy")
    assert set(words["scalar"]) == {-100}  # centimetres: the coordinates are divided by 100
    np.testing.assert_array_equal(volume.inline, np.unique(words["inline"]))
    np.testing.assert_array_equal(volume.crossline, np.unique(words["crossline"]))
    with segyio.open(str(explained / "survey.sgy"), ignore_geometry=True) as file:
        np.testing.assert_array_equal(volume.time, file.samples)
    for trace in (0, 77, len(words["x"]) - 1):
        at = volume.sel(inline=words["inline"][trace], crossline=words["crossline"][trace])
        assert float(at.cdp_x) == pytest.approx(words["x"][trace] / 100)
        assert float(at.cdp_y) == pytest.approx(words["y"][trace] / 100)
    assert bool(volume.live_mask.all())
    assert volume.attrs["questions"] == list(QUESTIONS) and volume.attrs["format"] == "rather.seismic.volume"


def assert_within_half_a_step(decoded, floats):
    """``decoded`` (xarray's float64 of a packed variable) is NaN where ``floats`` is, and within STEP / 2 elsewhere."""
    np.testing.assert_array_equal(np.isnan(decoded), np.isnan(floats))
    asked = ~np.isnan(floats)
    assert np.abs(decoded[asked] - floats[asked]).max(initial=0) <= STEP / 2 + 1e-12


@pytest.mark.parametrize("bits", [8, 32])
def test_its_variables_are_the_section_maps_on_the_grid(explained, bits):
    folder = explained / ("all" if bits == 8 else "float32")
    volume = xarray.open_zarr(folder / "explanations.zarr")
    with h5py.File(folder / "explanations.h5") as store:
        for number in volume.inline.values:
            group = store[f"sections/inline_{number}"]
            line = volume.sel(inline=number)
            top = np.sort(group["probabilities"][()], axis=0)
            margin = (top[-1] - top[-2]).T
            if bits == 8:
                for index, question in enumerate(QUESTIONS):
                    assert_within_half_a_step(line[question].values, group["maps"][index].T)
                assert_within_half_a_step(line.margin.values, margin)
            else:
                for index, question in enumerate(QUESTIONS):
                    np.testing.assert_array_equal(line[question].values, group["maps"][index].T)
                np.testing.assert_allclose(line.margin.values, margin)
            np.testing.assert_array_equal(line.predicted_class.values, group["predicted"][()].T)
    stored = zarr_arrays(folder / "explanations.zarr")
    assert {stored[name].dtype for name in QUESTIONS + ("margin",)} == {np.dtype(np.uint8 if bits == 8 else np.float32)}
    assert stored["predicted_class"].dtype == np.int8


def zarr_arrays(path):
    import zarr

    group = zarr.open_group(str(path), mode="r")
    return {name: group[name] for name in VARIABLES}


def test_packed_variables_are_cf_packed_codes_and_the_netcdf_file_keeps_them(explained):
    stored = zarr_arrays(explained / "all" / "explanations.zarr")
    assert {"scale_factor": STEP, "add_offset": 0.0, "_FillValue": FILL}.items() <= dict(stored["why"].attrs).items()
    assert stored["why"].metadata.fill_value == FILL  # chunks never written read as NaN too
    codes = stored["why"][:]
    asked = [stored[name][:] for name in QUESTIONS]
    assert codes.min() == 0 and max(held[held != FILL].max(initial=0) for held in asked) == FILL - 1  # the p99.5 clips to 1
    with h5py.File(explained / "all" / "explanations.nc") as netcdf:
        for name in QUESTIONS + ("margin",):
            variable = netcdf[name]
            assert variable.dtype == np.uint8 and variable.attrs["scale_factor"] == STEP
            assert variable.attrs["_FillValue"] == FILL and variable.attrs["add_offset"] == 0
        assert netcdf["predicted_class"].dtype == np.int8
        np.testing.assert_array_equal(netcdf["why"][()], codes)


@pytest.mark.parametrize("normalise, bits, packed", [
    ("volume", 8, QUESTIONS + ("margin",)), ("section", 8, QUESTIONS + ("margin",)), ("none", 8, ("margin",)),
    ("volume", 32, ()), ("none", 32, ()),
])
def test_values_in_zero_to_one_are_packed_raw_values_are_not(normalise, bits, packed):
    assert Precision.chosen(QUESTIONS, normalise, bits).packed == frozenset(packed)


def test_packing_rounds_to_the_nearest_code_and_refuses_values_outside_zero_to_one():
    precision = Precision.chosen(("why",), "volume", 8)
    values = np.array([0, STEP / 2 - 1e-9, 0.5, 1, np.nan, np.float32(1) + np.float32(1e-7)], dtype=np.float64)
    codes = precision.stored("why", values)
    np.testing.assert_array_equal(codes, [0, 0, 127, 254, FILL, 254])
    assert codes.dtype == np.uint8 and precision.stored("rather_than_salt", values) is values  # not packed: as is
    np.testing.assert_array_equal(precision.decoded("why", codes), [0, 0, 127 * STEP, 1, np.nan, 1])
    for outside in (-0.01, 1.01, np.inf):
        with pytest.raises(ValueError, match="why: values outside \\[0, 1\\] cannot be packed"):
            precision.stored("why", np.array([0.5, outside]))


def test_scaled_maps_lie_in_zero_to_one(explained):
    from rather.seismic.scaling import Scaling
    from rather.seismic.sections import read_section

    for how, factor in (("volume", 0.01), ("section", None)):
        for number in (100, 101, 102):
            values = Scaling(how, factor).apply(read_section(explained / "all" / "explanations.h5", "inline", number))
            assert np.nanmin(values) >= 0 and np.nanmax(values) <= 1


def test_chunks_follow_the_inlines_and_statistics_describe_each_variable(explained):
    volume = xarray.open_zarr(explained / "all" / "explanations.zarr")
    for name in VARIABLES:
        assert volume[name].encoding["chunks"] == (1, CROSSLINES, SAMPLES)
    for name in QUESTIONS + ("margin",):
        values = volume[name].values.astype(np.float64)
        values = values[np.isfinite(values)]  # NaN: not asked
        attributes = volume[name].attrs
        assert attributes["statistics_count"] == values.size
        if not values.size:  # a question never asked (every patch predicted its class): the count alone
            assert "statistics_min" not in attributes
            continue
        assert attributes["statistics_min"] == values.min() and attributes["statistics_max"] == values.max()
        assert attributes["statistics_mean"] == pytest.approx(values.mean())
        assert attributes["statistics_std"] == pytest.approx(values.std())
    assert volume.why.attrs["statistics_count"] == INLINES * CROSSLINES * SAMPLES  # Why P? is asked everywhere
    counts = volume.predicted_class.attrs["statistics_class_counts"]
    assert counts == np.bincount(volume.predicted_class.values.ravel().astype(int), minlength=4).tolist()
    assert sum(counts) == INLINES * CROSSLINES * SAMPLES


def test_the_netcdf_file_is_the_same_dataset(explained):
    zarr_volume = xarray.open_zarr(explained / "all" / "explanations.zarr")
    netcdf_volume = xarray.open_dataset(explained / "all" / "explanations.nc", engine="h5netcdf")
    xarray.testing.assert_identical(zarr_volume.load(), netcdf_volume.load())


def test_one_line_fills_its_own_region_only(explained):
    out = explained / "one"
    volume = xarray.open_zarr(out / "explanations.zarr")
    summary = json.loads((out / "summary.json").read_text())
    number = summary["sections"][0]["number"]
    assert summary["outputs"] == {"explanations": "explanations.h5", "segy": {}, "zarr": "explanations.zarr"}
    assert not list(out.glob("*.sgy")) and not (out / "explanations.nc").exists()
    assert (float(volume.time[0]), float(volume.time[-1]), volume.sizes["time"]) == (20, 228, 53)  # the window only
    others = volume.why.where(volume.inline != number)
    assert bool(others.isnull().all()) and bool(volume.why.sel(inline=number).notnull().all())
    assert volume.predicted_class.dtype == np.int8
    assert bool((volume.predicted_class.drop_sel(inline=number) == -1).all())
    assert volume.why.attrs["statistics_count"] == CROSSLINES * volume.sizes["time"]
    chunk_files = [path for path in (out / "explanations.zarr" / "why").rglob("*") if path.is_file()
                   and path.name != "zarr.json"]
    assert len(chunk_files) == 1  # the inlines not explained take no room


def test_a_missing_trace_is_masked(tmp_path):
    full = tmp_path / "full.sgy"
    write_survey(make_survey(4, SurveyParameters(inlines=2, crosslines=56, samples=60)), full)
    holed = copy_traces(full, tmp_path / "holed.sgy", lambda header: (header[189], header[193]) != (101, 304))
    missing = 101, 304
    assert main(["seismic", "explain", str(holed), "--inline", str(missing[0]), "--stride", "25", "--format", "zarr",
                 "--out", str(tmp_path / "out")]) == 0
    volume = xarray.open_zarr(tmp_path / "out" / "explanations.zarr").sel(inline=missing[0])
    hole = volume.sel(crossline=missing[1])
    assert not bool(hole.live_mask) and np.isnan(float(hole.cdp_x)) and bool(hole.why.isnull().all())
    assert bool((hole.predicted_class == -1).all())
    assert int(volume.live_mask.sum()) == 55 and bool(volume.why.where(volume.live_mask).notnull().sum() > 0)


def test_the_hdf5_sections_read_with_real_coordinates(explained):
    path = explained / "all" / "explanations.h5"
    with h5py.File(path) as store:
        number = json.loads((explained / "all" / "summary.json").read_text())["sections"][1]["number"]
        group = store[f"sections/inline_{number}"]
        section = xarray.open_dataset(path, engine="h5netcdf", group=f"sections/inline_{number}")
        assert section.maps.dims == ("question", "time", "crossline")
        assert section.probabilities.dims == ("class", "time", "crossline")
        assert section.patch_classes.dims == ("rows", "cols")
        np.testing.assert_array_equal(section.maps.values, group["maps"][()])
        assert list(section.question.values) == list(QUESTIONS)
    zarr_volume = xarray.open_zarr(explained / "all" / "explanations.zarr")
    np.testing.assert_array_equal(section.crossline, zarr_volume.crossline)
    np.testing.assert_array_equal(section.time, zarr_volume.time)


@pytest.mark.parametrize("formats, problem", [
    (("zarr", "zarr"), "one is given twice"), (("tiff",), "'tiff' is not one of them"),
    (("",), "'' is not one of them"),
])
def test_formats_are_checked_when_the_options_are_made(formats, problem):
    with pytest.raises(BadInput, match=f"--format takes some of segy,zarr,netcdf separated by commas \\({problem}\\)"):
        ExplainOptions(formats=formats)


def copy_traces(source_path, target_path, keep):
    """A SEG-Y copy of ``source_path`` holding only the traces ``keep(trace header)`` says, headers and all."""
    with segyio.open(str(source_path), ignore_geometry=True) as source:
        kept = [trace for trace in range(source.tracecount) if keep(source.header[trace])]
        spec = segyio.tools.metadata(source)
        spec.tracecount = len(kept)
        with segyio.create(str(target_path), spec) as target:
            target.text[0], target.bin = source.text[0], source.bin
            for at, trace in enumerate(kept):
                target.header[at], target.trace[at] = source.header[trace], source.trace[trace]
    return target_path


def test_a_file_of_one_inline_is_a_line_of_crosslines(explained, tmp_path):
    line = copy_traces(explained / "survey.sgy", tmp_path / "line.sgy", lambda header: header[189] == 101)
    assert main(["seismic", "explain", str(line), "--stride", "25", "--format", "zarr,netcdf", "--normalise", "none",
                 "--out", str(tmp_path / "out")]) == 0
    volume = xarray.open_zarr(tmp_path / "out" / "explanations.zarr")
    assert volume.why.dims == ("crossline", "time") and volume.why.encoding["chunks"] == (CROSSLINES, SAMPLES)
    whole = xarray.open_zarr(explained / "all" / "explanations.zarr").sel(inline=101)
    with h5py.File(explained / "all" / "explanations.h5") as store:  # the same line, explained alike: its raw maps
        np.testing.assert_array_equal(volume.why.values, store["sections/inline_101/raw"][0].T)
    np.testing.assert_array_equal(volume.cdp_x.values, whole.cdp_x.values)
    assert xarray.open_dataset(tmp_path / "out" / "explanations.nc", engine="h5netcdf").why.dims == ("crossline",
                                                                                                     "time")


@pytest.fixture
def grid(explained):
    from rather.seismic.survey import open_survey
    from rather.seismic.volume_store import volume_grid

    with open_survey(explained / "survey.sgy") as survey:
        return volume_grid(survey, "inline")


@pytest.mark.parametrize("planted", ["link", "file", "other shape", "other precision", "half made"])
def test_laying_out_replaces_what_is_not_the_jobs_store_and_follows_no_link(grid, tmp_path, planted):
    from rather.seismic.volume_store import VolumeStore, lay_out

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "keep.txt").write_text("not rather's")
    path = tmp_path / "parts" / "explanations.zarr"
    path.parent.mkdir()
    if planted == "link":
        path.symlink_to(elsewhere, target_is_directory=True)
    elif planted == "file":
        path.write_text("not a store")
    elif planted == "other shape":
        VolumeStore.create(path, dataclasses.replace(grid, line_axis=1), QUESTIONS, CLASSES, {})
    elif planted == "other precision":
        VolumeStore.create(path, grid, QUESTIONS, CLASSES, {}, Precision.chosen(QUESTIONS, "volume", 8))
    else:
        VolumeStore.create(path, grid, QUESTIONS, CLASSES, {})
        (path / "why" / "zarr.json").unlink()
    lay_out(path, grid, QUESTIONS, CLASSES)
    assert not path.is_symlink() and xarray.open_zarr(path, consolidated=False).why.shape == grid.shape
    assert xarray.open_zarr(path, consolidated=False).why.encoding["dtype"] == np.float32
    assert sorted(p.name for p in elsewhere.iterdir()) == ["keep.txt"]
    assert sorted(p.name for p in path.parent.iterdir()) == ["explanations.zarr"]


def test_laying_out_keeps_the_jobs_store_and_its_regions(grid, tmp_path):
    import zarr

    from rather.seismic.volume_store import lay_out

    path = tmp_path / "explanations.zarr"
    lay_out(path, grid, QUESTIONS, CLASSES)
    zarr.open_group(str(path), mode="r+")["why"][1:2] = np.float32(0.5)
    lay_out(path, grid, QUESTIONS, CLASSES)
    assert float(xarray.open_zarr(path, consolidated=False).why.isel(inline=1).mean()) == 0.5


def test_the_driver_rewrites_a_region_that_differs_from_its_line(explained, tmp_path):
    import shutil

    from rather.seismic.sections import read_section
    from rather.seismic.survey import open_survey
    from rather.seismic.volume_store import VolumeStore, volume_grid

    path = tmp_path / "explanations.zarr"
    shutil.copytree(explained / "all" / "explanations.zarr", path)
    chunks = sorted(p for p in (path / "why").rglob("*") if p.is_file() and p.name != "zarr.json")
    original = chunks[1].read_bytes()
    chunks[1].write_bytes(b"damaged")  # inline 101's chunk, as a worker killed mid-write could leave it
    (chunks[2]).unlink()  # inline 102's, lost
    with open_survey(explained / "survey.sgy") as survey:
        store = VolumeStore(path, volume_grid(survey, "inline"), QUESTIONS, CLASSES, {},
                            Precision.chosen(QUESTIONS, "volume", 8), from_workers=True)
        for number in (100, 101, 102):
            section = read_section(explained / "all" / "explanations.h5", "inline", number)
            store.add(survey, "inline", number, section.maps, section)  # the HDF5 maps: the values written
    assert chunks[1].read_bytes() == original
    for name in every_file_under(explained / "all" / "explanations.zarr"):
        if "/c/" in name:
            assert (path / name).read_bytes() == (explained / "all" / "explanations.zarr" / name).read_bytes(), name


def every_file_under(folder):
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]
