"""rather.seismic.segy: reading, validating, describing and writing SEG-Y; every test makes its own files."""
import json
import os
from pathlib import Path

import numpy as np
import pytest
import segyio

from rather.common.errors import BadInput
from rather.seismic import attributes, headers, segy
from rather.seismic.segy import describe, format_description, open_survey, write_attribute

INLINES = np.arange(100, 109, 2)       # 5 inlines
CROSSLINES = np.arange(300, 313, 2)    # 7 crosslines
N_SAMPLES = 50
INTERVAL_MS = 4


def cube(n_inlines=len(INLINES), n_crosslines=len(CROSSLINES), n_samples=N_SAMPLES, scale=0.5):
    """Values that tell every (inline, crossline, sample) apart, exact in every sample format (within -50..49)."""
    i, j, k = np.meshgrid(np.arange(n_inlines), np.arange(n_crosslines), np.arange(n_samples), indexing="ij")
    return ((((7 * i + 3 * j + k) % 100) - 50) * scale).astype(np.float32)


def write_traces(path, headers, traces, *, fmt=5, endian="big", interval_us=INTERVAL_MS * 1000, ext_headers=0):
    """A SEG-Y file of the given traces, in the given order; headers[t] is {byte: value} for trace t.

    Every trace header also holds the sample count and interval (bytes 115 and 117), as most writers do.
    """
    spec = segyio.spec()
    spec.ext_headers = ext_headers
    spec.tracecount = len(traces)
    spec.samples = np.arange(traces.shape[1]) * INTERVAL_MS
    spec.format = fmt
    spec.endian = endian
    with segyio.create(str(path), spec) as f:
        for t, (header, trace) in enumerate(zip(headers, traces)):
            f.header[t] = {115: traces.shape[1], 117: interval_us, **header}
            f.trace[t] = np.asarray(trace).astype(f.dtype)
        f.bin.update(hdt=interval_us)
        for k in range(1, ext_headers + 1):
            f.text[k] = segyio.tools.create_text_header({1: f"EXTENDED TEXTUAL HEADER {k}"})
    return Path(path)


def write_cube(path, data=None, *, inlines=INLINES, crosslines=CROSSLINES, sorting="inline", missing=(), **options):
    """A 3D post-stack file of ``data`` (n_il, n_xl, n_samples), inline- or crossline-sorted, without ``missing``."""
    data = cube() if data is None else data
    order = [(i, j) for i in range(len(inlines)) for j in range(len(crosslines))]
    if sorting == "crossline":
        order.sort(key=lambda ij: (ij[1], ij[0]))
    order = [(i, j) for i, j in order if (inlines[i], crosslines[j]) not in set(missing)]
    headers = [{189: int(inlines[i]), 193: int(crosslines[j]), 21: int(crosslines[j])} for i, j in order]
    traces = np.stack([data[i, j] for i, j in order])
    return write_traces(path, headers, traces, **options)


def patch(path, byte, value, size=2, endian="big"):
    """Overwrite the integer at 1-based byte position ``byte``."""
    with open(path, "r+b") as f:
        f.seek(byte - 1)
        f.write(int(value).to_bytes(size, endian, signed=True))


def refused(match, path, **options):
    with pytest.raises(BadInput, match=match) as caught:
        with open_survey(path, **options) as survey:
            survey.validate(full=True)
    message = str(caught.value)
    assert "\n" not in message and message.startswith((Path(path).name, str(path)))
    return message


# ---------------------------------------------------------------- reading

def test_inline_and_crossline_sorted_files_give_the_same_arrays(tmp_path):
    data = cube()
    by_inline = write_cube(tmp_path / "il.sgy", data, sorting="inline")
    by_crossline = write_cube(tmp_path / "xl.sgy", data, sorting="crossline")
    for path, sorting in [(by_inline, "inline"), (by_crossline, "crossline")]:
        with open_survey(path) as survey:
            assert (survey.kind, survey.sorting) == ("3d", sorting)
            section = survey.inline(102)
            assert section.values.dtype == np.float32 and section.values.shape == (N_SAMPLES, 7)
            np.testing.assert_array_equal(section.values, data[1].T)   # time down the rows
            np.testing.assert_array_equal(survey.crossline(304).values, data[:, 2].T)
            np.testing.assert_array_equal(survey.depth_slice(10), data[:, :, 10])
            np.testing.assert_array_equal(survey.volume(), data)
            assert survey.live.shape == (5, 7) and survey.live.all()


