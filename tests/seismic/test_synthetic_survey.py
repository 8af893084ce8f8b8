"""Synthetic seismic surveys: the wavelet, determinism, the geology against its labels, SEG-Y and HDF5 output."""
import dataclasses
import json

import h5py
import numpy as np
import pytest
import segyio

from rather.common.errors import BadInput
from rather.seismic import synthetic
from rather.seismic.synthetic import CLASS_NAMES, SurveyParameters, make_survey, ricker, write_survey

SMALL = SurveyParameters(inlines=5, crosslines=7, samples=48, first_inline=20, first_crossline=1000,
                         bin_size_m=12.5, origin_m=(700_000.0, 500_000.5))


@pytest.fixture(scope="module")
def survey():
    return make_survey(11)


@pytest.fixture(scope="module")
def small():
    return make_survey(4, SMALL)


def rms(values):
    return float(np.sqrt(np.mean(np.square(values, dtype=np.float64))))


@pytest.mark.parametrize("frequency, interval", [(20.0, 4.0), (30.0, 4.0), (35.0, 2.0)])
def test_ricker_has_the_textbook_properties(frequency, interval):
    w = ricker(frequency, interval)
    centre = len(w) // 2
    assert w.ndim == 1 and len(w) % 2 == 1
    assert w[centre] == 1.0 and np.argmax(w) == centre
    np.testing.assert_array_equal(w, w[::-1])
    assert abs(w.sum()) < 1e-6 * np.abs(w).sum()
    assert abs(w[0]) < 1e-6
    a = (np.pi * frequency * interval / 1000) ** 2
    assert w[centre + 1] == pytest.approx((1 - 2 * a) * np.exp(-a))
    n = 4096
    spectrum = np.abs(np.fft.rfft(w, n))
    frequencies = np.fft.rfftfreq(n, interval / 1000)
    assert abs(frequencies[np.argmax(spectrum)] - frequency) <= frequencies[1]


def test_ricker_length_and_refusals():
    assert len(ricker(25.0, 2.0, length_ms=100.0)) == 51
    assert len(ricker(25.0, 4.0, length_ms=10.0)) == 3
    for args in [(0.0, 4.0), (62.5, 4.0), (30.0, 0.0), (float("nan"), 4.0)]:
        with pytest.raises(BadInput, match="ricker"):
            ricker(*args)
    with pytest.raises(BadInput, match="length_ms"):
        ricker(30.0, 4.0, length_ms=-1.0)


def test_same_seed_same_bits_other_seed_other_survey(survey):
    again = make_survey(11)
    for name in ("amplitude", "labels", "fault_zone", "salt_body"):
        np.testing.assert_array_equal(getattr(again, name), getattr(survey, name))
    assert again.realisation == survey.realisation
    assert not np.array_equal(make_survey(12).amplitude, survey.amplitude)


def test_each_part_of_the_geology_has_its_own_random_stream():
    base = SurveyParameters(inlines=6, crosslines=32, samples=64)
    three, one = make_survey(5, base), make_survey(5, dataclasses.replace(base, faults=1))
    assert one.realisation.faults[0] == three.realisation.faults[0]
    for name in ("ricker_hz", "snr_db", "salt_domes", "chaotic_zones"):
        assert getattr(one.realisation, name) == getattr(three.realisation, name)


def test_shapes_dtypes_and_axes(survey):
    assert survey.amplitude.shape == (64, 64, 256) and survey.amplitude.dtype == np.float32
    assert survey.labels.shape == survey.amplitude.shape and survey.labels.dtype == np.uint8
    assert survey.fault_zone.dtype == bool and survey.salt_body.dtype == bool
    np.testing.assert_array_equal(survey.inlines, np.arange(100, 164))
    np.testing.assert_array_equal(survey.crosslines, np.arange(300, 364))
    np.testing.assert_array_equal(survey.samples_ms, np.arange(256) * 4.0)
    assert survey.seed == 11 and survey.parameters == SurveyParameters()


