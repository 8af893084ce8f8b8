"""``rather bench seismic --survey-size``: synthetic surveys of a given size through ``explain --all`` on Dask."""
import numpy as np
import pytest

from rather.common import BadInput
from rather.seismic.survey import open_survey
from rather.suites import bench_seismic
from rather.suites.bench import F3_SIZE, survey_sizes


def test_sizes_are_f3_or_three_numbers():
    assert survey_sizes("F3") == [F3_SIZE] == [(651, 951, 462)]
    assert survey_sizes("8x951x462,f3") == [(8, 951, 462), F3_SIZE]
    for text in ("F4", "8x951", "0x951x462", "8x49x462", "8x951x462,", "8 x 951 x 462"):
        with pytest.raises(BadInput, match=f"--survey-size takes F3 or INLINESxCROSSLINESxSAMPLES .*; got '{text}'"):
            survey_sizes(text)


def test_a_tiled_survey_repeats_its_tile_with_the_inlines_moved_on(tmp_path, monkeypatch):
    monkeypatch.setattr(bench_seismic, "TILE_INLINES", 2)
    path = bench_seismic.write_tiled_survey(tmp_path / "big.sgy", (5, 56, 60))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["big.sgy"]  # the tile is gone
    with open_survey(path) as survey:
        np.testing.assert_array_equal(survey.inlines, [100, 101, 102, 103, 104])
        assert len(survey.crosslines) == 56 and len(survey.samples) == 60 and survey.live.all()
        np.testing.assert_array_equal(survey.inline(102).values, survey.inline(100).values)
        np.testing.assert_array_equal(survey.inline(104).values, survey.inline(100).values)
        assert not np.array_equal(survey.inline(101).values, survey.inline(100).values)
        _, coordinates = survey.trace_coordinates()
        north = coordinates["cdp_y"].reshape(5, 56)
        np.testing.assert_allclose(np.diff(north[:, 0]), 25.0)  # one 25 m bin per inline, across the tiles
        np.testing.assert_allclose(coordinates["cdp_x"].reshape(5, 56)[4], coordinates["cdp_x"].reshape(5, 56)[0])
        assert survey.trace_header(103, 310)[1] == 3 * 56 + 11  # trace sequence numbers run on


@pytest.mark.slow
def test_the_benchmark_reports_traces_per_second_memory_and_output_bytes():
    report = bench_seismic.run_survey_size([(2, 56, 60), (3, 56, 60)], workers=1, stride=25,
                                           progress=lambda message: None)
    assert [run["size"] for run in report["runs"]] == [[2, 56, 60], [3, 56, 60]]
    for run in report["runs"]:
        assert run["traces_per_second"] == pytest.approx(run["size"][0] * 56 / run["seconds"])
        assert len(run["peak_rss_bytes_per_worker"]) == 1 and run["peak_rss_bytes_per_worker"][0] > 2**20
        assert set(run["store_bytes"]) == {"explanations.zarr", "explanations.h5"}
        assert run["output_bytes"] > sum(run["store_bytes"].values())  # the summary too
        assert run["output_bytes"] < sum(run["store_bytes"].values()) + 2**16  # no figure
    text = bench_seismic.render_survey_size(report)
    assert "rather seismic explain --all --format zarr --figures none on a local Dask cluster of 1 worker(s)" in text
    assert "  3 x 56 x 60 (" in text and "traces/s, peak per worker" in text