def test_sections_say_what_their_rows_and_columns_are(tmp_path):
    path = write_cube(tmp_path / "s.sgy", cube())
    with open_survey(path) as survey:
        inline, crossline = survey.inline(102), survey.section("crossline", 304)
        assert (inline.kind, inline.number, inline.title) == ("inline", 102, "inline 102")
        assert inline.trace_key == "crossline"
        np.testing.assert_array_equal(inline.traces, CROSSLINES)
        np.testing.assert_array_equal(inline.samples, np.arange(N_SAMPLES) * 4.0)
        assert (crossline.kind, crossline.number, crossline.trace_key) == ("crossline", 304, "inline")
        np.testing.assert_array_equal(crossline.traces, INLINES)
        np.testing.assert_array_equal(crossline.values[:, 1], inline.values[:, 2])   # where they cross
        with pytest.raises(BadInput, match="a section follows an 'inline' or a 'crossline', not 'depth'"):
            survey.section("depth", 3)
    with open_survey(write_traces(tmp_path / "cdp.sgy", [{21: 500 + t} for t in range(12)], cube(1, 12)[0])) as line:
        section = line.line()
        assert (section.kind, section.number, section.trace_key, section.title) == ("line", None, "cdp", "line")
        np.testing.assert_array_equal(section.traces, 500 + np.arange(12))


def test_line_numbers_are_the_surveys_own(tmp_path):
    path = write_cube(tmp_path / "s.sgy")
    with open_survey(path) as survey:
        np.testing.assert_array_equal(survey.inlines, INLINES)
        np.testing.assert_array_equal(survey.crosslines, CROSSLINES)
        np.testing.assert_array_equal(survey.samples, np.arange(N_SAMPLES) * 4.0)
        assert survey.interval == 4.0 and survey.trace_count == 35
        assert survey.format == (5, "4-byte IEEE float") and survey.endian == "big"
        assert survey.trace_header(104, 306)[189] == 104
        with pytest.raises(BadInput, match=r"inline 101 is not in the survey \(inlines 100 to 108 step 2\)"):
            survey.inline(101)
        with pytest.raises(BadInput, match="crossline 2 is not in the survey"):
            survey.crossline(2)   # an index, not a crossline number
        with pytest.raises(BadInput, match="sample index 50 is outside 0..49"):
            survey.depth_slice(50)
        with pytest.raises(BadInput, match="the volume needs 7,000 bytes, more than 100; read it section by section"):
            survey.volume(max_bytes=100)
        with pytest.raises(BadInput, match="is a 3D survey"):
            survey.line()


@pytest.mark.parametrize("sorting", ["inline", "crossline"])
def test_missing_traces_are_filled_and_reported(tmp_path, sorting):
    data = cube()
    missing = [(102, 304), (108, 312), (100, 300)]
    path = write_cube(tmp_path / "gaps.sgy", data, sorting=sorting, missing=missing)
    with pytest.raises(ValueError):
        segyio.open(str(path))   # segyio's strict geometry refuses it
    with open_survey(path, fill=-9.0) as survey:
        expected = data.copy()
        live = np.ones((5, 7), dtype=bool)
        for il, xl in missing:
            i, j = np.searchsorted(INLINES, il), np.searchsorted(CROSSLINES, xl)
            expected[i, j] = -9.0
            live[i, j] = False
        np.testing.assert_array_equal(survey.live, live)
        np.testing.assert_array_equal(survey.inline(102).values, expected[1].T)
        np.testing.assert_array_equal(survey.crossline(304).values, expected[:, 2].T)
        np.testing.assert_array_equal(survey.depth_slice(3), expected[:, :, 3])
        np.testing.assert_array_equal(survey.volume(), expected)
        assert survey.trace_count == 32
        with pytest.raises(BadInput, match="no trace at inline 102, crossline 304"):
            survey.trace_header(102, 304)
    assert describe(path)["missing_traces"] == 3


def test_2d_line_along_crosslines(tmp_path):
    data = cube(1, 40)[0]
    headers = [{189: 7, 193: 1000 + 5 * t} for t in range(40)][::-1]   # written in descending order
    path = write_traces(tmp_path / "line.sgy", headers, data[::-1])
    with open_survey(path) as survey:
        assert (survey.kind, survey.line_key, survey.sorting) == ("2d", "crossline", None)
        np.testing.assert_array_equal(survey.line_numbers, 1000 + 5 * np.arange(40))
        np.testing.assert_array_equal(survey.line().values, data.T)
        np.testing.assert_array_equal(survey.inlines, [7])
        with pytest.raises(BadInput, match=r"inline\(\) needs a 3D survey, this file is 2d; read it with line\(\)"):
            survey.inline(7)
    d = describe(path)
    assert d["line"] == {"key": "crossline", "first": 1000, "last": 1195, "step": 5, "count": 40}
    assert d["inlines"] == {"first": 7, "last": 7, "step": None, "count": 1}


