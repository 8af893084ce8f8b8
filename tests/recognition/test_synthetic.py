"""Tests of the synthetic part-based birds: class table, rendering, determinism and ground truth."""
import itertools

import numpy as np
import pytest

from rather.common.errors import BadInput
from rather.recognition import synthetic
from rather.recognition.synthetic import (
    CLASS_NAMES,
    PARTS,
    differing_parts,
    look_alike_pairs,
    make_set,
    render,
)

N_CLASSES = len(CLASS_NAMES)


def group(label: int) -> str:
    """The look-alike group of a class: the last word of its name ("blackbird", "warbler")."""
    return CLASS_NAMES[label].split()[-1]


# ------------------------------------------------------------------ class table


def test_parts_and_names():
    for part in ("body", "head", "beak", "wing", "tail"):
        assert part in PARTS
    assert len(set(PARTS)) == len(PARTS)
    assert N_CLASSES >= 12
    assert len(set(CLASS_NAMES)) == N_CLASSES
    for name in CLASS_NAMES:  # the module docstring's table names every class
        assert name.split()[0].rsplit("-", 1)[0] in synthetic.__doc__
        assert group(CLASS_NAMES.index(name)) in synthetic.__doc__


def test_differing_parts_is_symmetric_and_empty_on_the_diagonal():
    for a, b in itertools.product(range(N_CLASSES), repeat=2):
        parts = differing_parts(a, b)
        assert parts == differing_parts(b, a)
        assert list(parts) == [p for p in PARTS if p in parts]  # in PARTS order
        assert (len(parts) == 0) == (a == b)


def test_look_alike_pairs_differ_in_exactly_one_part_within_a_group():
    pairs = look_alike_pairs()
    every = [(a, b) for a in range(N_CLASSES) for b in range(a + 1, N_CLASSES)]
    assert pairs == [(a, b) for a, b in every if len(differing_parts(a, b)) == 1]
    assert {c for pair in pairs for c in pair} == set(range(N_CLASSES))  # everyone has a look-alike
    for a, b in every:
        if group(a) == group(b):
            assert (a, b) in pairs
        else:
            assert len(differing_parts(a, b)) >= 4


def test_look_alikes_cover_colour_shape_texture_and_small_marks():
    kinds = set()
    for a, b in look_alike_pairs():
        (part,) = differing_parts(a, b)
        sa, sb = synthetic._STYLES[a][part], synthetic._STYLES[b][part]
        changed = {f for f in ("colour", "shape", "pattern", "mark") if getattr(sa, f) != getattr(sb, f)}
        kinds |= {(part, f) for f in changed}
    assert {"colour", "shape", "pattern"} <= {f for _, f in kinds}
    assert ("wing", "mark") in kinds  # shoulder patch colour
    assert ("beak", "colour") in kinds


def test_attributes_describe_every_part():
    for label in range(N_CLASSES):
        described = synthetic.attributes(label)
        assert list(described) == list(PARTS)
    a, b = look_alike_pairs()[0]
    (part,) = differing_parts(a, b)
    assert synthetic.attributes(a)[part] != synthetic.attributes(b)[part]


# -------------------------------------------------------------------- rendering


@pytest.mark.parametrize("size", [32, 64, 96])
def test_render_shapes_ranges_masks_and_box(size):
    for label, seed in zip(range(N_CLASSES), itertools.count(100)):
        image, masks, box = render(label, seed, size)
        assert image.shape == (3, size, size) and image.dtype == np.float32
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert masks.shape == (len(PARTS), size, size) and masks.dtype == bool
        assert box.shape == (4,) and box.dtype == np.float32
        assert masks.sum(axis=(1, 2)).min() > 0, "every part is visible"
        assert masks.sum(axis=0).max() <= 1, "parts never overlap"
        rows, cols = np.nonzero(masks.any(axis=0))
        x0, y0, x1, y1 = box
        assert (x0, y0, x1, y1) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)  # tight box
        assert 0 < x0 and 0 < y0 and x1 < size and y1 < size  # the bird is never cut by the border


def test_render_is_deterministic_and_seed_dependent():
    first = render(3, 42)
    again = render(3, 42)
    for a, b in zip(first, again):
        assert np.array_equal(a, b)
    other = render(3, 43)
    assert not np.array_equal(first[0], other[0])
    assert not np.array_equal(first[1], other[1])