def test_drawn_structures_stay_in_their_literature_ranges(survey):
    r = survey.realisation
    assert 20 <= r.ricker_hz <= 35 and 2 <= r.snr_db <= 5
    assert len(r.faults) == 3 and len(r.salt_domes) == 1 and len(r.chaotic_zones) == 1
    for fault in r.faults:
        assert 60 <= fault.dip_deg <= 82 and fault.kind in ("normal", "reverse")
        assert 5 <= fault.throw_top_samples <= fault.throw_bottom_samples <= 30
        assert np.linalg.norm(fault.normal) == pytest.approx(1.0)


@pytest.mark.parametrize("seed", [0, 1, 11])
def test_labels_follow_the_masks_and_every_class_is_present(seed, survey):
    s = survey if seed == 11 else make_survey(seed)
    assert (np.bincount(s.labels.ravel(), minlength=4) > 0).all()
    np.testing.assert_array_equal(s.labels == CLASS_NAMES.index("salt_dome"), s.salt_body)
    np.testing.assert_array_equal(s.labels == CLASS_NAMES.index("fault"), s.fault_zone)
    assert not (s.fault_zone & s.salt_body).any()


@pytest.mark.parametrize("kind, sign", [("normal", 1), ("reverse", -1)])
def test_a_fault_offsets_the_horizons_by_its_throw(kind, sign):
    parameters = SurveyParameters(
        inlines=8, crosslines=96, samples=160, faults=1, salt_domes=0, chaotic_zones=0, unconformities=0,
        fold_amplitude_samples=(0.0, 0.0), regional_dip=0.0, jitter_samples=0.0, dip_range_deg=(80.0, 80.0),
        throw_range_samples=(12.0, 12.0), strike_range_deg=(0.0, 0.0), fault_drag=(0.0, 0.0),
        reverse_fraction=1.0 if kind == "reverse" else 0.0, snr_db_range=(30.0, 30.0))
    s = make_survey(3, parameters)
    plane = s.realisation.faults[0]
    normal, anchor = np.array(plane.normal), np.array(plane.anchor)
    assert plane.kind == kind

    # The fault zone is exactly the documented slab: |distance to the plane| <= 2 samples.
    il, xl, t = np.meshgrid(np.arange(8.0), np.arange(96.0), np.arange(160.0), indexing="ij")
    distance = normal[0] * (il - anchor[0]) + normal[1] * (xl - anchor[1]) + normal[2] * (t - anchor[2])
    np.testing.assert_array_equal(s.fault_zone, np.abs(distance) <= 2.0)

    # Two traces 12 crosslines either side of the plane (at 320 ms on inline index 4): the
    # hanging wall's window matches the footwall trace shifted by the throw.
    i, t_mid = 4, 80
    crossing = anchor[1] - (normal[0] * (i - anchor[0]) + normal[2] * (t_mid - anchor[2])) / normal[1]
    sides = [int(round(crossing - 12)), int(round(crossing + 12))]
    side_distance = [normal @ (np.array([i, j, t_mid]) - anchor) for j in sides]
    hanging, footwall = sides if side_distance[0] < 0 else sides[::-1]
    window = s.amplitude[i, hanging, t_mid - 30:t_mid + 31].astype(np.float64)
    lags = np.arange(-25, 26)
    score = [window @ s.amplitude[i, footwall, t_mid - 30 - k:t_mid + 31 - k] for k in lags]
    assert abs(lags[int(np.argmax(score))] - sign * 12) <= 1


def test_salt_is_transparent_under_a_bright_top(survey):
    a, salt = survey.amplitude, survey.salt_body
    assert rms(a[salt]) < 0.6 * rms(a[~salt])
    top = np.argmax(salt, axis=2)
    slope = np.hypot(*np.gradient(top.astype(float)))
    crest = salt.any(axis=2) & (top >= 3) & (top < 250) & (slope < 2)
    assert crest.sum() > 20
    windows = top[crest][:, None] + np.arange(-3, 3)
    peaks = np.abs(np.take_along_axis(a[crest], windows, axis=1)).max(axis=1)
    assert peaks.mean() > 2.5 * np.abs(a[~salt]).mean()


