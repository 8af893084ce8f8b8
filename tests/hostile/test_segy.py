"""Hostile SEG-Y: broken files and byte locations through ``seismic info``, ``character`` and ``explain``.

Every file is a copy of one small synthetic survey (rather's own writer) damaged by
byte edits. SEG-Y layout, big-endian: a 3200-byte textual header, a 400-byte binary
header (sample interval at bytes 3217-3218, samples per trace 3221-3222, format code
3225-3226, extended textual headers 3505-3506), then traces of a 240-byte header
(samples 115-116, interval 117-118, CDP 21-24, inline 189-192, crossline 193-196) and
the samples, here 4-byte IEEE floats. Each case must be a clean refusal (the ``refuse``
fixture) whose one line names what is wrong — the header field, not "copy it again",
when a field is at fault.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import pytest

from rather.seismic.synthetic import SurveyParameters, make_survey, write_survey

INLINES, CROSSLINES, SAMPLES = 4, 60, 60
TRACE = 240 + 4 * SAMPLES
TRACES = INLINES * CROSSLINES
FIRST = 3600  # the first trace's first byte (0-based offset)


@pytest.fixture(scope="module")
def survey_bytes(tmp_path_factory) -> bytes:
    folder = tmp_path_factory.mktemp("hostile_segy")
    segy_path, _ = write_survey(make_survey(3, SurveyParameters(inlines=INLINES, crosslines=CROSSLINES,
                                                                samples=SAMPLES)), folder / "survey.sgy")
    data = segy_path.read_bytes()
    assert len(data) == FIRST + TRACES * TRACE
    return data


def put(data: bytearray, byte: int, value: int, size: int = 2) -> bytearray:
    """Write ``value`` big-endian at 1-based file byte ``byte``."""
    data[byte - 1:byte - 1 + size] = value.to_bytes(size, "big", signed=True)
    return data


def in_traces(data: bytearray, byte: int, value: Callable[[int], int] | int, size: int = 4,
              traces=range(TRACES)) -> bytearray:
    """Write ``value`` (or ``value(trace)``) at 1-based trace-header byte ``byte`` of the given traces."""
    for trace in traces:
        put(data, FIRST + trace * TRACE + byte, value(trace) if callable(value) else value, size)
    return data


def binary(byte: int, value: int, size: int = 2) -> Callable[[bytes], bytes]:
    return lambda data: put(bytearray(data), byte, value, size)


def headers(byte: int, value, size: int = 4, traces=range(TRACES)) -> Callable[[bytes], bytes]:
    return lambda data: in_traces(bytearray(data), byte, value, size, traces)


def cut(length: int) -> Callable[[bytes], bytes]:
    return lambda data: data[:length]


Cases = dict[str, tuple[Callable[[bytes], bytes], tuple[str, ...]]]
"""name: (the damaged file made from the survey's bytes, fragments of the one line every command prints)"""

CUT_SHORT: Cases = {
    "cut inside the textual header": (cut(1000), ("truncated inside its headers: 1,000 bytes", "copy it again")),
    "cut inside the binary header": (cut(3400), ("truncated inside its headers: 3,400 bytes",)),
    "headers only": (cut(3600), ("no traces: 3,600 bytes hold only the SEG-Y headers", "copy it again")),
    "cut inside a trace header": (cut(FIRST + 10 * TRACE + 100),
                                  ("truncated: expected 8,880 bytes for 11 traces of 60 samples, found 8,500",)),
    "cut mid-trace": (cut(FIRST + 10 * TRACE + 300), ("truncated: expected 8,880 bytes for 11 traces",)),
    "one byte short": (cut(FIRST + TRACES * TRACE - 1),
                       ("truncated: expected 118,800 bytes for 240 traces of 60 samples, found 118,799",
                        "copy it again")),
    "a file of zeros": (lambda data: bytes(len(data)), ("not SEG-Y: its first 3,600 bytes are all zeros",
                                                        "copy it again")),
    "empty": (lambda data: b"", ("empty file (0 bytes)",)),
}

DAMAGED_HEADERS: Cases = {
    # the sample format code and the byte order
    "format code 0": (binary(3225, 0), ("the sample format code in the binary header (bytes 3225-3226) reads 0 "
                                        "big-endian and 0 little-endian, neither a SEG-Y format code",
                                        "repair the binary header")),
    "format code 99": (binary(3225, 99), ("sample format code in the binary header (bytes 3225-3226) reads 99 "
                                          "big-endian",)),
    "format code 13 (unassigned)": (binary(3225, 13), ("reads 13 big-endian",)),
    "format code -1": (binary(3225, -1), ("reads -1 big-endian and -1 little-endian",)),
    "format 4 (fixed point with gain)": (binary(3225, 4), ("sample format 4 (4-byte fixed point with gain) "
                                                            "cannot be read by segyio",)),
    "format 7 (3-byte integers)": (binary(3225, 7), ("sample format 7 (3-byte signed integer) cannot be read",)),
    "format 15 (3-byte unsigned)": (binary(3225, 15), ("sample format 15 (3-byte unsigned integer) cannot",)),
    "format 3 in a file of 4-byte samples": (binary(3225, 3), (
        "the sample format code 3 (2-byte signed integer, binary header bytes 3225-3226) does not fit the traces, "
        "which hold 4-byte samples; repair the binary header's format code (a 4-byte format: 1, 2, 5, 10)",)),
    "format 6 in a file of 4-byte samples": (binary(3225, 6), ("the sample format code 6 (8-byte IEEE float",
                                                                "which hold 4-byte samples")),
    "format 8 in a file of 4-byte samples": (binary(3225, 8), ("the sample format code 8 (1-byte signed integer",)),
    "a little-endian byte-order mark on big-endian headers": (binary(3297, 0x04030201, 4), (
        "unknown sample format code 1280 in the binary header (bytes 3225-3226, little-endian by its byte-order "
        "mark)",)),
    # samples per trace
    "0 samples per trace": (binary(3221, 0), ("absurd sample count 0 per trace in the binary header (bytes "
                                              "3221-3222)", "the first trace header says 60 (bytes 115-116)")),
    "more samples per trace than the file holds": (binary(3221, 30_000), (
        "the binary header says 30,000 samples per trace (bytes 3221-3222), the trace headers say 60 (bytes "
        "115-116) and the file's size fits 60; repair the binary header's sample count",)),
    "one sample per trace too many": (binary(3221, 61), ("the binary header says 61 samples per trace",)),
    "one sample per trace too few": (binary(3221, 59), ("the binary header says 59 samples per trace",)),
    "65535 samples per trace": (binary(3221, -1), ("the binary header says 65,535 samples per trace",)),
    "absurd rev 2 extended sample count": (lambda data: put(binary(3501, 2, 1)(data), 3269, 200_000, 4),
                                           ("absurd sample count 200,000 per trace",)),
    # sample interval
    "interval 0 in every header": (lambda data: headers(117, 0, 2)(binary(3217, 0)(data)),
                                   ("no usable sample interval: binary header bytes 3217-3218 hold 0 us, first "
                                    "trace header bytes 117-118 hold 0 us",)),
    "negative interval in every header": (lambda data: headers(117, -4000, 2)(binary(3217, -4000)(data)),
                                          ("no usable sample interval: binary header bytes 3217-3218 hold -4000 us",)),
    # extended textual headers
    "absurd count of extended textual headers": (binary(3505, 30_000), (
        "the binary header counts 30,000 extended textual headers (bytes 3505-3506) but the traces start right "
        "after the binary header; repair that count (0)",)),
    "one extended textual header that is not there": (binary(3505, 1), ("counts 1 extended textual headers",)),
    "negative count of extended textual headers": (binary(3505, -5), (
        "absurd count of -5 extended textual headers in the binary header (bytes 3505-3506)",)),
    "variable count of extended textual headers (rev 2)": (binary(3505, -1), (
        "uses SEG-Y rev 2 extensions segyio cannot read",)),
    # trace headers
    "every trace at one position": (lambda data: headers(21, 7)(headers(193, 7)(headers(189, 7)(data))), (
        "no usable geometry: every trace has inline 7 (byte 189), crossline 7 (byte 193) and CDP 7 (byte 21)",)),
    "every inline number the same": (headers(189, 100), (
        "trace count does not match the geometry: 240 traces for 60 positions (4 traces at crossline 300)",)),
    "two traces at one position": (headers(193, 300, traces=[1]), (
        "trace count does not match the geometry: 240 traces for 239 positions (2 traces at inline 100, "
        "crossline 300); check the line-number byte locations --iline/--xline (now 189/193)",)),
    "line numbers scattered": (lambda data: headers(193, lambda t: 1000 * t)(headers(189, lambda t: 7 * t)(data)), (
        "no usable geometry: 240 traces scattered over 240 inlines x 240 crosslines",)),
    "a blank binary header": (lambda data: data[:3200] + bytes(400) + data[3600:], (
        "the binary header (bytes 3201-3600) is all zeros: no sample format, count or interval",)),
}

UNCONFIRMED: Cases = {
    # a wrong count or format in a file whose trace headers hold no sample count: header or cut short, say both
    "a wrong sample count the trace headers do not hold": (lambda data: headers(115, 0, 2)(binary(3221, 61)(data)), (
        "118,800 bytes are not whole traces of 61 samples of 4 bytes (binary header bytes 3221-3222 and 3225-3226; "
        "the first trace header does not confirm the count at bytes 115-116): either those header fields are wrong",
    )),
    "a wrong format code the trace headers cannot confirm": (
        lambda data: headers(115, 0, 2)(binary(3221, 100)(binary(3225, 3)(data))),
        ("bytes are not whole traces of 100 samples of 2 bytes",)),
}

NOT_SEGY: Cases = {
    "a text file": (lambda data: b"inline,crossline,amplitude\n" + b"100,300,0.5\n" * 2000,
                    ("a text file, not SEG-Y",)),
    "a short text file": (lambda data: b"not a survey\n", ("a text file, not SEG-Y",)),
    "random bytes": (lambda data: bytes((7 * i * i + 3 * i) % 251 for i in range(50_000)), ("not SEG-Y",)),
}

BROKEN_FILES = {**CUT_SHORT, **DAMAGED_HEADERS, **UNCONFIRMED, **NOT_SEGY}


def explain(path: Path, tmp_path: Path) -> list:
    return ["seismic", "explain", path, "--out", tmp_path / "explained"]


COMMANDS = {
    "info": lambda path, tmp_path: ["seismic", "info", path],
    "character": lambda path, tmp_path: ["seismic", "character", path],
    "explain": explain,
}


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", BROKEN_FILES)
def test_a_broken_file_is_refused(survey_bytes, tmp_path, refuse, case, command):
    damage, says = BROKEN_FILES[case]
    path = tmp_path / "bad.sgy"
    path.write_bytes(damage(survey_bytes))
    line = refuse(COMMANDS[command](path, tmp_path), says=("rather seismic: error: bad.sgy: ", *says))
    if case in DAMAGED_HEADERS:  # the field at fault, not a failed copy
        assert "copy it again" not in line and "truncated" not in line
    if case in UNCONFIRMED:  # no field can be blamed: neither "truncated" alone nor a field alone
        assert "truncated" not in line and "those header fields are wrong" in line and "cut short" in line


@pytest.mark.parametrize("command", COMMANDS)
def test_a_folder_or_a_missing_file_is_refused(tmp_path, refuse, command):
    (tmp_path / "folder.sgy").mkdir()
    refuse(COMMANDS[command](tmp_path / "folder.sgy", tmp_path), says="folder.sgy: is not a file")
    refuse(COMMANDS[command](tmp_path / "absent.sgy", tmp_path), says="absent.sgy: no such file")


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("option, byte, says", [
    ("--iline", 0, "--iline 0: byte 0 is outside the 240-byte trace header, whose fields start at bytes 1 to 237"),
    ("--iline", 1000, "--iline 1000: byte 1000 is outside the 240-byte trace header"),
    ("--iline", -5, "--iline -5: byte -5 is outside"),
    ("--iline", 191, "--iline 191: byte 191 is inside the trace-header field that starts at byte 189"),
    ("--iline", 240, "--iline 240: byte 240 is inside the trace-header field that starts at byte 237"),
    ("--xline", 0, "--xline 0: byte 0 is outside"),
    ("--xline", 241, "--xline 241: byte 241 is outside"),
    ("--xline", 2, "--xline 2: byte 2 is inside the trace-header field that starts at byte 1"),
    ("--xline", 189, "--iline and --xline are both byte 189"),
])
def test_a_byte_location_segyio_cannot_read_is_refused(survey_bytes, tmp_path, refuse, command, option, byte, says):
    path = tmp_path / "survey.sgy"
    path.write_bytes(survey_bytes)
    line = refuse([*COMMANDS[command](path, tmp_path), option, byte], says=("rather seismic: error: ", says))
    if "both" not in says:
        assert line.endswith("give the first byte of a trace-header field, such as 189 (inline) / 193 (crossline) "
                             "of SEG-Y rev 1, or 9 (field record) / 21 (CDP) of older files")


def test_the_byte_locations_are_checked_before_the_file_is_opened(tmp_path, refuse):
    refuse(["seismic", "info", tmp_path / "absent.sgy", "--iline", 0], says="--iline 0:")


@pytest.mark.parametrize("command", ["info", "character"])
def test_two_sample_intervals_take_the_trace_header_and_say_so(survey_bytes, tmp_path, run_cli, command):
    path = tmp_path / "survey.sgy"
    path.write_bytes(binary(3217, 2000)(survey_bytes))
    outcome = run_cli(["seismic", command, path])
    assert outcome.status == 0, outcome.err
    if command == "info":
        assert "every 4 ms" in outcome.out
        assert outcome.out.strip().splitlines()[-1] == (
            "  note        the sample intervals disagree: binary header bytes 3217-3218 say 2000 us, the first "
            "trace header's bytes 117-118 say 4000 us; rather uses the trace header's 4 ms")
    assert path.read_bytes() == binary(3217, 2000)(survey_bytes)


@pytest.mark.parametrize("sizes, says", [
    (["--samples", "65536"], "65,536 samples per trace do not fit SEG-Y's 16-bit sample count"),
    (["--samples", "65537", "--inlines", "1", "--crosslines", "2"], "65,537 samples per trace do not fit"),
    (["--samples", "1000000"], "ask for at most 65,535 samples"),
    (["--samples", "65536", "--inlines", "1"], "65,536 samples per trace do not fit"),
])
def test_synth_refuses_numbers_that_overflow_a_header_field_before_any_work(tmp_path, refuse, sizes, says):
    refuse(["seismic", "synth", tmp_path / "big.sgy", *sizes], says=("rather seismic: error: ", says))


def _strict_json(path: Path) -> dict:
    """The file as a strict JSON reader sees it: NaN and Infinity are not JSON."""
    def refuse(constant):
        raise ValueError(f"{constant} in {path}")
    return json.loads(path.read_text(), parse_constant=refuse)


@pytest.mark.slow
@pytest.mark.parametrize("sizes, not_checked", [
    ({"inlines": 2, "crosslines": 100, "samples": 100, "faults": 0, "salt_domes": 0, "chaotic_zones": 0},
     ["energy share inside fault: no patch both labelled and predicted fault on inline 101"]),
    ({"inlines": 2, "crosslines": 60, "samples": 100},   # narrower than a 99-trace patch: no clear patch
     ["accuracy: no clear patch on inline 101"]),
], ids=["a class without a clear patch", "a line narrower than a patch"])
def test_the_suite_on_a_survey_synth_makes_says_not_checked(tmp_path, run_cli, sizes, not_checked):
    survey = tmp_path / "s.sgy"
    write_survey(make_survey(5, SurveyParameters(**sizes)), survey)
    outcome = run_cli(["suite", "seismic", "--data", survey, "--out", tmp_path / "out"])
    assert outcome.status == 0, outcome.err
    truth = _strict_json(tmp_path / "out" / "summary.json")["suites"]["seismic"]["truth"]
    assert set(not_checked) <= set(truth["not_checked"])
    assert _strict_json(tmp_path / "out" / "seismic" / "summary.json")["truth"] == truth
    assert "not checked" in (tmp_path / "out" / "index.html").read_text()
