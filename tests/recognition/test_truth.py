"""Ground truth of the synthetic birds: swaps, changed pixels, look-alikes."""
import numpy as np
import torch

from rather.recognition.synthetic import CLASS_NAMES, PARTS, differing_parts, look_alike_pairs, render, render_parts
from rather.recognition.truth import closest_look_alike, look_alike_matrix, swap_truth


def test_render_parts_equals_render_with_swaps():
    sources = np.array([[0] * 7, [3, 3, 3, 3, 9, 3, 3]])
    seeds = np.array([11, 12])
    images, masks = render_parts(sources, seeds, 48)
    image, mask, _ = render(0, 11, 48)
    assert np.array_equal(images[0], image) and np.array_equal(masks[0], mask)
    image, mask, _ = render(3, 12, 48, swap={"wing": 9})
    assert np.array_equal(images[1], image) and np.array_equal(masks[1], mask)


def test_swapping_the_differing_part_draws_the_look_alike():
    pairs = look_alike_pairs()
    labels = np.array([a for a, _ in pairs])
    partners = np.array([b for _, b in pairs])
    seeds = np.arange(len(pairs)) + 100
    truth = swap_truth(labels, seeds, partners, 48)
    for n, (a, b) in enumerate(pairs):
        assert np.array_equal(truth.swapped[n], render(b, int(seeds[n]), 48)[0])
        part = PARTS.index(differing_parts(a, b)[0])
        expected_part = render(a, int(seeds[n]), 48)[1][part] | render(b, int(seeds[n]), 48)[1][part]
        assert np.array_equal(truth.part[n], expected_part)
        assert truth.changed[n].any() and not (truth.changed[n] & ~truth.part[n]).any()


def test_closest_look_alike_is_the_best_scored_one_part_neighbour():
    matrix = look_alike_matrix()
    assert matrix.sum() == 2 * len(look_alike_pairs()) and torch.equal(matrix, matrix.T)
    warblers = [CLASS_NAMES.index(f"{kind} warbler") for kind in ("yellow-breasted", "white-breasted",
                                                                   "streak-breasted")]
    logits = torch.zeros(2, len(CLASS_NAMES))
    logits[:, warblers[2]] = 2.0
    logits[:, warblers[1]] = 1.0
    logits[:, 0] = 9.0  # a blackbird: not a look-alike of a warbler
    assert closest_look_alike(logits, torch.tensor([warblers[0], warblers[2]])).tolist() == [warblers[2],
                                                                                            warblers[1]]