def test_amplitudes_look_like_normalised_field_data(survey):
    a = survey.amplitude
    assert a.min() >= -1.0 and a.max() <= 1.0
    assert 0.002 < np.mean(np.abs(a) >= 1.0) <= 0.006
    assert np.percentile(np.abs(a), 99.5) == pytest.approx(1.0, abs=1e-3)
    assert abs(float(a.mean())) < 0.02
    assert 0.2 < rms(a[~survey.salt_body]) < 0.4
    spectrum = np.abs(np.fft.rfft(a.astype(np.float64), axis=2)).mean(axis=(0, 1))
    assert 15 <= np.fft.rfftfreq(256, 0.004)[np.argmax(spectrum)] <= 40
    # Horizons are laterally continuous, yet not identical from trace to trace (noise, amplitude changes).
    horizon = (survey.labels[:-1] == 0) & (survey.labels[1:] == 0)
    first, second = a[:-1].astype(np.float64), a[1:].astype(np.float64)
    correlation = (first * second)[horizon].sum() / np.sqrt((first**2)[horizon].sum() * (second**2)[horizon].sum())
    assert 0.6 < correlation < 0.95


def test_a_long_inline_can_be_made():
    s = make_survey(2, SurveyParameters(inlines=16, crosslines=400, samples=300))
    assert s.amplitude.shape == (16, 400, 300)
    assert np.isfinite(s.amplitude).all()
    assert (np.bincount(s.labels.ravel(), minlength=4) > 0).all()


@pytest.mark.parametrize("change", [
    dict(inlines=0), dict(samples=8), dict(faults=-1), dict(faults=1.5), dict(interval_ms=0.0),
    dict(dip_range_deg=(50.0, 95.0)), dict(throw_range_samples=(-1.0, 5.0)), dict(ricker_hz_range=(20.0, 70.0)),
    dict(snr_db_range=(5.0, 2.0)), dict(clip_percentile=40.0), dict(salt_drag_samples=(6.0, 40.0)),
    dict(fold_width_traces=(0.0, 10.0)), dict(fault_drag=(0.0, 0.9)), dict(noise_floor=1.5),
    dict(origin_m=(1.0,)), dict(origin_m=(float("inf"), 0.0)),
])
def test_unusable_parameters_are_refused(change):
    with pytest.raises(BadInput, match="SurveyParameters"):
        SurveyParameters(**change)


@pytest.mark.parametrize("seed", [-1, 1.5, True, "3"])
def test_unusable_seeds_are_refused(seed):
    with pytest.raises(BadInput, match="seed"):
        make_survey(seed, SMALL)


def test_write_survey_round_trips_through_plain_segyio_and_h5py(small, tmp_path):
    segy_path, labels_path = write_survey(small, tmp_path / "synthetic.sgy")
    assert segy_path == tmp_path / "synthetic.sgy" and labels_path == tmp_path / "synthetic.labels.h5"
    with segyio.open(segy_path) as f:  # default byte locations: inline 189, crossline 193
        np.testing.assert_array_equal(f.ilines, small.inlines)
        np.testing.assert_array_equal(f.xlines, small.crosslines)
        np.testing.assert_array_equal(f.samples, small.samples_ms)
        assert f.sorting == segyio.TraceSortingFormat.INLINE_SORTING
        np.testing.assert_array_equal(segyio.tools.cube(f), small.amplitude)
        assert f.bin[segyio.BinField.Format] == 5
        assert f.bin[segyio.BinField.Interval] == 4000 and f.bin[segyio.BinField.Samples] == 48
        assert f.bin[segyio.BinField.SEGYRevision] == 1
        for index in (0, 6, 34):
            h = f.header[index]
            i, j = divmod(index, 7)
            assert (h[segyio.TraceField.INLINE_3D], h[segyio.TraceField.CROSSLINE_3D]) == (20 + i, 1000 + j)
            assert h[segyio.TraceField.SourceGroupScalar] == -100
            assert h[segyio.TraceField.CDP_X] / 100 == 700_000.0 + 12.5 * j
            assert h[segyio.TraceField.CDP_Y] / 100 == 500_000.5 + 12.5 * i
            assert h[segyio.TraceField.TRACE_SAMPLE_COUNT] == 48
            assert h[segyio.TraceField.TRACE_SAMPLE_INTERVAL] == 4000
            assert h[segyio.TraceField.CDP] == h[segyio.TraceField.TRACE_SEQUENCE_FILE] == index + 1
        text = f.text[0].decode("ascii")
        assert "seed 4" in text and "synthetic.labels.h5" in text and "SEG Y REV1" in text
    raw = segy_path.read_bytes()
    assert raw[3224:3226] == b"\x00\x05" and raw[3500:3502] == b"\x01\x00"
    assert len(raw) == 3600 + 5 * 7 * (240 + 4 * 48)
    with h5py.File(labels_path, "r") as f:
        for name in ("labels", "fault_zone", "salt_body", "inlines", "crosslines", "samples_ms"):
            np.testing.assert_array_equal(f[name][()], getattr(small, name))
        assert f["labels"].dtype == np.uint8 and f["salt_body"].dtype == bool
        assert f.attrs["seed"] == 4
        assert [str(name) for name in f.attrs["class_names"]] == list(CLASS_NAMES)
        stored = json.loads(f.attrs["parameters"])
        assert SurveyParameters(**{k: tuple(v) if isinstance(v, list) else v for k, v in stored.items()}) == SMALL
        assert len(json.loads(f.attrs["realisation"])["faults"]) == SMALL.faults


