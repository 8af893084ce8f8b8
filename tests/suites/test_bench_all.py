"""``rather bench all``'s table from known reports, and the machine's state around every benchmark (no timing)."""
import json

import pytest

from rather.suites import bench
from rather.suites.bench_all import render_all, table_rows
from rather.suites.cli import main


def spread(median, low=None, high=None, pairs=3):
    return {"median": median, "min": low if low is not None else median, "max": high if high is not None else median,
            "pairs": pairs}


def core_row(network, layer):
    return {"network": network, "layer": layer, "batch": 1, "pairs": 5,
            "seconds": {"forward": 0.05, "one_map": 0.06, "all_200": 0.07, "loop_200": 8.0, "all_1000": 0.08,
                        "loop_1000": 40.0},
            "ratios": {"one_map_over_forward": spread(1.2, 1.1, 1.3, 5), "all_200_over_forward": spread(1.4, pairs=5),
                       "all_1000_over_forward": spread(1.6, pairs=5), "loop_over_one_map": spread(3.3, pairs=5),
                       "loop_200_over_ours": spread(114.0, 100.0, 120.0, 5),
                       "loop_1000_over_ours": spread(500.0, pairs=5)},
            "subsets": {"loop_200": "4 of 200 contrasts timed in every pair, scaled",
                        "loop_1000": "4 of 1000 contrasts timed in every pair, scaled"}}


@pytest.fixture
def reports():
    return {
        "core": {"classes": [200, 1000], "rows": [core_row("resnet50", "layer4"), core_row("vgg16", "features.29")]},
        "seismic": {"section": [200, 240], "patches": 320, "pairs": 3, "ours_seconds": 2.5, "forward_seconds": 5.0,
                    "ours_over_forward": spread(0.5), "speed_up": spread(40.0, 30.0, 50.0),
                    "aligned": {"patches": 450, "stride": 8, "ours_seconds": 1.5, "speed_up": spread(60.0)},
                    "subsets": {"loop": "2 of 320 patches timed in every pair, scaled"}},
        "iqa": {"rows": [{"pair": [384, 512], "windows": 10769, "stride": 4, "ours_seconds": 2.8, "pairs": 3,
                          "speedup": spread(34.0), "subsets": {"loop": "16 of 10769 windows timed in every pair, "
                                                                       "scaled"}}]},
        "recognition": {"images": 64, "classes": 20, "pairs": 3, "explain_seconds": 0.3, "forward_seconds": 0.1,
                        "explain_over_forward": spread(3.0),
                        "all_pairs": {"images": 64, "batched_seconds": 0.05, "loop_over_batched": spread(20.0)}},
        "dask": {"runs": [{"inlines": 4, "blocks": 4, "workers": 1, "seconds": 10.0, "pairs": 3, "speed_up": spread(1)},
                          {"inlines": 4, "blocks": 4, "workers": 2, "seconds": 6.0, "pairs": 3,
                           "speed_up": spread(1.67, 1.5, 1.8)}]},
    }


def test_the_table_has_three_question_sets_per_network_then_one_row_per_domain(reports):
    rows = table_rows(reports)
    assert [(row["network"], row["questions"]) for row in rows] == [
        ("resnet50 (layer4)", "one map"), ("resnet50 (layer4)", "all contrasts, 200 classes"),
        ("resnet50 (layer4)", "all contrasts, 1000 classes"),
        ("vgg16 (features.29)", "one map"), ("vgg16 (features.29)", "all contrasts, 200 classes"),
        ("vgg16 (features.29)", "all contrasts, 1000 classes"),
        ("seismic (200x240 inline)", "320 patches x 5 questions, stride 10"),
        ("seismic (200x240 inline)", "450 patches x 5 questions, stride 8"),
        ("iqa (512x384 pair)", "10769 windows x 2 questions, stride 4"),
        ("recognition (64 birds)", "Why P? + Why P, rather than the runner-up?"),
        ("recognition (64 birds)", "all 20 contrasts of 64 birds"),
        ("dask (4 inlines, CPU)", "4 blocks, 2 workers"),
    ]
    assert rows[1]["speed_up"] == spread(114.0, 100.0, 120.0, 5) and rows[1]["forward_seconds"] == 0.05
    assert rows[7]["over_forward"] is None and rows[11]["speed_up"]["median"] == 1.67
    assert all(set(row) == {"network", "questions", "forward_seconds", "seconds", "over_forward", "speed_up",
                            "loop", "pairs"} for row in rows)


def test_the_table_prints_medians_with_their_spread_and_says_what_was_scaled(reports):
    text = render_all({"date": "2026-11-30 10:00 UTC", "device": "cpu", "rows": table_rows(reports),
                       "reports": reports})
    lines = text.splitlines()
    assert lines[0].startswith("rather bench all, 2026-11-30 10:00 UTC, device cpu")
    resnet_200 = lines[4]
    assert "resnet50 (layer4)" in resnet_200 and "50 ms" in resnet_200 and "70 ms" in resnet_200
    assert "1.40 (1.40-1.40)" in resnet_200 and "114 (100-120)" in resnet_200 and "200 contrasts*" in resnet_200
    assert "1.20 (1.10-1.30)" in lines[3] and "3.3 (3.3-3.3)" in lines[3]  # under 10x: one decimal
    iqa = next(line for line in lines if line.startswith("iqa"))
    assert "2.80 s" in iqa and " - " in iqa and "34 (34-34)" in iqa
    assert lines[-2] == ("* timed on a subset inside every pair, then scaled: 4 of 200 contrasts; 4 of 1000 contrasts; "
                         "2 of 320 patches; 16 of 10769 windows")


@pytest.fixture
def fake_measure(monkeypatch):
    """``rather bench`` with the benchmark replaced by a report and a text; the load average set by the test."""
    monkeypatch.setattr(bench, "measure", lambda args, progress: ({"suite": args.suite, "figure": 1}, "THE TABLE"))
    monkeypatch.setattr("os.cpu_count", lambda: 2)

    def load(value):
        monkeypatch.setattr("os.getloadavg", lambda: (value, 0.0, 0.0))

    return load


def test_an_overloaded_run_says_so_on_its_first_line(fake_measure, capsys):
    fake_measure(7.5)
    assert main(["bench", "all"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("WARNING: the load average (7.5 at the start, 7.5 at the end) exceeded the 2 cores")
    assert lines[1].startswith("machine: ") and "2 cores" in lines[1] and "device cpu" in lines[1]
    assert lines[2] == "THE TABLE"


def test_a_quiet_run_starts_with_the_machine_and_json_carries_it(fake_measure, capsys):
    fake_measure(0.5)
    assert main(["bench", "core"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("machine: ")
    assert main(["bench", "iqa", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["suite"] == "iqa" and report["figure"] == 1
    machine = report["machine"]
    assert (machine["load_start"], machine["load_end"], machine["overloaded"], machine["cores"]) == (0.5, 0.5, False, 2)
    assert {"cpu", "threads", "torch", "device"} <= set(machine) and machine["device"] == "cpu"
