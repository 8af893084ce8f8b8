"""The seismic suite's report part: what a line cannot show reads "not checked", never NaN."""
from rather.suites.suite_seismic import report_section

NOTHING_CHECKED = {
    "balanced_accuracy": None, "accuracy": None, "confusion": [[0] * 4] * 4, "patches": 0,
    "energy_share": {"fault": {"gradcam": None, "contrast": None, "patches": 0},
                     "salt_dome": {"gradcam": 0.25, "contrast": 0.5, "patches": 3}},
    "not_checked": ["accuracy: no clear patch on inline 101"],
}


def test_values_that_were_not_checked_read_not_checked_in_the_report():
    summary = {"survey": "s.sgy", "inline": 101, "predicted_counts": {"horizon": 1}, "truth": NOTHING_CHECKED}
    section = report_section("out", summary, "inline_101.png")
    truth, energy = section.tables[1], section.tables[2]
    assert truth.caption.startswith("Against the labels: balanced accuracy not checked on 0 clear patches")
    assert energy.rows == [["fault", 0, "not checked", "not checked"], ["salt_dome", 3, "0.250", "0.500"]]
