"""What ``rather seismic explain`` writes, at survey scale (issue 16 items 1, 2, 3 and 5).

Sparse SEG-Y (one line writes one line's traces), NaN where a question was not asked,
the scaling of a run (``--normalise``) without line-by-line banding, self-describing
textual headers, and the figures (``--figures every:N``, page width).
"""
import json

import h5py
import numpy as np
import pytest
import segyio
from matplotlib.image import imread

from rather.seismic.attributes import textual_header
from rather.suites.cli import main

SAMPLES, CROSSLINES = 110, 100


@pytest.fixture(scope="module")
def survey(tmp_path_factory):
    """A synthetic survey of 12 inlines; the committed classifier explains it."""
    folder = tmp_path_factory.mktemp("outputs")
    assert main(["seismic", "synth", str(folder / "survey.sgy"), "--inlines", "12", "--crosslines", str(CROSSLINES),
                 "--samples", str(SAMPLES), "--seed", "2"]) == 0
    return folder / "survey.sgy"


@pytest.fixture(scope="module")
def every_inline(survey):
    """Three runs over inlines 100..102 of ``survey`` (as a three-inline file), one per scaling."""
    small = survey.with_name("three.sgy")
    assert main(["seismic", "synth", str(small), "--inlines", "3", "--crosslines", str(CROSSLINES),
                 "--samples", str(SAMPLES), "--seed", "2"]) == 0
    runs = {}
    for how in ("volume", "section", "none"):
        out = survey.parent / f"all_{how}"
        assert main(["seismic", "explain", str(small), "--all", "--stride", "30", "--normalise", how,
                     "--figures", "every:2", "--out", str(out)]) == 0
        runs[how] = out
    return runs


def cube(path):
    with segyio.open(str(path)) as attribute:
        return segyio.tools.cube(attribute)


def raw_maps(out, question=0):
    """The raw map of ``question`` per inline from the HDF5 store, as (inlines, crosslines, samples)."""
    with h5py.File(out / "explanations.h5", "r") as store:
        return np.stack([store[f"sections/{name}/raw"][question].T for name in sorted(store["sections"])])


def test_one_inline_of_a_survey_writes_one_inline(survey, tmp_path):
    out = tmp_path / "one"
    assert main(["seismic", "explain", str(survey), "--inline", "105", "--stride", "30", "--questions", "why,fault",
                 "--no-figures", "--out", str(out)]) == 0
    assert sorted(path.name for path in out.glob("*.sgy")) == ["rather_than_fault.sgy", "why.sgy"]
    one_line = 3600 + CROSSLINES * (240 + 4 * SAMPLES)
    assert (out / "why.sgy").stat().st_size == one_line and survey.stat().st_size > 11 * one_line
    with segyio.open(str(survey)) as source, segyio.open(str(out / "why.sgy")) as why:
        assert list(why.ilines) == [105] and list(why.xlines) == list(source.xlines)
        assert why.header[0] == source.header[5 * CROSSLINES]  # inline 105 is the sixth
        with segyio.open(str(out / "why.sgy"), ignore_geometry=True) as unstructured:
            assert unstructured.tracecount == CROSSLINES
    assert not list(out.glob("*.png"))