def test_2d_line_along_inlines(tmp_path):
    data = cube(1, 9)[0]
    path = write_traces(tmp_path / "line.sgy", [{189: 20 + t, 193: 3} for t in range(9)], data)
    with open_survey(path) as survey:
        assert (survey.kind, survey.line_key) == ("2d", "inline")
        np.testing.assert_array_equal(survey.line_numbers, 20 + np.arange(9))
        np.testing.assert_array_equal(survey.line().values, data.T)


def test_2d_line_with_cdp_numbers_only(tmp_path):
    data = cube(1, 12)[0]
    path = write_traces(tmp_path / "cdp.sgy", [{21: 500 + t} for t in range(12)], data)
    with open_survey(path) as survey:
        assert (survey.kind, survey.line_key) == ("2d", "cdp")
        np.testing.assert_array_equal(survey.line_numbers, 500 + np.arange(12))
        np.testing.assert_array_equal(survey.line().values, data.T)


def test_unstructured_reading_keeps_file_order(tmp_path):
    data = cube(1, 6)[0]
    path = write_traces(tmp_path / "flat.sgy", [{}] * 6, data)
    with open_survey(path, ignore_geometry=True) as survey:
        assert (survey.kind, survey.line_key) == ("unstructured", "trace")
        np.testing.assert_array_equal(survey.line().values, data.T)
    text = format_description(describe(path, ignore_geometry=True))
    assert "  kind        unstructured (traces in file order)\n  inlines     none\n" in text
    assert "  along line  trace 0 to 5 step 1 (6 traces)" in text


def test_little_endian_files_are_detected(tmp_path):
    data = cube(scale=1)
    path = write_cube(tmp_path / "le.sgy", data, endian="little", fmt=3, sorting="crossline")
    with pytest.raises(RuntimeError):
        segyio.open(str(path))   # read as big-endian, its sizes make no sense
    with open_survey(path) as survey:
        assert survey.endian == "little" and survey.format.code == 3
        np.testing.assert_array_equal(survey.volume(), data)
    assert describe(path)["endian"] == "little"


@pytest.mark.parametrize("fmt, scale", [(1, 0.5), (2, 1), (3, 1), (5, 0.5), (6, 0.5), (8, 1), (9, 1)])
def test_every_sample_format_comes_back_as_float32(tmp_path, fmt, scale):
    data = cube(scale=scale)
    path = write_cube(tmp_path / f"f{fmt}.sgy", data, fmt=fmt)
    with open_survey(path) as survey:
        assert survey.format.code == fmt and survey.format.name == segy.FORMATS[fmt][0]
        for array in (survey.inline(106).values, survey.crossline(302).values, survey.depth_slice(7),
                      survey.volume()):
            assert array.dtype == np.float32
        np.testing.assert_array_equal(survey.volume(), data)
        survey.validate(full=True)


@pytest.mark.parametrize("fmt", [11, 16])
def test_unsigned_formats(tmp_path, fmt):
    data = cube() + 50
    path = write_cube(tmp_path / "u.sgy", data, fmt=fmt)
    with open_survey(path) as survey:
        np.testing.assert_array_equal(survey.volume(), np.floor(data))


def test_input_is_opened_read_only(tmp_path):
    path = write_cube(tmp_path / "ro.sgy")
    before = path.read_bytes()
    path.chmod(0o444)
    with open_survey(path) as survey:
        survey.volume()
        survey.validate(full=True)
    assert path.read_bytes() == before


# ---------------------------------------------------------------- refusals

def test_refuses_missing_and_empty_files(tmp_path):
    refused("no such file", tmp_path / "absent.sgy")
    (tmp_path / "empty.sgy").write_bytes(b"")
    refused(r"empty file \(0 bytes\)", tmp_path / "empty.sgy")
    (tmp_path / "folder.sgy").mkdir()
    refused("is not a file", tmp_path / "folder.sgy")


def test_refuses_what_is_not_segy(tmp_path):
    (tmp_path / "short.sgy").write_bytes(b"\x01" * 1000)
    refused("not SEG-Y: 1,000 bytes, fewer than the 3,600 bytes", tmp_path / "short.sgy")
    (tmp_path / "binary.sgy").write_bytes(b"\x01\x02" * 3000)
    refused(r"not SEG-Y: the sample format code \(binary header bytes 3225-3226\) reads 258 big-endian and 513 "
            "little-endian", tmp_path / "binary.sgy")
    for size in (12, 12_000):
        (tmp_path / "text.sgy").write_bytes((b"hello world " * 1000)[:size])
        refused("text.sgy: a text file, not SEG-Y", tmp_path / "text.sgy")
    (tmp_path / "zeros.sgy").write_bytes(bytes(5000))
    refused("zeros.sgy: not SEG-Y: its first 3,600 bytes are all zeros", tmp_path / "zeros.sgy")


