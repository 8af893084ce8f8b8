"""Meaning visible on every result: titles name the question asked, blank maps are said, figures for notebooks."""
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from rather.common import BadInput, Explainer, Kind, Rather, Why, WhatIfNot, load
from rather.common.figures import BLANK, DEFAULT_CMAP, overlay, panel_caption, plot_explanation
from rather.common.questions import question_title
from rather.common.summaries import question_records


@pytest.fixture
def positive_class_zero():
    """GAP -> linear over a ReLU layer whose class-0 weights are all positive: 'What if not 0?' has no
    positive evidence at that layer (every channel weight is negative, every activation >= 0)."""
    torch.manual_seed(3)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(6, 4)).eval()
    with torch.no_grad():
        model[4].weight[0].abs_().add_(0.1)
    return model


def test_one_function_makes_every_title():
    assert question_title(Kind.WHY, "cat") == "Why cat?"
    assert question_title(Kind.WHAT_IF_NOT, "cat") == "What if not cat?"
    assert question_title(Kind.RATHER, "cat", "dog") == "Why cat, rather than dog?"
    assert question_title(Kind.RATHER_MARGIN, "cat", "dog") == "Why cat, rather than dog? (margin)"
    assert question_title(Kind.SCORE_RATHER, "0.58", "0.75") == "Why 0.58, rather than 0.75?"


def test_cross_entropy_and_margin_contrasts_have_different_titles(positive_class_zero):
    x = torch.rand(2, 3, 12, 12)
    names = ["ant", "bee", "cicada", "dragonfly"]
    result = Explainer(positive_class_zero, layer="1")(x, [Rather(2), Rather(2, p=1)], class_names=names)
    p = names[int(result.p[0, 0])]
    assert result.kinds == (Kind.RATHER, Kind.RATHER_MARGIN)
    assert result.title(0, 0) == f"Why {p}, rather than cicada?"
    assert result.title(0, 1) == "Why bee, rather than cicada? (margin)"
    assert [record["title"] for record in question_records(result, 0)] == [result.title(0, 0), result.title(0, 1)]
    assert panel_caption(result, 0, 1).splitlines()[0] == "Why bee, rather than cicada? (margin)"


def test_a_blank_map_is_noted_with_its_input_question_and_layer(positive_class_zero, tmp_path):
    x = torch.rand(2, 3, 12, 12)
    result = Explainer(positive_class_zero, layer="1")(x, [Why(0), WhatIfNot(0)], ids=["a", "b"])
    assert result.blank().tolist() == [[False, True], [False, True]]
    assert result.notes == tuple(
        f"input {name}: no positive evidence at layer '1' for 'What if not 0?' (its map is all zero after the ReLU)"
        for name in "ab")
    assert panel_caption(result, 0, 1).splitlines()[-1] == BLANK and BLANK not in panel_caption(result, 0, 0)
    assert load(result.save(tmp_path / "e.h5")).notes == result.notes  # read back, not said twice


def test_many_blank_maps_of_one_input_make_one_short_note(positive_class_zero):
    result = Explainer(positive_class_zero, layer="1")(torch.rand(1, 3, 12, 12), [WhatIfNot([0, 0, 0, 0, 0])])
    assert result.notes == ("input 000000: no positive evidence at layer '1' for 'What if not 0?', 'What if not 0?', "
                            "'What if not 0?' and 2 more (their maps are all zero after the ReLU)",)


def test_plot_explanation_returns_the_figure_and_writes_only_when_asked(positive_class_zero, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    x = torch.rand(2, 3, 12, 12)
    result = Explainer(positive_class_zero, layer="1")(x, [Why(0), WhatIfNot(0)])
    figure = plot_explanation(result, x, indices=[0, 1])
    assert isinstance(figure, Figure) and list(tmp_path.iterdir()) == []
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    bars = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert len(panels) == 6 and len(bars) == 4  # a colour bar per map panel, none for the inputs
    assert panels[1].images[1].get_cmap().name == DEFAULT_CMAP == "inferno"
    assert plot_explanation(result, x, tmp_path / "f.png").axes and (tmp_path / "f.png").stat().st_size > 0


def test_overlay_blends_a_map_over_grey_or_colour_images():
    rng = np.random.default_rng(0)
    grey = rng.uniform(2, 5, (6, 8))
    heat = rng.uniform(0, 1, (6, 8))
    stretched = (grey - grey.min()) / (grey.max() - grey.min())
    from matplotlib import colormaps

    colours = colormaps[DEFAULT_CMAP](heat)[..., :3]
    blended = overlay(grey, heat, alpha=0.25)
    assert blended.shape == (6, 8, 3) and blended.dtype == np.float64
    np.testing.assert_allclose(blended, 0.75 * stretched[..., None] + 0.25 * colours)
    for same in (grey[None], torch.from_numpy(grey), np.repeat(grey[..., None], 3, axis=2),
                 np.repeat(grey[None], 3, axis=0)):
        np.testing.assert_allclose(overlay(same, heat, alpha=0.25), blended)
    np.testing.assert_allclose(overlay(grey, heat, alpha=1.0), colours)
    rgb = rng.uniform(0, 1, (3, 6, 8))
    np.testing.assert_allclose(overlay(rgb, heat, alpha=0.0), np.moveaxis(rgb - rgb.min(), 0, -1) / np.ptp(rgb))
    small = overlay(grey, torch.ones(3, 4))  # a map over a resized input: stretched to the image
    np.testing.assert_allclose(small, 0.5 * stretched[..., None] + 0.5 * np.array(colormaps[DEFAULT_CMAP](1.0)[:3]))


@pytest.mark.parametrize("image, heat, options, says", [
    (np.zeros((6, 8)), np.zeros((2, 6, 8)), {}, "one map of shape (H, W); got shape (2, 6, 8)"),
    (np.zeros((6, 8)), np.full((6, 8), np.nan), {}, "holds NaN or Inf"),
    (np.zeros((2, 6, 8)), np.zeros((6, 8)), {}, "greyscale (H, W) or RGB (3, H, W) / (H, W, 3) image; got shape"),
    (np.full((6, 8), np.inf), np.zeros((6, 8)), {}, "the image to overlay holds NaN or Inf"),
    (np.zeros((6, 8)), np.zeros((6, 8)), {"alpha": 1.5}, "alpha must be from 0 to 1"),
    (np.zeros((6, 8)), np.zeros((6, 8)), {"cmap": "no-such-map"}, "unknown colour map 'no-such-map'"),
])
def test_overlay_refuses_what_it_cannot_draw(image, heat, options, says):
    with pytest.raises(BadInput) as refused:
        overlay(image, heat, **options)
    assert says in str(refused.value) and "\n" not in str(refused.value)
