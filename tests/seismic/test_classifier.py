"""Known answers for the classifier's data curation and scores."""
import json

import numpy as np
import pytest
import torch

from rather.seismic.classifier import (CLASS_NAMES, DEFAULT_CHECKPOINT, PATCH, PatchSample, balanced_accuracy,
                                       balanced_sample, clear_labels, confusion_matrix, contrast_energy,
                                       evaluate_patches, format_evaluation)
from rather.seismic.options import ModelChoice
from rather.seismic.seismic_model import load_seismic_model

HORIZON, CHAOTIC, FAULT, SALT = range(4)


def test_clear_labels_follow_the_curation_rule():
    labels = np.zeros((PATCH, 5 * PATCH), dtype=np.uint8)           # five side-by-side patches
    labels[:, 1 * PATCH + 47:1 * PATCH + 52] = FAULT                   # a fault plane through patch 1's centre
    labels[20:80, 2 * PATCH:3 * PATCH] = SALT                          # salt filling patch 2's centre
    labels[:, 3 * PATCH:4 * PATCH] = CHAOTIC                           # all chaotic
    labels[30:70, 4 * PATCH + 30:4 * PATCH + 70] = CHAOTIC            # patch 4: chaotic centre ...
    labels[0:2, 4 * PATCH:4 * PATCH + 99] = SALT                       # ... and 2 % salt: still quiet
    cols = np.arange(5) * PATCH
    assert clear_labels(labels, np.array([0]), cols).tolist() == [HORIZON, FAULT, SALT, CHAOTIC, CHAOTIC]
    labels[0:4, 4 * PATCH:4 * PATCH + 99] = SALT                       # 4 % salt: no longer clearly chaotic
    labels[50, 10] = FAULT                                             # a speck of fault outside the centre
    assert clear_labels(labels, np.array([0]), cols).tolist() == [HORIZON, FAULT, SALT, CHAOTIC, -1]
    labels[:, 0:2] = FAULT                                             # 2 % fault at the edge: 98 % layered,
    assert clear_labels(labels, np.array([0]), cols[:1]).tolist() == [-1]  # yet not clearly free of faults


def test_confusion_and_balanced_accuracy_known_answers():
    truth = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    predicted = np.array([0, 0, 0, 1, 1, 0, 2, 2])
    confusion = confusion_matrix(truth, predicted, 4)
    assert confusion.tolist() == [[3, 1, 0, 0], [1, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 0]]
    assert balanced_accuracy(confusion) == (0.75 + 0.5 + 1.0) / 3  # the absent class does not count


def test_balanced_sample_draws_every_class_equally_and_mirrors_half():
    patches = np.arange(10 * 3 * 3, dtype=np.float32).reshape(10, 3, 3)
    labels = np.array([0] * 7 + [1] * 2 + [3])
    x, y = balanced_sample(patches, labels, per_class=6, seed=0)
    assert np.bincount(y, minlength=len(CLASS_NAMES)).tolist() == [6, 6, 0, 6]
    def variants(q):
        return [q, q[:, ::-1], -q, -q[:, ::-1]]

    untouched = sum(any(np.array_equal(p, q) for q in patches) for p in x)
    assert 0 < untouched < len(x)
    assert all(any(np.array_equal(p, v) for q in patches[labels == c] for v in variants(q)) for p, c in zip(x, y))


def _no_nan(text: str) -> dict:
    """JSON as a strict reader sees it: NaN and Infinity refused."""
    def refuse(constant):
        raise ValueError(f"{constant} in JSON")
    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def committed_model():
    return load_seismic_model(ModelChoice(weights=str(DEFAULT_CHECKPOINT))).model


def test_no_clear_patch_is_not_checked_and_the_report_is_valid_json(committed_model):
    empty = PatchSample(np.zeros((0, PATCH, PATCH), np.float32), np.zeros(0, np.int64),
                        np.zeros((0, PATCH, PATCH), bool), np.zeros((0, PATCH, PATCH), bool))
    report = evaluate_patches(committed_model, empty, "inline 7")
    assert report["balanced_accuracy"] is None and report["accuracy"] is None and report["patches"] == 0
    assert report["energy_share"]["fault"] == {"gradcam": None, "contrast": None, "patches": 0}
    assert report["not_checked"] == [
        "accuracy: no clear patch on inline 7",
        "energy share inside fault: no patch both labelled and predicted fault on inline 7",
        "energy share inside salt_dome: no patch both labelled and predicted salt_dome on inline 7"]
    assert _no_nan(json.dumps(report)) == report
    text = format_evaluation({**report, "data": "inline 7"})
    assert "balanced accuracy not checked (accuracy not checked)" in text
    assert "Why fault? not checked; Why fault, rather than horizon? not checked" in text
    assert text.splitlines()[-1] == "not checked: energy share inside salt_dome: no patch both labelled and " \
                                    "predicted salt_dome on inline 7"