def test_byte_order_mark_decides_the_endianness(tmp_path):
    big = write_cube(tmp_path / "be.sgy")
    patch(big, 3297, 0x01020304, size=4)
    with open_survey(big) as survey:
        assert survey.endian == "big"
    path = write_cube(tmp_path / "le.sgy", endian="little")
    patch(path, 3297, 0x01020304, size=4, endian="little")   # SEG-Y rev 2 byte-order mark
    with open_survey(path) as survey:
        assert survey.endian == "little"
    patch(path, 3225, 0, endian="little")
    refused(r"unknown sample format code 0 in the binary header \(bytes 3225-3226, little-endian", path)


def test_refuses_headers_only(tmp_path):
    source = write_cube(tmp_path / "s.sgy")
    (tmp_path / "head.sgy").write_bytes(source.read_bytes()[:3600])
    refused("no traces: 3,600 bytes hold only the SEG-Y headers", tmp_path / "head.sgy")


def test_refuses_a_truncated_file_with_sizes(tmp_path):
    source = write_cube(tmp_path / "s.sgy")   # 35 traces of 240 + 50 * 4 bytes
    (tmp_path / "cut.sgy").write_bytes(source.read_bytes()[:-100])
    message = refused("truncated", tmp_path / "cut.sgy")
    assert message == ("cut.sgy: truncated: expected 19,000 bytes for 35 traces of 50 samples, found 18,900; "
                       "the file is incomplete — copy it again")


def test_refuses_pre_stack_gathers(tmp_path):
    data = cube()
    headers = [{189: int(il), 193: int(xl), 37: offset}
               for il in INLINES[:2] for xl in CROSSLINES for offset in (100, 200, 300)]
    traces = np.repeat(data[:2].reshape(-1, N_SAMPLES), 3, axis=0)
    path = write_traces(tmp_path / "gathers.sgy", headers, traces)
    refused("pre-stack data: 3 traces at inline 100, crossline 300 with offsets 100, 200, 300; "
            r"rather explains post-stack \(stacked\) data", path)


def test_refuses_a_trace_count_that_does_not_match_the_geometry(tmp_path):
    data = cube()
    headers = [{189: int(il), 193: int(xl)} for il in INLINES for xl in CROSSLINES]
    headers[5] = dict(headers[4])   # two traces claim the same position, same offset
    path = write_traces(tmp_path / "dup.sgy", headers, data.reshape(-1, N_SAMPLES))
    refused(r"trace count does not match the geometry: 35 traces for 34 positions \(2 traces at inline 100, "
            r"crossline 308\); check the line-number byte locations --iline/--xline \(now 189/193\)", path)


def test_refuses_a_file_without_usable_geometry(tmp_path):
    path = write_traces(tmp_path / "zeros.sgy", [{}] * 6, cube(1, 6)[0])
    refused(r"no usable geometry: every trace has inline 0 \(byte 189\), crossline 0 \(byte 193\) and CDP 0 "
            r"\(byte 21\); .*--iline/--xline \(now 189/193\), or read the traces in file order with --unstructured",
            path)


def test_refuses_wrong_byte_locations(tmp_path):
    headers = [{189: int(il), 193: int(xl), 21: int(xl), 1: 1 + t, 5: 1 + t}
               for t, (il, xl) in enumerate((il, xl) for il in INLINES for xl in CROSSLINES)]
    path = write_traces(tmp_path / "s.sgy", headers, cube().reshape(-1, N_SAMPLES))
    # bytes 1 and 5 (trace sequence numbers) put every trace on the diagonal of a 35 x 35 grid
    refused(r"no usable geometry: 35 traces scattered over 35 inlines x 35 crosslines; give the right header "
            r"byte locations --iline/--xline \(now 1/5\)", path, iline=1, xline=5)
    # bytes 9 and 13 are 0 everywhere: the CDP numbers (byte 21) repeat on every inline
    refused(r"trace count does not match the geometry: 35 traces for 7 positions \(5 traces at cdp 300\)",
            path, iline=9, xline=13)


@pytest.mark.parametrize("byte, value, match", [
    (3221, 0, "absurd sample count 0 per trace"),
    (3225, 4, r"sample format 4 \(4-byte fixed point with gain\) cannot be read by segyio"),
])
def test_refuses_unusable_binary_headers(tmp_path, byte, value, match):
    path = write_cube(tmp_path / "s.sgy")
    patch(path, byte, value)
    refused(match, path)


