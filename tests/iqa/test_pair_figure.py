"""The score-contrast figure, drawn for the report's page: each map with its colour bar, each contrast's sides."""
import numpy as np
import torch
from matplotlib import image as images

import rather.iqa.figures as figures
from rather.common import ExplanationResult
from rather.common.figures import DEFAULT_CMAP, DPI, FONT, PAGE_WIDTH
from rather.iqa.figures import SIDES_CMAP, plot_pair


def score_result(contrasts: int) -> ExplanationResult:
    """Why 0.6? and Why 0.6, rather than q? for ``contrasts`` values of q, over a 24 x 40 image."""
    torch.manual_seed(0)
    questions = 1 + contrasts
    return ExplanationResult(raw=torch.rand(1, questions, 6, 10), p=torch.full((1, questions), 0.6),
                             q=torch.tensor([[0.0] + [0.2 + 0.1 * k for k in range(contrasts)]]),
                             kinds=("why",) + ("score_rather",) * contrasts, outputs=torch.tensor([[0.6]]),
                             task="score", layer="features", method="gradcam", maps=torch.rand(1, questions, 24, 40))


def test_each_map_has_its_colour_bar_and_each_contrast_its_sides_beside_it(tmp_path, monkeypatch):
    drawn = []
    keep = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", lambda figure, path: drawn.append(figure) or keep(figure, path))
    image = np.random.default_rng(0).random((3, 24, 40))
    sides = np.random.default_rng(1).uniform(-1, 1, (2, 24, 40))
    path = plot_pair(score_result(2), image, image, tmp_path / "pair.png", remarks=["", "s is better than 0.2", ""],
                     sides=sides)
    assert images.imread(path).shape[1] <= PAGE_WIDTH * DPI  # shown at its own size on the page
    (figure,) = drawn
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    bars = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert len(panels) == 2 + 3 + 2 and len(bars) == 3 + 2  # a bar per map panel, none for the images
    titles = [" ".join(axis.get_title().split()) for axis in panels]  # titles wrap at the panel's width
    assert titles[:3] == ["distorted (score 0.6)", "reference", "Why 0.6?"]
    assert titles[3].startswith("Why 0.6, rather than 0.2?") and "s is better than 0.2" in titles[3]
    assert titles[4].startswith("Sides of Why 0.6, rather than 0.2?")  # right after its contrast
    assert titles[5].startswith("Why 0.6, rather than 0.3?") and titles[6].startswith("Sides of Why 0.6, rather")
    assert all(axis.title.get_fontsize() >= FONT for axis in panels)
    assert panels[2].images[1].get_cmap().name == DEFAULT_CMAP and panels[4].images[1].get_cmap().name == SIDES_CMAP
    assert [label.get_text() for label in bars[2].get_yticklabels()] == ["below q", "0", "above q"]
