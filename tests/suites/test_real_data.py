"""The real data the demo ships (suites/real): kept as published, with its notices, and how the demo reports it."""
import hashlib
import json

import numpy as np
import pytest
import segyio
from matplotlib import image

from rather.seismic.survey import open_survey
from rather.suites.findings import findings, real_iqa_finding, real_seismic_finding
from rather.suites.real_data import (
    F3, F3_FIRST_CROSSLINE, F3_INLINE, REAL, TID2013, real_iqa_section, real_seismic_section,
    recalls, tid2013_label, write_f3_inline,
)
from rather.suites.report import Section, write_report

from browser import open_page
from real_seismic import REAL_SEISMIC

TID2013_SHA256 = {"I01.BMP": "43d3c92154c48529fae107749bb60777950ccb8e324b120a63c142f4279df63f",
                  "i01_01_5.bmp": "74ec08fde9c5e6d6ec0168ca8a6b8c6824d55557c9bd6b816a52b99b2db3e4ed"}
"""The images as TID2013 publishes them (piq's copies, SOURCE.txt): the licence forbids modifying them."""
SHARED_F3 = REAL_SEISMIC / "f3-faults-cunha2020"

SEISMIC = {"inline": 244, "stride": 16, "line": "f3_inline_244.sgy", "chance": 0.5,
           "predicted_counts": {"horizon": 700, "chaotic": 20, "fault": 400, "salt_dome": 60},
           "patches": {"patches": 200, "balanced_accuracy": 0.675, "class_names": ["fault", "not_fault"],
                       "confusion": [[52, 48], [17, 83]]}}
IQA = {"distorted": "i01_01_5.bmp", "score": 0.5, "human_score": 0.4294, "mos": 3.86486, "mos_std": 0.10229,
       "model_mos": 4.5, "gap_mos": 4.5 - 3.86486, "reads": "s is better than 0.429 (higher is better)",
       "question": "Why 0.5, rather than 0.429? (people's score)", "stride": 8}


def test_every_shipped_piece_keeps_its_source_and_licence_beside_it():
    assert {folder.name for folder in REAL.iterdir() if folder.is_dir()} == {F3.name, TID2013.name}
    for folder in (F3, TID2013):
        assert (folder / "SOURCE.txt").stat().st_size > 0 and (folder / "LICENSE").stat().st_size > 0
    assert "CC BY-SA 3.0" in (F3 / "SOURCE.txt").read_text() and "MIT License" in (F3 / "LICENSE").read_text()
    assert "shall not be modified" in (TID2013 / "SOURCE.txt").read_text()
    assert "CONVERTED.txt" in (REAL / "README.md").read_text()


def test_the_tid2013_images_are_byte_identical_to_the_published_ones():
    assert {name: hashlib.sha256((TID2013 / name).read_bytes()).hexdigest() for name in TID2013_SHA256} == \
        TID2013_SHA256
    assert tid2013_label() == {"distorted": "i01_01_5.bmp", "reference": "I01.BMP", "mos": 3.86486,
                               "mos_std": 0.10229}


@pytest.mark.skipif(not SHARED_F3.is_dir(), reason="the shared real data is not beside this checkout")
def test_the_f3_arrays_hold_the_csv_values_exactly():
    rows = np.loadtxt(SHARED_F3 / "data/f3_inl_244.csv")
    shipped = np.load(F3 / "f3_inl_244.npy")
    assert shipped.dtype == np.int16 and np.array_equal(shipped, rows)
    for kind in ("fault", "nonfault"):
        files = sorted((F3 / "patches" / kind).glob("*.npy"))
        assert len(files) == 100
        for path in files[:5]:  # as rather reads a text patch: float32 of the text's numbers
            assert np.array_equal(np.load(path), np.loadtxt(SHARED_F3 / "dataset" / kind / (path.stem + ".csv"))
                                  .astype(np.float32))


def test_the_f3_inline_becomes_a_single_inline_segy_on_the_f3_grid(tmp_path):
    path = write_f3_inline(tmp_path / "f3.sgy")
    with segyio.open(path, ignore_geometry=True) as file:
        assert file.tracecount == 951 and len(file.samples) == 463 and file.samples[-1] == 1848
        assert set(file.attributes(segyio.TraceField.INLINE_3D)[:]) == {F3_INLINE}
        crosslines = file.attributes(segyio.TraceField.CROSSLINE_3D)[:]
        assert (crosslines[0], crosslines[-1]) == (F3_FIRST_CROSSLINE, 1250)
    with open_survey(path) as survey:
        line = survey.line()
        assert line.values.shape == (463, 951)
        assert np.array_equal(line.values, np.load(F3 / "f3_inl_244.npy").T.astype(np.float32))


def test_recalls_read_the_confusion_rows():
    assert recalls([[52, 48], [17, 83]]) == [0.52, 0.83] and recalls([[0, 0], [1, 3]]) == [None, 0.75]