def test_refuses_an_absurd_extended_sample_count(tmp_path):
    path = write_cube(tmp_path / "s.sgy")
    patch(path, 3501, 2, size=1)              # SEG-Y rev 2: bytes 3269-3272 override bytes 3221-3222
    patch(path, 3269, 200_000, size=4)
    refused("absurd sample count 200,000 per trace", path)


def test_refuses_rev2_extensions_segyio_cannot_read(tmp_path):
    path = write_cube(tmp_path / "s.sgy")
    patch(path, 3501, 2, size=1)
    patch(path, 3507, 1)
    refused(r"uses SEG-Y rev 2 extensions segyio cannot read \(1 additional trace headers \(bytes 3507-3508\)\); "
            "convert it to SEG-Y rev 1 first", path)
    patch(path, 3505, -1)
    refused(r"\(a variable count of extended textual headers \(bytes 3505-3506 hold -1\); 1 additional trace", path)


def test_refuses_a_missing_sample_interval(tmp_path):
    path = write_cube(tmp_path / "s.sgy", interval_us=0)
    refused(r"no usable sample interval: binary header bytes 3217-3218 hold 0 us, first trace header "
            r"bytes 117-118 hold 0 us, read as signed 16-bit numbers; expected 1 to 32,767 us", path)
    too_long = write_cube(tmp_path / "long.sgy", interval_us=40_000)   # above segyio's signed 16 bits
    refused("binary header bytes 3217-3218 hold -25536 us", too_long)


def test_one_positive_sample_interval_is_enough_and_the_trace_header_wins_a_disagreement(tmp_path):
    path = write_cube(tmp_path / "s.sgy", interval_us=0)
    for trace in range(35):
        patch(path, 3600 + trace * (240 + 50 * 4) + 117, 2000)
    with open_survey(path) as survey:
        assert survey.interval == 2.0 and survey.notes == ()   # from the trace headers, as segyio takes it
    patch(path, 3217, 4000)
    with open_survey(path) as survey:   # segyio alone would fall back to 4 ms here
        assert survey.interval == 2.0
        np.testing.assert_array_equal(survey.samples, 2.0 * np.arange(N_SAMPLES))
        assert survey.notes == ("the sample intervals disagree: binary header bytes 3217-3218 say 4000 us, the "
                                "first trace header's bytes 117-118 say 2000 us; rather uses the trace header's 2 ms",)
    description = describe(path)
    assert description["samples"]["interval"] == 2.0 and description["notes"] == list(survey.notes)
    assert format_description(description).splitlines()[-1] == f"  note        {survey.notes[0]}"


def test_a_clean_file_has_no_notes(tmp_path):
    path = write_cube(tmp_path / "s.sgy")
    assert describe(path)["notes"] == []
    assert "  note  " not in format_description(describe(path))


@pytest.mark.parametrize("byte, value, match", [
    (3221, 51, r"the binary header says 51 samples per trace \(bytes 3221-3222\), the trace headers say 50"),
    (3225, 3, r"the sample format code 3 \(2-byte signed integer, binary header bytes 3225-3226\) does not fit "
              r"the traces, which hold 4-byte samples; repair the binary header's format code \(a 4-byte format: "
              r"1, 2, 5, 10\)"),
    (3505, 1, r"the binary header counts 1 extended textual headers \(bytes 3505-3506\) but the traces start "
              r"right after the binary header"),
])
def test_a_binary_header_field_the_traces_contradict_is_named(tmp_path, byte, value, match):
    path = write_cube(tmp_path / "s.sgy")
    patch(path, byte, value)
    assert "copy it again" not in refused(match, path)


def test_trace_headers_need_not_repeat_the_sample_count(tmp_path):
    """Writers that leave bytes 115-118 of the trace headers at zero (or at odd values) are read as before."""
    path = write_cube(tmp_path / "s.sgy")
    for trace in range(35):
        patch(path, 3600 + trace * (240 + 50 * 4) + 115, 0, size=4)
    patch(path, 3600 + 115, 51)   # one odd count: no single field explains it, the binary header rules
    with open_survey(path) as survey:
        np.testing.assert_array_equal(survey.volume(), cube())


def test_traces_in_any_order_give_the_same_arrays(tmp_path):
    data = cube()
    order = np.random.default_rng(5).permutation(35)
    pairs = [(i, j) for i in range(5) for j in range(7)]
    headers = [{189: int(INLINES[pairs[t][0]]), 193: int(CROSSLINES[pairs[t][1]])} for t in order]
    path = write_traces(tmp_path / "shuffled.sgy", headers, np.stack([data[pairs[t]] for t in order]))
    with open_survey(path) as survey:
        assert (survey.kind, survey.sorting) == ("3d", None)
        np.testing.assert_array_equal(survey.volume(), data)
        np.testing.assert_array_equal(survey.inline(104).values, data[2].T)