def test_volume_scaling_has_one_factor_for_every_inline_and_a_time_slice(every_inline):
    out = every_inline["volume"]
    factor = json.loads((out / "summary.json").read_text())["scaling"]["factor"]
    raw, scaled = raw_maps(out), cube(out / "why.sgy")
    np.testing.assert_allclose(scaled, np.minimum(raw / np.float32(factor), 1), rtol=1e-6)
    ratios = [np.median(scaled[i][(raw[i] > 0) & (scaled[i] < 1)] / raw[i][(raw[i] > 0) & (scaled[i] < 1)])
              for i in range(3)]
    np.testing.assert_allclose(ratios, 1 / factor, rtol=1e-5)  # the same scale on every inline: no banding
    time_slice = scaled[:, :, SAMPLES // 2]  # (inlines, crosslines)
    np.testing.assert_allclose(time_slice, np.minimum(raw[:, :, SAMPLES // 2] / np.float32(factor), 1), rtol=1e-6)


def test_section_scaling_bands_where_volume_does_not(every_inline):
    raw, scaled = raw_maps(every_inline["section"]), cube(every_inline["section"] / "why.sgy")
    assert [scaled[i].max() for i in range(3)] == [1, 1, 1]
    assert len({float(raw[i].max()) for i in range(3)}) == 3  # each inline stretched by its own factor


def test_none_writes_the_raw_maps_and_not_asked_is_nan(every_inline):
    out = every_inline["none"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scaling"]["normalise"] == "none" and summary["scaling"]["factor"] is None
    for index, question in enumerate(summary["questions"]):
        raw, values = raw_maps(out, index), cube(out / f"{question}.sgy")
        with h5py.File(out / "explanations.h5", "r") as store:
            asked = np.stack([store[f"sections/{name}/asked"][index].T for name in sorted(store["sections"])])
        np.testing.assert_array_equal(np.isnan(values), ~asked)
        np.testing.assert_array_equal(values[asked], raw[asked])


def test_the_textual_header_says_what_the_file_holds(every_inline, survey):
    with segyio.open(str(every_inline["volume"] / "rather_than_salt_dome.sgy")) as attribute, \
            segyio.open(str(survey.with_name("three.sgy"))) as source:
        ours, theirs = bytes(attribute.text[0]).decode("ascii"), bytes(source.text[0]).decode("ascii")
    cards = [ours[start:start + 80] for start in range(0, 3200, 80)]
    assert ours[:80 * 10] == theirs[:80 * 10] and cards[-2:] == [theirs[-160:-80], theirs[-80:]]
    text = "".join(cards)
    factor = json.loads((every_inline["volume"] / "summary.json").read_text())["scaling"]["factor"]
    for words in ("ATTRIBUTE rather_than_salt_dome", "Why P, rather than salt_dome?", "LAYER features",
                  f"SCALING volume: raw / {factor:.6g}", "NaN = not asked", "TRACES every trace of the survey"):
        assert words in text, words


def test_every_second_figure_at_page_width(every_inline):
    summary = json.loads((every_inline["volume"] / "summary.json").read_text())
    assert [section["figure"] for section in summary["sections"]] == ["figure_inline_100.png", None,
                                                                     "figure_inline_102.png"]
    image = imread(every_inline["volume"] / "figure_inline_100.png")
    assert image.shape[1] == round(7.5 * 150)  # PAGE_WIDTH inches at 150 dpi


@pytest.mark.parametrize("encoding, mark", [("cp037", 0xC3), ("ascii", 0x43)])
def test_textual_header_keeps_the_encoding_and_fills_the_last_blank_cards(encoding, mark):
    cards = [f"C{n:2d} {'survey line' if n in (1, 2, 39, 40) else ''}".ljust(80) for n in range(1, 41)]
    header = textual_header("".join(cards).encode(encoding), ["one", "two " + "x" * 100])
    assert len(header) == 3200 and header[0] == mark
    text = header.decode(encoding)
    assert text[37 * 80:38 * 80] == "C38 two " + "x" * 72 and text[36 * 80:37 * 80] == "C37 one".ljust(80)
    assert text[:160] + text[-160:] == "".join(cards[:2] + cards[-2:])


def test_textual_header_without_blank_cards_replaces_the_last_ones():
    cards = "".join(f"C{n:2d} line {n}".ljust(80) for n in range(1, 41)).encode("cp037")
    text = textual_header(cards, ["a", "b", "c"]).decode("cp037")
    assert text[37 * 80:].split() == ["C38", "a", "C39", "b", "C40", "c"] and text[:37 * 80] == cards.decode(
        "cp037")[:37 * 80]


@pytest.mark.parametrize("survey_text, encoding", [
    (bytes(3200), "latin-1"),  # a header of NUL bytes: every card blank
    (b"\x40" * 3200, "cp037"),  # EBCDIC spaces, no card marks
    (bytes(range(128, 256)) * 25, "latin-1"),  # bytes no encoding makes text of: never blank, kept as they are
], ids=["nul", "ebcdic-spaces", "high-bytes"])
def test_textual_header_of_odd_surveys_keeps_their_bytes(survey_text, encoding):
    header = textual_header(survey_text, ["one", "two"])
    assert len(header) == 3200 and header[:38 * 80] == survey_text[:38 * 80]
    assert header[38 * 80:].decode(encoding) == "C39 one".ljust(80) + "C40 two".ljust(80)