def test_write_survey_leaves_nothing_behind_when_it_fails(small, tmp_path, monkeypatch):
    (tmp_path / "survey.labels.h5").write_bytes(b"earlier file")

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(synthetic, "_write_labels", broken)
    with pytest.raises(OSError, match="disk full"):
        write_survey(small, tmp_path / "survey.sgy")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["survey.labels.h5"]
    assert (tmp_path / "survey.labels.h5").read_bytes() == b"earlier file"


def test_write_survey_refuses_bad_surveys_before_writing(small, tmp_path):
    with pytest.raises(BadInput, match="NaN"):
        write_survey(dataclasses.replace(small, amplitude=np.full_like(small.amplitude, np.nan)), tmp_path / "a.sgy")
    with pytest.raises(BadInput, match="labels has shape"):
        write_survey(dataclasses.replace(small, labels=small.labels[:, :, :-1]), tmp_path / "a.sgy")
    with pytest.raises(BadInput, match="both"):
        write_survey(small, tmp_path / "a.sgy", tmp_path / "a.sgy")
    with pytest.raises(BadInput, match="Survey"):
        write_survey(small.amplitude, tmp_path / "a.sgy")
    assert list(tmp_path.iterdir()) == []


def test_label_sections_read_back_as_the_survey_holds_them(tmp_path):
    from rather.seismic.synthetic import read_label_section

    survey = make_survey(3, SurveyParameters(inlines=6, crosslines=7, samples=20))
    _, labels_path = write_survey(survey, tmp_path / "s.sgy")
    for kind, axis, numbers in (("inline", 0, survey.inlines), ("crossline", 1, survey.crosslines)):
        number = int(numbers[2])
        got = read_label_section(labels_path, kind, number)
        for array, volume in zip(got, (survey.labels, survey.fault_zone, survey.salt_body)):
            np.testing.assert_array_equal(array, np.take(volume, 2, axis=axis).T)
    with pytest.raises(BadInput, match="inline 5 is not in the labels"):
        read_label_section(labels_path, "inline", 5)
    with pytest.raises(BadInput, match="not a labels file"):
        read_label_section(tmp_path / "s.sgy", "inline", int(survey.inlines[0]))


def test_a_synthetic_section_is_the_section_its_seg_y_file_reads_back(tmp_path):
    from rather.seismic.segy import open_survey

    survey = make_survey(3, SurveyParameters(inlines=6, crosslines=7, samples=20))
    segy_path, _ = write_survey(survey, tmp_path / "s.sgy")
    with open_survey(segy_path) as written:
        for kind, numbers in (("inline", survey.inlines), ("crossline", survey.crosslines)):
            made, read = survey.section(kind, int(numbers[4])), written.section(kind, int(numbers[4]))
            np.testing.assert_array_equal(made.values, read.values)
            assert (made.kind, made.number, made.trace_key) == (read.kind, read.number, read.trace_key)
            np.testing.assert_array_equal(made.traces, read.traces)
            np.testing.assert_array_equal(made.samples, read.samples)
    with pytest.raises(BadInput, match=r"crossline 3 is not in the synthetic survey \(crosslines 300..306\)"):
        survey.section("crossline", 3)
