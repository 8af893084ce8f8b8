"""Sections zoomed to a finer sampling (``rather.seismic.zoom``), and the training and scoring that use it."""
import json

import numpy as np
import pytest

from rather.common.errors import BadInput
from rather.seismic.classes import FAULT, HORIZON
from rather.seismic.zoom import dominant_period, log_uniform_zoom, zoom_amplitude, zoom_labels, zoom_ladder
from rather.suites.cli import main


def test_labels_zoomed_by_a_whole_factor_become_blocks():
    labels = np.arange(12).reshape(3, 4)
    for zoom in (2, 3):
        np.testing.assert_array_equal(zoom_labels(labels, zoom), np.kron(labels, np.ones((zoom, zoom), int)))


def test_amplitudes_follow_a_smooth_signal_at_the_zoomed_positions():
    """Output sample i sits at input position (i + 1/2) / z - 1/2: a smooth signal is resampled there."""
    def signal(rows, cols):
        return np.sin(2 * np.pi * rows / 9) * np.cos(2 * np.pi * cols / 13)

    rows, cols = np.mgrid[0:60, 0:50]
    zoom = 2.5
    out = zoom_amplitude(signal(rows, cols), zoom)
    assert out.shape == (150, 125) and out.dtype == np.float32
    at_rows, at_cols = (np.arange(150) + 0.5) / zoom - 0.5, (np.arange(125) + 0.5) / zoom - 0.5
    expected = signal(at_rows[:, None], at_cols[None, :])
    np.testing.assert_allclose(out[10:-10, 10:-10], expected[10:-10, 10:-10], atol=0.01)  # away from the edges


def test_zoom_one_leaves_the_data_as_it_is():
    values = np.random.default_rng(0).standard_normal((5, 7)).astype(np.float32)
    labels = np.arange(35).reshape(5, 7)
    assert zoom_amplitude(values, 1) is values and zoom_labels(labels, 1) is labels


@pytest.mark.parametrize("zoom", [0.5, 0.999, 8.5, float("nan")])
def test_zooms_outside_one_to_eight_are_refused(zoom):
    with pytest.raises(BadInput, match=r"from 1 \(as they are\) to 8; give a factor in that range"):
        zoom_amplitude(np.zeros((4, 4)), zoom)


def test_log_uniform_zooms_put_half_the_draws_in_each_octave():
    rng = np.random.default_rng(0)
    draws = np.array([log_uniform_zoom(rng, 1, 4) for _ in range(4000)])
    assert draws.min() >= 1 and draws.max() <= 4
    assert abs((draws < 2).mean() - 0.5) < 0.03         # 1-2 and 2-4: one octave each
    assert log_uniform_zoom(rng, 2, 2) == pytest.approx(2)


def test_a_ladder_steps_by_equal_ratios():
    assert zoom_ladder(1, 4) == pytest.approx((1, 4 ** (1 / 3), 4 ** (2 / 3), 4))
    assert zoom_ladder(2, 2) == (2.0,)


def test_the_dominant_period_is_that_of_the_strongest_reflections():
    """Layers repeating every 8 samples (bin 32 of 256) under weaker ones every 32: 8, whatever the gain,
    the trace means and the traces' number; sections of other heights add on the same bins."""
    rows = np.arange(100)[:, None]
    section = 3 * np.sin(2 * np.pi * rows / 8) + np.sin(2 * np.pi * rows / 32) + 5 + np.zeros((1, 30))
    assert dominant_period([section]) == 8.0
    assert dominant_period([1000 * section[:, :3], section[:60]]) == 8.0
    assert dominant_period([np.sin(2 * np.pi * np.arange(300)[:, None] / 25) * np.ones((1, 4))]) == \
        pytest.approx(25, abs=25 ** 2 / 300)    # n = 300 here: read to about P**2 / n
    with pytest.raises(BadInput, match="give 2-D sections"):
        dominant_period([np.zeros(10)])


def faulted_section(shape=(60, 120)):
    """Noise amplitudes with a vertical fault pick at traces 40..42."""
    amplitude = np.random.default_rng(3).standard_normal(shape).astype(np.float32)
    faults = np.zeros(shape, dtype=bool)
    faults[:, 40:43] = True
    return amplitude, faults


def test_zoomed_sections_give_the_windows_of_the_enlarged_section(tmp_path):
    """field_faults at zooms (1, 2): the training section's windows at zoom 1, then those of the section and
    its picks enlarged twice (picks as 2 x 2 blocks) at stride 6; the held-out section only as it is."""
    from rather.seismic.classifier import field_faults, field_windows
    from rather.seismic.patches import scale_to_unit

    amplitude, faults = faulted_section()
    root = tmp_path / "picks"
    (root / "sections").mkdir(parents=True)
    (root / "masks").mkdir()
    for name in ("trained", "held"):
        np.save(root / "sections" / f"{name}.npy", amplitude)
        np.save(root / "masks" / f"{name}_mask.npy", faults.astype(np.uint8))
    (root / "classes.txt").write_text("background\nfault\n")
    field = field_faults(root, hold_out=("held",), zooms=(1.0, 2.0))
    scaled = scale_to_unit(amplitude)  # as the loader scales each section
    as_is = field_windows(scaled, faults)
    enlarged_faults = np.kron(faults, np.ones((2, 2), bool))
    enlarged = field_windows(zoom_amplitude(scaled, 2), enlarged_faults, stride=6)
    assert field.labels.tolist() == as_is[1].tolist() + enlarged[1].tolist()
    np.testing.assert_array_equal(field.patches, np.concatenate([as_is[0], enlarged[0]]))
    assert field.held_labels.tolist() == as_is[1].tolist()
    assert {FAULT, HORIZON} <= set(enlarged[1].tolist())