def test_background_and_jitter_do_not_depend_on_the_class():
    for seed in (5, 6):
        ref_image, ref_masks, _ = render(0, seed)
        ref_bird = ref_masks.any(axis=0)
        for label in range(1, N_CLASSES):
            image, masks, _ = render(label, seed)
            outside = ~(ref_bird | masks.any(axis=0))
            assert outside.sum() > 0.5 * outside.size
            assert np.array_equal(image[:, outside], ref_image[:, outside])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_swapping_the_differing_part_turns_one_look_alike_into_the_other(seed):
    for a, b in look_alike_pairs():
        (part,) = differing_parts(a, b)
        image_a, masks_a, _ = render(a, seed)
        image_b, masks_b, box_b = render(b, seed)
        for got, want in zip(render(a, seed, swap={part: b}), (image_b, masks_b, box_b)):
            assert np.array_equal(got, want)
        assert np.array_equal(render(b, seed, swap={part: a})[0], image_a)

        changed = (image_a != image_b).any(axis=0)
        d = PARTS.index(part)
        assert changed.sum() >= 5, f"{CLASS_NAMES[a]} vs {CLASS_NAMES[b]} must differ visibly"
        assert not (changed & ~(masks_a[d] | masks_b[d])).any(), "only the differing part changes"


def test_swapping_a_shared_part_changes_nothing():
    for a, b in look_alike_pairs()[:4]:
        shared = [p for p in PARTS if p not in differing_parts(a, b)]
        image, masks, box = render(a, 9)
        swapped = render(a, 9, swap={p: b for p in shared})
        assert np.array_equal(swapped[0], image) and np.array_equal(swapped[1], masks)


# ---------------------------------------------------------------------- make_set


def test_make_set_shapes_and_dtypes():
    data = make_set(30, seed=1, size=48)
    assert data.images.shape == (30, 3, 48, 48) and data.images.dtype == np.float32
    assert data.labels.shape == (30,) and data.labels.dtype == np.int64
    assert data.parts.shape == (30, len(PARTS), 48, 48) and data.parts.dtype == bool
    assert data.boxes.shape == (30, 4) and data.boxes.dtype == np.float32
    assert data.seeds.shape == (30,) and data.seeds.dtype == np.int64
    assert data.class_names == CLASS_NAMES
    assert 0.0 <= data.images.min() and data.images.max() <= 1.0
    assert len(set(data.seeds.tolist())) == 30


def test_make_set_is_bit_identical_for_the_same_arguments():
    first = make_set(40, seed=7, classes=[0, 1, 5])
    again = make_set(40, seed=7, classes=[0, 1, 5])
    for field in ("images", "labels", "parts", "boxes", "seeds"):
        assert np.array_equal(getattr(first, field), getattr(again, field))
    other = make_set(40, seed=8, classes=[0, 1, 5])
    assert not np.array_equal(first.seeds, other.seeds)


def test_make_set_images_equal_their_single_renders():
    data = make_set(70, seed=3)  # more than one rendering chunk at 64 pixels
    for i in range(0, 70, 3):
        image, masks, box = render(int(data.labels[i]), int(data.seeds[i]), 64)
        assert np.array_equal(data.images[i], image)
        assert np.array_equal(data.parts[i], masks)
        assert np.array_equal(data.boxes[i], box)


def test_make_set_balances_and_shuffles_the_classes():
    data = make_set(2 * N_CLASSES, seed=11, size=32)
    assert np.array_equal(np.bincount(data.labels, minlength=N_CLASSES), np.full(N_CLASSES, 2))
    assert not np.array_equal(data.labels, np.arange(2 * N_CLASSES) % N_CLASSES)

    chosen = [4, 9, 13]
    data = make_set(20, seed=2, size=32, classes=chosen)
    counts = np.bincount(data.labels, minlength=N_CLASSES)
    assert set(np.flatnonzero(counts)) == set(chosen)
    assert counts[chosen].max() - counts[chosen].min() <= 1


def test_make_set_of_nothing():
    data = make_set(0, seed=0)
    assert data.images.shape == (0, 3, 64, 64) and data.labels.shape == (0,)


@pytest.mark.parametrize(
    "call",
    [
        lambda: render(N_CLASSES, 0),
        lambda: render(-1, 0),
        lambda: render(0, -5),
        lambda: render(0, 0, size=16),
        lambda: render(0, 0, swap={"antenna": 1}),
        lambda: render(0, 0, swap={"wing": N_CLASSES}),
        lambda: make_set(-1, 0),
        lambda: make_set(5, 0, classes=[]),
        lambda: make_set(5, 0, classes=[1, 1]),
        lambda: make_set(5, 0, classes=[0, 99]),
        lambda: differing_parts(0, N_CLASSES),
    ],
)
def test_bad_arguments_raise_bad_input(call):
    with pytest.raises(BadInput):
        call()
