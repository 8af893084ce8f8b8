"""The core and IQA benchmarks on small inputs: rows keep their structure, ratios carry their spread (no timing)."""
import warnings

import numpy as np
import pytest

from rather.common import load_model
from rather.iqa import quality_model
from rather.suites.bench_core import render_table, run_core
from rather.suites.bench_iqa import benchmark_pair, iqa_row, map_agreement, render_iqa
from rather.suites.bench_method import SLOW_PAIRS


def is_spread(figures, pairs):
    return set(figures) == {"median", "min", "max", "pairs"} and figures["pairs"] == pairs \
        and figures["min"] <= figures["median"] <= figures["max"]


@pytest.mark.slow
def test_iqa_row_times_its_loop_sample_in_pairs_and_matches_its_maps():
    model, _ = load_model(weights=quality_model.DEFAULT_CHECKPOINT)
    model.requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value encountered in divide' from the constant maps
        row = iqa_row(model, benchmark_pair()[:, :, :48, :64], "crop", loop_windows=2)
    assert row["windows"] == 5 * 9 and row["loop_windows_timed"] == 2  # 48 x 64 at stride 4: 5 x 9 windows of 32
    assert row["subsets"] == {"loop": "2 of 45 windows timed in every pair, scaled"}
    assert row["pairs"] >= SLOW_PAIRS and is_spread(row["speedup"], row["pairs"])
    assert row["max_abs_diff"] < 1e-5 * max(row["max_abs_map"], 1.0)
    # the tiny pair has no positive evidence anywhere: both maps constant, named, not averaged in as NaN
    assert row["fast_correlation"] is None and row["fast_correlated"] == 0
    assert [name.endswith("? (fast and exact)") for name in row["fast_constant_maps"]] == [True, True]


RAMP = np.linspace(0.0, 1.0, 12).reshape(3, 4)
FLAT = np.zeros((3, 4))


@pytest.mark.parametrize("fast, exact, correlated, constant", [
    ((RAMP, RAMP ** 2), (RAMP, RAMP), 2, []),
    ((RAMP, FLAT), (RAMP, FLAT), 1, ["b (fast and exact)"]),
    ((RAMP, RAMP), (RAMP, FLAT), 1, ["b (exact)"]),
    ((FLAT, RAMP), (RAMP, RAMP), 1, ["a (fast)"]),
    ((FLAT, FLAT), (RAMP, FLAT), 0, ["a (fast)", "b (fast and exact)"]),
])
def test_map_agreement_names_constant_maps_and_averages_the_others(fast, exact, correlated, constant):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no 'invalid value encountered in divide' from a constant map
        agreement = map_agreement(np.stack(fast), np.stack(exact), ["a", "b"])
    assert agreement["fast_correlated"] == correlated and agreement["fast_constant_maps"] == constant
    kept = [np.corrcoef(f.ravel(), e.ravel())[0, 1] for f, e in zip(fast, exact) if np.ptp(f) and np.ptp(e)]
    assert agreement["fast_correlation"] == (pytest.approx(np.mean(kept)) if kept else None)


def test_the_iqa_text_names_the_constant_maps_and_says_when_r_is_undefined():
    row = {"pair": [48, 64], "windows": 45, "stride": 4, "questions": 2, "pairs": 3, "ours_seconds": 1.0,
           "loop_seconds_scaled": 20.0, "speedup": {"median": 20.0, "min": 10.0, "max": 30.0, "pairs": 3},
           "max_abs_diff": 0.0, "max_abs_map": 1.0, "subsets": {"loop": "2 of 45 windows"}, "fast_stride": [4, 8],
           "fast_seconds": 0.1, "fast_speedup": {"median": 200.0, "min": 100.0, "max": 300.0, "pairs": 3},
           "fast_correlation": 0.97, "fast_correlated": 1, "fast_constant_maps": ["Why 0.5, rather than 0.75? (exact)"]}
    report = {"rows": [row], "target_speedup": 15, "target_fast_speedup": 100, "target_fast_correlation": 0.95}
    assert ("r = 0.970 with the exact maps over 1 question(s); constant maps left out: Why 0.5, rather than 0.75? "
            "(exact)") in render_iqa(report)
    row.update(fast_correlation=None, fast_correlated=0)
    assert "r undefined: every map is constant" in render_iqa(report)


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
