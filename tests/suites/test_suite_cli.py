"""`rather suite`: a domain's suite into one staged folder with index.html and summary.json."""
import json

import h5py
import pytest
import segyio

from rather.suites.cli import main
from rather.suites.suite_seismic import SURVEY

from browser import open_page


def test_seismic_suite_explains_and_checks_against_the_labels(tmp_path, capsys):
    out = tmp_path / "suite"
    assert main(["suite", "seismic", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    seismic = summary["suites"]["seismic"]
    assert json.loads((out / "summary.json").read_text()) == summary
    counts = seismic["predicted_counts"]
    assert set(counts) == {"horizon", "chaotic", "fault", "salt_dome"}
    with segyio.open(out / "seismic" / "explained" / "why.sgy", ignore_geometry=True) as f:
        assert f.tracecount == SURVEY.crosslines  # the explained inline's traces only
    with h5py.File(out / "seismic" / "explained" / "explanations.h5") as f:
        assert f"sections/inline_{seismic['inline']}/maps" in f
    truth = seismic["truth"]
    assert sum(map(sum, truth["confusion"])) == truth["patches"] > 0
    assert 0 <= truth["balanced_accuracy"] <= 1
    for shares in truth["energy_share"].values():
        assert shares["patches"] == 0 or 0 <= shares["contrast"] <= 1
    page = open_page(out / "index.html")
    assert page["tables"] == ["seismic-predicted", "seismic-truth", "seismic-energy"]
    assert [image["loaded"] for image in page["images"]] == [True]


def test_a_suite_on_bad_data_is_one_line_and_writes_nothing(tmp_path, capsys):
    (tmp_path / "empty.sgy").write_bytes(b"")
    assert main(["suite", "seismic", "--data", str(tmp_path / "empty.sgy"), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rather suite: error: ") and err.count("\n") == 1 and "empty.sgy" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.sgy"]


def test_recognition_suite_data_must_name_its_format(tmp_path, capsys):
    assert main(["suite", "recognition", "--data", str(tmp_path), "--out", str(tmp_path / "o")]) == 2
    assert "give FORMAT:FOLDER with FORMAT one of synthetic, cub200" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_recognition_suite_audits_the_birds_into_the_report(tmp_path, capsys):
    out = tmp_path / "suite"
    assert main(["suite", "recognition", "--out", str(out), "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)["suites"]["recognition"]
    assert audit["images"] == 300 and set(audit["energy_share"]) >= {"contrast", "gradcam"}
    page = open_page(out / "index.html")
    assert page["tables"] == ["recognition-pairs", "recognition-per-class", "recognition-confusion",
                              "recognition-truth"]
    assert page["images"] and all(image["loaded"] for image in page["images"])


def test_iqa_suite_data_must_be_a_pair(tmp_path, capsys):
    assert main(["suite", "iqa", "--data", str(tmp_path / "one.png"), "--out", str(tmp_path / "o")]) == 2
    assert "give DISTORTED,REFERENCE" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


@pytest.mark.slow
def test_the_demo_report_shows_every_domain_in_a_browser(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert list(summary["suites"]) == ["seismic", "iqa", "recognition"]
    iqa = summary["suites"]["iqa"]
    assert (out / "iqa" / iqa["distorted"]).is_file() and (out / "iqa" / iqa["reference"]).is_file()
    damage = iqa["damage"]["energy_share"]
    assert damage[iqa["questions"][1]] > iqa["damage"]["area_share"]  # rather than pristine points at the noise
    assert 0 <= iqa["evaluation"]["srcc"] <= 1
    assert (out / "seismic" / summary["suites"]["seismic"]["survey"]).is_file()
    real = summary["real"]  # the shipped real data, read at run time: the committed models may change
    patches = real["seismic"]["patches"]
    assert patches["patches"] == 200 and sum(map(sum, patches["confusion"])) == 200
    assert (out / "seismic-real" / real["seismic"]["line"]).is_file()
    assert real["iqa"]["mos"] == 3.86486 and real["iqa"]["question"].endswith("(people's score)")
    page = open_page(out / "index.html")
    assert page["tables"] == ["seismic-predicted", "seismic-truth", "seismic-energy", "seismic-real-predicted",
                              "seismic-real-patches", "iqa-damage", "iqa-evaluation", "iqa-localisation",
                              "iqa-real-scores", "recognition-pairs", "recognition-per-class",
                              "recognition-confusion", "recognition-truth"]
    assert len(page["images"]) >= 7 and all(image["loaded"] for image in page["images"])
    assert all(image["src"].startswith("data:image/png;base64,") for image in page["images"])  # one file to share
    assert [item["target"] for item in page["findings"]] == ["#seismic", "#seismic-real", "#iqa", "#iqa-real",
                                                             "#recognition"]
    assert all("%" in item["text"] for item in page["findings"] if "-real" not in item["target"])
    wrong = page["findings"][1]["text"]  # where the model is wrong on real data, with its number and chance
    assert f"balanced accuracy {patches['balanced_accuracy']:.2f}, chance 0.50" in wrong
    assert f"people gave {real['iqa']['mos']:.2f}" in page["findings"][3]["text"]
    assert page["overflow"] == {"page": False, "figures": []}
    assert not list(tmp_path.glob(".*staging*"))
