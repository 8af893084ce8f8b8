"""The core and IQA benchmarks on small inputs: rows keep their structure, ratios carry their spread (no timing)."""
import pytest

from rather.common import load_model
from rather.iqa import quality_model
from rather.suites.bench_core import render_table, run_core
from rather.suites.bench_iqa import benchmark_pair, iqa_row
from rather.suites.bench_method import SLOW_PAIRS


def is_spread(figures, pairs):
    return set(figures) == {"median", "min", "max", "pairs"} and figures["pairs"] == pairs \
        and figures["min"] <= figures["median"] <= figures["max"]


@pytest.mark.slow
def test_iqa_row_times_its_loop_sample_in_pairs_and_matches_its_maps():
    model, _ = load_model(weights=quality_model.DEFAULT_CHECKPOINT)
    model.requires_grad_(True)
    row = iqa_row(model, benchmark_pair()[:, :, :48, :64], "crop", loop_windows=2)
    assert row["windows"] == 5 * 9 and row["loop_windows_timed"] == 2  # 48 x 64 at stride 4: 5 x 9 windows of 32
    assert row["subsets"] == {"loop": "2 of 45 windows timed in every pair, scaled"}
    assert row["pairs"] >= SLOW_PAIRS and is_spread(row["speedup"], row["pairs"])
    assert row["max_abs_diff"] < 1e-5 * max(row["max_abs_map"], 1.0)


@pytest.mark.slow
def test_core_rows_carry_every_ratio_with_its_spread():
    report = run_core(batches=(1,), classes=(3, 5), loop_iterations=1, size=32, progress=lambda message: None)
    assert [row["network"] for row in report["rows"]] == ["resnet50", "vgg16"] and report["input"] == [3, 32, 32]
    for row in report["rows"]:
        assert set(row["seconds"]) == {"forward", "one_map", "all_3", "loop_3", "all_5", "loop_5"}
        assert set(row["ratios"]) == {"one_map_over_forward", "all_3_over_forward", "all_5_over_forward",
                                      "loop_over_one_map", "loop_3_over_ours", "loop_5_over_ours"}
        assert all(is_spread(ratio, row["pairs"]) for ratio in row["ratios"].values())
        assert row["subsets"] == {"loop_3": "1 of 3 contrasts timed in every pair, scaled",
                                  "loop_5": "1 of 5 contrasts timed in every pair, scaled"}
    assert "loop/ours 5" in render_table(report)
