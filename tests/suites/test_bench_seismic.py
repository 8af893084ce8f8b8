"""rather bench seismic on a small inline: the report's figures are consistent (no timing is asserted)."""
import pytest

from rather.suites.bench_method import SLOW_PAIRS
from rather.suites.bench_seismic import render_seismic, run_seismic


@pytest.fixture(scope="module")
def report():
    return run_seismic(loop_patches=2, section=(120, 140), memory_inlines=(4,), progress=lambda line: None)


def test_shared_trunk_answers_equal_the_patchwise_ones(report):
    assert report["shared_trunk"] is True, "the committed classifier has a valid-convolution trunk"
    assert report["shared_max_difference"] < 1e-5


def test_report_counts_and_ratios_follow_from_its_timings(report):
    # 120 x 140 at stride 10: rows 0, 10, 20, 21; columns 0, 10, ..., 40, 41
    assert report["patches"] == 4 * 6 and report["stride"] == 10
    assert report["pairs"] >= SLOW_PAIRS and report["loop_patches_timed"] == 2
    assert report["subsets"] == {"loop": "2 of 24 patches timed in every pair, scaled"}
    speed_up = report["speed_up"]
    assert speed_up["pairs"] == report["pairs"] and speed_up["min"] <= speed_up["median"] <= speed_up["max"]
    aligned = report["aligned"]
    assert aligned["stride"] == 8 and aligned["patches"] == 4 * 7  # rows 0, 8, 16, 21; columns 0, 8, ..., 40, 41
    assert aligned["loop_seconds_scaled"] == pytest.approx(report["loop_seconds_scaled"] * 28 / 24)
    assert list(report["peak_memory"]) == ["4x140x120"]
    text = render_seismic(report)
    assert "(shared trunk)" in text and "at stride 8 (the trunk's step, 28 patches)" in text
    assert f"{report['pairs']} pairs" in text.splitlines()[0]
    assert "* loop: 2 of 24 patches timed in every pair, scaled to the section" in text