def test_a_zoomed_section_gives_the_clear_patches_of_the_enlarged_section():
    from rather.seismic.classifier import PATCH, LabelledSection, clear_labels, section_patches
    from rather.seismic.patches import extract_patches, patch_grid
    from rather.seismic.section import SeismicSection

    amplitude, faults = faulted_section((120, 200))
    labels = np.where(faults, FAULT, HORIZON)
    section = LabelledSection(SeismicSection(amplitude, "inline", 1, np.arange(200), "crossline",
                                             np.arange(120) * 4.0), labels, faults, np.zeros_like(faults))
    sample = section_patches(section, stride=16, zoom=2.0)
    big = np.kron(labels, np.ones((2, 2), int))
    rows, cols = patch_grid(240, 400, patch=PATCH, stride=32)
    expected = clear_labels(big, rows, cols)
    assert sample.labels.tolist() == expected[expected >= 0].tolist() and len(sample.labels) > 0
    np.testing.assert_array_equal(sample.patches,
                                  extract_patches(zoom_amplitude(amplitude, 2), rows, cols, PATCH)[expected >= 0])
    np.testing.assert_array_equal(sample.fault_zone, extract_patches(np.kron(faults, np.ones((2, 2))), rows, cols,
                                                                     PATCH)[expected >= 0] > 0.5)


def test_evaluate_scores_the_windows_of_the_zoomed_sections(tmp_path, capsys):
    """--zoom 2: the windows of the sections and masks enlarged twice, at stride 6, and the report says so."""
    from rather.seismic.classifier import field_windows
    from rather.seismic.patches import scale_to_unit

    amplitude, faults = faulted_section()
    root = tmp_path / "gsb"
    (root / "sections").mkdir(parents=True)
    (root / "masks").mkdir()
    np.save(root / "sections" / "east.npy", amplitude)
    np.save(root / "masks" / "east_mask.npy", faults.astype(np.uint8))
    (root / "classes.txt").write_text("background\nfault\n")
    assert main(["seismic", "evaluate", "--sections", str(root), "--binary", "fault", "--zoom", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    windows = field_windows(zoom_amplitude(scale_to_unit(amplitude), 2), np.kron(faults, np.ones((2, 2), bool)),
                            stride=6)
    assert report["zoom"] == 2.0 and report["patches"] == len(windows[1]) == report["sections"]["east"]
    assert report["dominant_period_samples"] == dominant_period([zoom_amplitude(scale_to_unit(amplitude), 2)])
    assert np.array(report["confusion"]).sum(axis=1).tolist() == [int((windows[1] == FAULT).sum()),
                                                                  int((windows[1] == HORIZON).sum())]


@pytest.mark.slow
def test_zoomed_training_draws_its_small_patches_from_zoomed_inlines(monkeypatch):
    """--zoom: the 45-sample stream is a balanced draw from the crops of zoomed inlines, not crops of the 99s."""
    from rather.seismic import classifier
    from rather.seismic.options import TrainOptions

    seen = []
    monkeypatch.setattr(classifier, "train_streams",
                        lambda model, data, **_: seen.extend(data) or classifier.TrainingLog([0.0], [0.5]))
    _, _, meta = classifier.train(TrainOptions(surveys=1, per_class=4, epochs=1, zoom=(2.0, 2.0)))
    pool = classifier.zoomed_crops(classifier.survey_of(0, 0, styled=True), (2.0, 2.0),
                                   np.random.default_rng([0, classifier.ZOOM_STREAM]))
    _, expected = classifier.balanced_sample(*pool, 4, 2)
    assert [inputs.shape[-1] for inputs, _ in seen] == [99, 45]
    assert np.array_equal(seen[1][1], expected) and meta["zoom"] == [2.0, 2.0]


def test_the_synthetic_check_at_a_zoom_scores_the_patches_of_inlines_that_much_finer(monkeypatch, capsys):
    """``rather seismic evaluate --zoom 2`` without a source: the clear patches of the held-out surveys' inlines
    resampled twice as fine, and the report says so."""
    from rather.seismic import classifier
    from rather.seismic.synthetic import SurveyParameters, make_survey

    def small_survey(index, seed, styled=False):
        return make_survey(seed + index, SurveyParameters(inlines=4, crosslines=96, samples=128, faults=1))

    monkeypatch.setattr(classifier, "HELD_OUT_SURVEYS", 1)
    monkeypatch.setattr(classifier, "survey_of", small_survey)
    assert main(["seismic", "evaluate", "--zoom", "2", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    expected = classifier.survey_patches(small_survey(0, 1000), zoom=2.0)
    assert report["patches"] == len(expected.labels) > 0 and report["zoom"] == 2.0
    assert np.array(report["confusion"]).sum(axis=1).tolist() == np.bincount(expected.labels, minlength=4).tolist()
    assert report["data"].endswith("clear patches, inlines 2 times finer")