def test_byte_locations_are_the_first_bytes_of_trace_header_fields(tmp_path):
    assert segy.TRACE_FIELDS[:4] == (1, 5, 9, 13) and {189, 193, 21, 237} <= set(segy.TRACE_FIELDS)
    assert all(segy.check_byte_location(np.int64(byte), "--iline") == byte for byte in segy.TRACE_FIELDS)
    for byte, match in [(190, "inside the trace-header field that starts at byte 189"),
                        (0, "outside the 240-byte trace header"), (189.0, "a byte location is a whole number"),
                        (True, "a byte location is a whole number")]:
        with pytest.raises(BadInput, match=f"--xline {byte}: .*{match}.*; give the first byte of a trace-header field"):
            segy.check_byte_location(byte, "--xline")
    with pytest.raises(BadInput, match="--iline and --xline are both byte 9"):
        segy.check_byte_locations(9, 9)
    segy.check_byte_locations(9, 9, geometry=False)
    path = write_cube(tmp_path / "s.sgy")
    with pytest.raises(BadInput, match="--iline 3: byte 3 is inside"):
        with open_survey(path, iline=3):
            pass


def test_refuses_nan_and_inf_samples(tmp_path):
    data = cube()
    data[3, 4, 10] = np.nan
    data[3, 5, 11] = np.inf
    path = write_cube(tmp_path / "nan.sgy", data)
    first = data.copy()
    first[0, 0, 0] = -np.inf
    with pytest.raises(BadInput, match="first.sgy: 1 NaN or Inf samples in trace 0;"):
        with open_survey(write_cube(tmp_path / "first.sgy", first)) as survey:
            survey.validate()
    refused("2 NaN or Inf samples in traces 0 to 34; the data are damaged", path)
    with open_survey(path) as survey:
        survey.validate()   # the quick check reads only the first, middle and last traces
        np.testing.assert_array_equal(survey.inline(100).values, data[0].T)
        with pytest.raises(BadInput, match="nan.sgy: 2 NaN or Inf samples in inline 106;"):
            survey.inline(106)
        with pytest.raises(BadInput, match="1 NaN or Inf samples in crossline 308"):
            survey.crossline(308)
        with pytest.raises(BadInput, match="1 NaN or Inf samples in the slice at sample 10"):
            survey.depth_slice(10)
        with pytest.raises(BadInput, match="2 NaN or Inf samples in traces 0 to 34"):
            survey.volume()


# ---------------------------------------------------------------- describing

def test_describe_reports_the_geometry(tmp_path):
    path = write_cube(tmp_path / "s.sgy", fmt=1, sorting="crossline", missing=[(104, 306)])
    d = describe(path)
    assert d == {
        "path": str(path),
        "kind": "3d",
        "inlines": {"first": 100, "last": 108, "step": 2, "count": 5},
        "crosslines": {"first": 300, "last": 312, "step": 2, "count": 7},
        "traces": 34,
        "missing_traces": 1,
        "samples": {"count": 50, "first": 0.0, "last": 196.0, "interval": 4.0, "unit": "ms"},
        "format": {"code": 1, "name": "4-byte IBM float"},
        "endian": "big",
        "sorting": "crossline",
        "size_bytes": 3600 + 34 * (240 + 50 * 4),
        "line": None,
        "coordinates": {"cdp_x": {"min": 0.0, "max": 0.0}, "cdp_y": {"min": 0.0, "max": 0.0}, "scalar": 0},
        "suggested_geometry": None,
        "notes": [],
    }
    assert json.loads(json.dumps(d)) == d
    text = format_description(d)
    assert text.splitlines() == [
        f"{path} (18,560 bytes)",
        "  kind        3D, crossline-sorted",
        "  inlines     100 to 108 step 2 (5 lines)",
        "  crosslines  300 to 312 step 2 (7 lines)",
        "  traces      34, 1 missing",
        "  samples     50 from 0 to 196 ms, every 4 ms",
        "  format      1 (4-byte IBM float), big-endian",
        "  cdp x, y    0 to 0, 0 to 0 (coordinate scalar 0, applied)",
    ]


def test_format_description_of_a_line(tmp_path):
    path = write_traces(tmp_path / "cdp.sgy", [{21: 500 + 2 * t} for t in range(12)], cube(1, 12)[0], endian="little")
    text = format_description(describe(path))
    assert "  kind        2D line\n" in text
    assert "  along line  cdp 500 to 522 step 2 (12 traces)" in text
    assert "  traces      12, none missing" in text and "little-endian" in text


# ---------------------------------------------------------------- writing

