"""Known answers for the classifier's data curation and scores."""
import numpy as np

from rather.seismic.classifier import (CLASS_NAMES, PATCH, balanced_accuracy, balanced_sample, clear_labels,
                                       confusion_matrix)

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