def test_the_real_seismic_section_says_where_the_classifier_is_wrong():
    section = real_seismic_section("seismic-real", SEISMIC, "figure_inline_244.png")
    assert section.id == "seismic-real" and "has no labels: its maps are shown, not checked" in section.lead
    assert ("finds 52% of the faults (misses 48) and calls 83% of the non-fault patches right, balanced accuracy "
            "0.675 where a guess scores 0.5.") in section.lead
    patches = section.tables[1]
    assert patches.shade and patches.rows == [["fault", 52, 48], ["not_fault", 17, 83]]
    assert "balanced accuracy 0.675 (chance 0.50), fault recall 0.52, non-fault recall 0.83" in patches.caption
    assert section.figures[0].path == "seismic-real/explained/figure_inline_244.png"


def test_the_real_iqa_section_puts_the_model_beside_people_and_their_spread():
    section = real_iqa_section("iqa-real", IQA)
    assert "0.64 MOS points from people (6 times the spread of people's own scores" in section.lead
    assert "(32 x 32 windows at stride 8, --mode fast: an approximation of the paper's stride 4)" in section.lead
    assert section.tables[0].rows == [["people", 3.86486], ["the model", 4.5], ["the model minus people",
                                                                                 pytest.approx(0.63514)],
                                      ["people's own spread (standard deviation)", 0.10229]]


def test_the_real_findings_give_the_number_beside_its_baseline():
    assert real_seismic_finding(SEISMIC) == (
        "On real F3 data the classifier is wrong on 65 of 200 hand-labelled patches (fault against the rest): "
        "balanced accuracy 0.68, chance 0.50; it misses 48 of 100 faults. The real inline 244 is explained but has "
        "no labels to check its maps against.")
    assert real_iqa_finding(IQA) == (
        "On a real TID2013 pair the model scores 4.50 where people gave 3.86 (MOS, 0-9): 0.64 points above, against "
        "a spread of 0.10 among people; Why 0.5, rather than 0.429? (people's score) maps where that difference "
        "comes from.")
    listed = findings({"seismic": {"inline": 3}, "iqa": {"score": 0.5}}, {"seismic": SEISMIC, "iqa": IQA})
    assert [finding.section for finding in listed] == ["seismic", "seismic-real", "iqa", "iqa-real"]


def test_a_browser_shows_the_real_sections_with_their_findings_and_commands(tmp_path):
    """Real sections as the demo writes them (their figures stand-ins): findings link them, nothing overflows,
    not even the long commands that reproduce them."""
    sections = [real_seismic_section("seismic-real", SEISMIC, "figure_inline_244.png"),
                real_iqa_section("iqa-real", IQA)]
    for section in sections:
        section.command = "rather seismic evaluate --patches " + "/very/long/site-packages/path" * 8
        section.checksum = "ab" * 32
        for figure in section.figures:
            (tmp_path / figure.path).parent.mkdir(parents=True, exist_ok=True)
            image.imsave(tmp_path / figure.path, np.random.default_rng(0).random((40, 110)))
    found = [finding for finding in findings({"seismic": {"inline": 3}, "iqa": {"score": 0.5}},
                                             {"seismic": SEISMIC, "iqa": IQA}) if finding.section.endswith("-real")]
    page = open_page(write_report(tmp_path / "index.html", "rather demo", sections, findings=found))
    assert page["tables"] == ["seismic-real-predicted", "seismic-real-patches", "iqa-real-scores"]
    assert [item["target"] for item in page["findings"]] == ["#seismic-real", "#iqa-real"]
    assert page["findings"][0]["text"].startswith("On real F3 data the classifier is wrong on 65 of 200")
    assert [image["loaded"] for image in page["images"]] == [True, True]
    assert page["overflow"] == {"page": False, "figures": []}


def test_run_suites_puts_each_real_section_after_its_domain(tmp_path, monkeypatch):
    """The demo's order: a domain's suite, then its real data; the summary keeps them apart."""
    from rather.suites import suite_cmd

    def fake_suite(domain):
        def run(out, data, model, device, progress):
            return Section(domain, domain, "lead"), {"ran": domain}
        return run

    def fake_real(out, model, device, progress):
        out.mkdir()
        return Section("iqa-real", "real", "lead"), {"ran": "iqa-real", "out": out.name}

    monkeypatch.setattr(suite_cmd, "suite", fake_suite)
    monkeypatch.setattr("rather.suites.findings.findings", lambda suites, real: [])  # the fakes hold no numbers
    summary = suite_cmd.run_suites(tmp_path / "out", ["seismic", "iqa"], command="demo", title="t",
                                   real={"iqa": fake_real})
    assert summary["suites"] == {"seismic": {"ran": "seismic"}, "iqa": {"ran": "iqa"}}
    assert summary["real"] == {"iqa": {"ran": "iqa-real", "out": "iqa-real"}}
    text = (tmp_path / "out" / "index.html").read_text()
    assert text.index('<section id="iqa">') < text.index('<section id="iqa-real">')
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["real"] == summary["real"]