def test_all_zero_maps_are_not_averaged_into_nan(committed_model):
    shares = contrast_energy(committed_model, np.zeros((2, PATCH, PATCH), np.float32),
                             np.ones((2, PATCH, PATCH), bool), CLASS_NAMES.index("fault"))
    assert shares["patches"] == 2
    assert all(value is None or 0.0 <= value <= 1.0 for value in (shares["gradcam"], shares["contrast"]))


def test_balanced_accuracy_of_nothing_is_none():
    assert balanced_accuracy(np.zeros((4, 4), dtype=np.int64)) is None


def test_field_windows_are_fault_through_the_centre_or_free_of_picks():
    from rather.seismic.classifier import field_windows
    from rather.seismic.patches import patch_grid

    faults = np.zeros((50, 120), dtype=bool)
    faults[:, 29:32] = True                                            # a vertical pick at traces 29..31
    amplitude = np.random.default_rng(0).standard_normal(faults.shape).astype(np.float32)
    patches, labels = field_windows(amplitude, faults, side=45, stride=3)
    rows, cols = patch_grid(50, 120, patch=45, stride=3)
    expected, cut = [], []
    for row in rows:
        for col in cols:
            window = faults[row:row + 45, col:col + 45]
            label = FAULT if window[15:30, 15:30].any() else HORIZON if not window.any() else -1
            if label >= 0:
                expected.append(label)
                cut.append(amplitude[row:row + 45, col:col + 45])
    assert labels.tolist() == expected and {FAULT, HORIZON} == set(expected)
    np.testing.assert_array_equal(patches, np.stack(cut))
    assert field_windows(amplitude[:40], faults[:40], side=45)[0].shape == (0, 45, 45)  # too short: none


def test_fault_report_counts_every_other_class_as_not_fault():
    from rather.seismic.classifier import fault_report

    class Fixed(torch.nn.Module):
        """Predicts the class whose sample in the first row is largest (scaling keeps the order)."""

        def forward(self, x):
            return x[:, 0, 0, :4]

    patches = np.zeros((4, 12, 12), np.float32)
    patches[np.arange(4), 0, [FAULT, HORIZON, SALT, FAULT]] = 1.0   # predicted fault, horizon, salt, fault
    report = fault_report(Fixed(), patches, np.array([FAULT, FAULT, HORIZON, HORIZON]))
    assert report["confusion"] == [[1, 1], [1, 1]] and report["balanced_accuracy"] == 0.5


@pytest.mark.slow
@pytest.mark.parametrize("recipe, sizes, styled", [("plain", [99], False), ("joint", [99, 45], True)])
def test_a_recipe_trains_on_its_surveys_and_patch_sizes(monkeypatch, recipe, sizes, styled):
    """plain: one stream, the plain survey's balanced 99 x 99 patches as drawn (B0's recipe); joint: the
    field-styled survey's patches, self-scaled, and their 45 x 45 crops."""
    from rather.seismic import classifier
    from rather.seismic.options import TrainOptions

    seen = []
    monkeypatch.setattr(classifier, "train_streams",
                        lambda model, data, **_: seen.extend(data) or classifier.TrainingLog([0.0], [0.5]))
    _, _, meta = classifier.train(TrainOptions(surveys=1, per_class=4, epochs=1, recipe=recipe))
    drawn = classifier.survey_patches(classifier.survey_of(0, 0, styled=styled))
    x, y = balanced_sample(drawn.patches, drawn.labels, 4, 0)
    assert [inputs.shape[-1] for inputs, _ in seen] == sizes and all(len(inputs) == len(x) for inputs, _ in seen)
    assert np.array_equal(seen[0][1], y)
    assert np.array_equal(seen[0][0][:, 0], x) == (recipe == "plain")
    assert ("small_patch" in meta) == (recipe == "joint")


@pytest.mark.parametrize("marked, share", [(np.ones, 1.0), (np.zeros, 0.0)])
def test_contrast_placement_shares_follow_the_marks(committed_model, marked, share):
    """All samples marked: all of every map's energy lies on them; none marked: none does."""
    from rather.seismic.labelled import LabelledSections
    from rather.seismic.real_training import contrast_placement
    from rather.seismic.seismic_model import load_seismic_model

    network = load_seismic_model(ModelChoice(weights=str(DEFAULT_CHECKPOINT)))
    amplitude = np.clip(np.random.default_rng(0).standard_normal((60, 120)).astype(np.float32) / 3, -1, 1)
    data = LabelledSections(("noise",), (amplitude,), (marked((60, 120), dtype=np.int64),), ("background", "fault"))
    place = contrast_placement(network, data, "fault")
    assert place["marked_share"] == share and place["sections"] == ["noise"]
    assert place["why"] == pytest.approx(share) and place["rather_than_horizon"] == pytest.approx(share)
