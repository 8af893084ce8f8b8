"""rather seismic character: survey statistics against straightforward computations and known answers."""
import json

import numpy as np
import pytest
import segyio

from rather.common.errors import BadInput
from rather.seismic.character import character, format_character
from rather.seismic.segy import open_survey
from rather.suites.cli import main

INTERVAL_MS = 4.0


def write(path, volume):
    """A 3-D file of ``volume`` (inlines, crosslines, samples); segyio puts the line numbers at 189 and 193."""
    segyio.tools.from_array3D(str(path), volume.astype(np.float32), dt=int(INTERVAL_MS * 1000))
    return path


def measured(path):
    with open_survey(path) as survey:
        return character(survey)


def pearson_mean(pairs):
    values = [np.corrcoef(a, b)[0, 1] for a, b in pairs if a.std() > 0 and b.std() > 0]
    return float(np.mean(values))


def test_trace_correlations_equal_numpy_corrcoef_and_skip_dead_traces(tmp_path):
    rng = np.random.default_rng(0)
    signal = rng.normal(size=(1, 1, 60))
    volume = signal + 0.8 * rng.normal(size=(4, 9, 60)) + 0.5 * np.cumsum(rng.normal(size=(4, 9, 1)), axis=1)
    volume[2, 5] = 0.0  # a dead trace
    report = measured(write(tmp_path / "v.sgy", volume))
    data = volume.astype(np.float32)
    for lag, value in zip((1, 2, 4), report["trace_correlation"]["along_inline"]):
        expected = pearson_mean((data[i, j + lag], data[i, j]) for i in range(4) for j in range(9 - lag))
        assert value == pytest.approx(expected, abs=1e-5)
    across = pearson_mean((data[i + 1, j], data[i, j]) for i in range(3) for j in range(9))
    assert report["trace_correlation"]["across_inlines"] == pytest.approx(across, abs=1e-5)
    assert report["sections"] == 4


def test_a_sinusoid_has_its_frequency_and_autocorrelation(tmp_path):
    frequency = 31.25  # Hz: an exact bin of 64-sample segments at 250 samples per second
    t = np.arange(256) * INTERVAL_MS / 1000.0
    volume = np.broadcast_to(np.sin(2 * np.pi * frequency * t), (3, 5, 256)).copy()
    report = measured(write(tmp_path / "sine.sgy", volume))
    assert report["peak_frequency_hz"] == pytest.approx(frequency)
    assert report["centroid_frequency_hz"] == pytest.approx(frequency, abs=1.0)
    one, two = report["vertical_autocorrelation"]["values"]
    assert one == pytest.approx(np.cos(np.pi / 4), abs=0.01) and two == pytest.approx(0.0, abs=0.01)
    assert report["trace_correlation"]["along_inline"] == pytest.approx([1.0, 1.0, 1.0])


@pytest.mark.parametrize("draw, kurtosis", [("normal", 0.0), ("laplace", 3.0)])
def test_amplitude_statistics_of_known_distributions(tmp_path, draw, kurtosis):
    rng = np.random.default_rng(1)
    volume = getattr(rng, draw)(size=(4, 50, 500))
    report = measured(write(tmp_path / f"{draw}.sgy", volume))
    amplitude = report["amplitude"]
    # scaled by the 99.5th percentile of |a| per section and clipped there: 0.5 % clipped, tails trimmed a little
    assert amplitude["clipped_share"] == pytest.approx(0.005, abs=0.001)
    assert amplitude["excess_kurtosis"] == pytest.approx(kurtosis, abs=0.2 + 0.3 * kurtosis)
    assert abs(report["trace_correlation"]["along_inline"][0]) < 0.02


def test_command_prints_surveys_side_by_side_and_refuses_dead_ones(tmp_path, capsys):
    rng = np.random.default_rng(2)
    one = write(tmp_path / "one.sgy", rng.normal(size=(2, 6, 40)))
    two = write(tmp_path / "two.sgy", rng.normal(size=(3, 4, 40)))
    assert main(["seismic", "character", str(one), str(two), "--json"]) == 0
    reports = json.loads(capsys.readouterr().out)
    assert [r["survey"] for r in reports] == ["one.sgy", "two.sgy"] and [r["sections"] for r in reports] == [2, 3]
    table = format_character(reports)
    assert table.splitlines()[0].split()[-2:] == ["one.sgy", "two.sgy"] and "excess kurtosis" in table
    dead = write(tmp_path / "dead.sgy", np.zeros((2, 3, 40)))
    assert main(["seismic", "character", str(dead)]) == 2
    error = capsys.readouterr().err.strip()
    assert "dead.sgy" in error and "constant" in error and len(error.splitlines()) == 1
    with open_survey(dead) as survey, pytest.raises(BadInput, match="nothing to measure"):
        character(survey)