def raw_headers(path, n_samples, sample_bytes, trace0=3600):
    """Binary header and every trace header, as bytes, read without segyio."""
    data = Path(path).read_bytes()
    size = 240 + n_samples * sample_bytes
    traces = [data[trace0 + t * size:trace0 + t * size + 240] for t in range((len(data) - trace0) // size)]
    return data[:trace0], traces


@pytest.mark.parametrize("fmt, endian", [(1, "big"), (3, "big"), (5, "little")])
def test_write_attribute_round_trip(tmp_path, fmt, endian):
    source = write_cube(tmp_path / "in.sgy", cube(), fmt=fmt, endian=endian, sorting="crossline")
    with open(source, "r+b") as f:   # bytes segyio has no field for must survive too
        for t in range(35):
            f.seek(3600 + t * (240 + 50 * segy.FORMATS[fmt][1]) + 232)
            f.write(b"SEG%05d" % t)
    attribute = np.random.default_rng(0).standard_normal((5, 7, 50)).astype(np.float32)
    target = write_attribute(source, tmp_path / "out" / "attribute.sgy", attribute)
    assert target == tmp_path / "out" / "attribute.sgy"
    with segyio.open(str(source), endian=endian) as src, segyio.open(str(target), endian=endian) as out:
        assert int(out.format) == 5 and out.dtype == np.float32
        assert out.sorting == src.sorting == segyio.TraceSortingFormat.CROSSLINE_SORTING
        np.testing.assert_array_equal(out.ilines, INLINES)
        np.testing.assert_array_equal(out.xlines, CROSSLINES)
        np.testing.assert_array_equal(out.samples, src.samples)
        assert out.text[0] == src.text[0]
        assert {k: v for k, v in out.bin.items() if k != segyio.BinField.Format} == \
               {k: v for k, v in src.bin.items() if k != segyio.BinField.Format}
        assert all(dict(out.header[t]) == dict(src.header[t]) for t in range(35))
        np.testing.assert_array_equal(segyio.tools.cube(out), attribute.transpose(1, 0, 2))   # crossline-major
        np.testing.assert_array_equal(out.iline[102], attribute[1])
    source_head, source_traces = raw_headers(source, 50, segy.FORMATS[fmt][1])
    target_head, target_traces = raw_headers(target, 50, 4)
    assert target_traces == source_traces and target_traces[7][232:] == b"SEG00007"
    assert target_head[:3224] == source_head[:3224] and target_head[3226:] == source_head[3226:]
    assert int.from_bytes(target_head[3224:3226], endian) == 5


def test_extended_textual_headers_are_read_past_and_copied(tmp_path):
    source = write_cube(tmp_path / "ext.sgy", ext_headers=2)
    with open_survey(source) as survey:
        np.testing.assert_array_equal(survey.volume(), cube())
    target = write_attribute(source, tmp_path / "out.sgy", cube() * 3)
    with segyio.open(str(source)) as src, segyio.open(str(target)) as out:
        assert out.ext_headers == 2 and [out.text[k] for k in (1, 2)] == [src.text[k] for k in (1, 2)]
        np.testing.assert_array_equal(segyio.tools.cube(out), cube() * 3)
    (tmp_path / "cut.sgy").write_bytes(source.read_bytes()[:3600 + 3200])
    refused("cut.sgy: ends at byte 6,800, before the end of the 2 extended textual headers the binary header counts "
            r"\(bytes 3505-3506\), at byte 10,000; repair that count, or copy the file again", tmp_path / "cut.sgy")
    (tmp_path / "head.sgy").write_bytes(source.read_bytes()[:3600 + 6400])
    refused("no traces: 10,000 bytes hold only the SEG-Y headers and 2 extended textual headers", tmp_path / "head.sgy")


def test_write_attribute_from_sections_writes_zeros_elsewhere(tmp_path):
    source = write_cube(tmp_path / "in.sgy", fmt=3)
    section = np.arange(50 * 7, dtype=np.float32).reshape(50, 7)   # (samples, crosslines), as inline(n).values
    target = write_attribute(source, tmp_path / "sections.sgy", {104: section, 100: section * 2})
    with open_survey(target) as survey:
        volume = survey.volume()
        np.testing.assert_array_equal(survey.inline(104).values, section)
    np.testing.assert_array_equal(volume[2], section.T)
    np.testing.assert_array_equal(volume[0], section.T * 2)
    assert not volume[[1, 3, 4]].any()
    with pytest.raises(BadInput, match="inline 103 is not in the survey"):
        write_attribute(source, tmp_path / "bad.sgy", {103: section})
    with pytest.raises(BadInput, match=r"the section of inline 104 has shape \(50, 5\), the survey needs \(50, 7\)"):
        write_attribute(source, tmp_path / "bad.sgy", {104: section[:, :5]})
    with pytest.raises(BadInput, match=r"the section of inline 104 has shape \(7, 50\), the survey needs \(50, 7\)"):
        write_attribute(source, tmp_path / "bad.sgy", {104: section.T.copy()})   # trace rows: the other layout
    assert not (tmp_path / "bad.sgy").exists()


@pytest.mark.parametrize("sorting", ["inline", "crossline"])
def test_write_attribute_from_crossline_sections(tmp_path, sorting):
    source = write_cube(tmp_path / "in.sgy", sorting=sorting)
    section = np.arange(50 * 5, dtype=np.float32).reshape(50, 5)   # (samples, inlines)
    target = write_attribute(source, tmp_path / "xl.sgy", {CROSSLINES[3]: section}, by="crossline")
    with open_survey(target) as survey:
        volume = survey.volume()
        np.testing.assert_array_equal(survey.crossline(CROSSLINES[3]).values, section)
    assert not np.delete(volume, 3, axis=1).any()
    with pytest.raises(BadInput, match=r"the section of crossline \d+ has shape \(50, 7\), the survey needs \(50, 5\)"):
        write_attribute(source, tmp_path / "bad.sgy", {CROSSLINES[0]: np.zeros((50, 7))}, by="crossline")


def test_write_attribute_keeps_missing_traces_missing(tmp_path):
    missing = [(102, 304), (108, 300)]
    source = write_cube(tmp_path / "in.sgy", missing=missing)
    with open_survey(source) as survey:
        attribute = np.abs(survey.volume())
        live = survey.live.copy()
    target = write_attribute(source, tmp_path / "out.sgy", attribute)
    assert target.stat().st_size == 3600 + 33 * (240 + 50 * 4)
    with open_survey(target, fill=-1) as survey:
        np.testing.assert_array_equal(survey.live, live)
        np.testing.assert_array_equal(survey.volume(), np.where(live[..., None], attribute, -1))


def test_write_attribute_of_a_2d_line(tmp_path):
    headers = [{189: 1, 193: 40 - t} for t in range(40)]
    source = write_traces(tmp_path / "line.sgy", headers, cube(1, 40)[0])
    attribute = np.arange(40 * 50, dtype=np.float32).reshape(40, 50)
    target = write_attribute(source, tmp_path / "out.sgy", attribute)
    with open_survey(target) as survey:
        np.testing.assert_array_equal(survey.line().values, attribute.T)
    with pytest.raises(BadInput, match="sections by inline need a 3D survey"):
        write_attribute(source, tmp_path / "out2.sgy", {1: attribute})


def test_write_attribute_never_overwrites_the_input(tmp_path):
    source = write_cube(tmp_path / "in.sgy")
    before = source.read_bytes()
    values = cube()
    (tmp_path / "sub").mkdir()
    os.symlink(source, tmp_path / "link.sgy")
    os.link(source, tmp_path / "hard.sgy")
    for target in [source, tmp_path / "sub" / ".." / "in.sgy", tmp_path / "link.sgy", tmp_path / "hard.sgy"]:
        with pytest.raises(BadInput, match="is the input .*rather never overwrites an input"):
            write_attribute(source, target, values)
    with pytest.raises(BadInput, match="is a folder"):
        write_attribute(source, tmp_path / "sub", values)
    assert source.read_bytes() == before


@pytest.mark.parametrize("values, match", [
    (np.zeros((5, 7, 49)), r"has shape \(5, 7, 49\), the survey needs \(5, 7, 50\)"),
    (np.full((5, 7, 50), np.nan), "holds NaN or Inf values"),
    (np.zeros((5, 7, 50), dtype=complex), "has dtype complex128"),
])
def test_write_attribute_refuses_bad_values(tmp_path, values, match):
    source = write_cube(tmp_path / "in.sgy")
    with pytest.raises(BadInput, match=match):
        write_attribute(source, tmp_path / "out.sgy", values)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.sgy"]


def test_write_attribute_leaves_nothing_behind_when_it_fails(tmp_path, monkeypatch):
    source = write_cube(tmp_path / "in.sgy")
    target = tmp_path / "out.sgy"
    target.write_bytes(b"previous result")
    monkeypatch.setattr(headers, "CHUNK_BYTES", 3 * (240 + 50 * 4))   # several chunks, so the failure is mid-file
    calls = []

    def failing_rows(survey, values):
        def rows(traces):
            calls.append(traces[0])
            if len(calls) == 3:
                raise OSError("disk full")
            return np.zeros((len(traces), 50), dtype=np.float32)
        return rows

    monkeypatch.setattr(attributes, "_volume_rows", failing_rows)
    with pytest.raises(OSError, match="disk full"):
        write_attribute(source, target, cube())
    assert target.read_bytes() == b"previous result"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.sgy", "out.sgy"]
