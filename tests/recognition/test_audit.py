"""The audit's numbers against straightforward computations."""
import numpy as np
import pytest
import torch

from rather.recognition.audit import (AuditOptions, classification_report, expected_calibration_error, hesitations,
                                      most_confused, part_pointing)


def test_ece_equals_the_loop_over_bins():
    generator = torch.Generator().manual_seed(0)
    probs = torch.softmax(3 * torch.randn(500, 6, generator=generator), dim=1)
    labels = torch.randint(0, 6, (500,), generator=generator)
    confidence, predicted = probs.max(1)
    expected = 0.0
    for b in range(10):
        low, high = b / 10, (b + 1) / 10
        inside = [(low < c <= high) for c in confidence.tolist()]
        members = [i for i, yes in enumerate(inside) if yes]
        if members:
            accuracy = np.mean([float(predicted[i] == labels[i]) for i in members])
            mean_confidence = np.mean([float(confidence[i]) for i in members])
            expected += len(members) / 500 * abs(accuracy - mean_confidence)
    assert expected_calibration_error(probs, labels, bins=10) == pytest.approx(expected, abs=1e-9)


def test_ece_of_a_calibrated_model_is_zero():
    probs = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, torch.tensor([0, 1])) == 0.0
    assert expected_calibration_error(probs, torch.tensor([1, 0])) == 1.0


def test_most_confused_counts_both_ways_and_breaks_ties_by_class():
    confusion = np.array([[5, 1, 2, 0], [3, 4, 0, 0], [2, 0, 1, 0], [0, 0, 4, 0]])
    assert most_confused(confusion, 3) == [(0, 1), (0, 2), (2, 3)]
    assert most_confused(np.eye(3, dtype=int), 2) == []


def test_classification_report():
    logits = torch.tensor([[3.0, 1, 0], [0, 2, 1], [1, 2, 0], [0, 1, 2], [2, 0, 1]])
    labels = np.array([0, 1, 0, 2, 2])
    report = classification_report(logits, labels, ["a", "b", "c"], AuditOptions(top_k=2, pairs=2))
    assert report["accuracy"] == pytest.approx(3 / 5)
    assert report["per_class_accuracy"] == [0.5, 1.0, 0.5]
    assert report["top_k"] == {"top_1": pytest.approx(0.6), "top_2": pytest.approx(1.0)}  # image 4: c is second
    assert report["confusion"] == [[1, 1, 0], [0, 1, 0], [1, 0, 1]]
    assert [(p["a"], p["b"], p["a_as_b"], p["b_as_a"]) for p in report["most_confused"]] == [(0, 1, 1, 0),
                                                                                             (0, 2, 0, 1)]
    assert report["most_confused"][0]["a_name"] == "a"


def test_hesitations_are_errors_or_top_two_most_ambiguous_first():
    logits = torch.tensor([[2.0, 1.9, 0], [0, 3, 0], [1, 0, 5], [0, 1, 5], [1, 4, 0], [5, 0, 1]])
    labels = np.array([0, 0, 0, 1, 0, 0])
    # 0: torn (0 then 1), 1: error 0 -> 1, 2: top two are 2 and 0 (not the pair), 3: class 1 predicted 2,
    # 4: error 0 -> 1, 5: correct with 2 second
    assert hesitations(logits, labels, 0, 1).tolist() == [0, 1, 4]


def test_part_pointing_counts_the_parts_near_each_maximum():
    maps = torch.zeros(3, 20, 20)
    maps[0, 2, 3] = 1  # peak at pixel centre x 3.5, y 2.5
    maps[1, 10, 10] = 1
    maps[2, 19, 0] = 1
    points = torch.tensor([[[3.0, 2.0], [15.0, 15.0]],      # beak hit (distance 0.7), back far
                           [[float("nan")] * 2, [12.0, 10.0]],  # beak hidden, back at distance 1.6
                           [[0.0, 19.0], [0.5, 19.5]]])     # both within 1 pixel
    shares = part_pointing(maps, points, ("beak", "back"), tolerance=2.0)
    assert shares == {"beak": {"images": 2, "hit_rate": 1.0}, "back": {"images": 3, "hit_rate": 2 / 3}}
    assert part_pointing(maps, points, ("beak", "back"), tolerance=0.5)["beak"]["hit_rate"] == 0.0
