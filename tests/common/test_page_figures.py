"""Figures drawn for the report's page: its width, readable fonts, a colour bar per map, hatched not-asked regions."""
import re

import numpy as np
import pytest
import torch

from rather.common import BadInput, Explainer, Rather, Why
from rather.common.figures import (
    DPI, FONT, NOT_ASKED, PAGE_WIDTH, PANEL_MAX, PANEL_MIN, hatch_not_asked, new_figure, panel_layout,
    plot_explanation,
)


@pytest.fixture(scope="module")
def result():
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 6, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1),
                                torch.nn.Flatten(), torch.nn.Linear(6, 7)).eval()
    x = torch.rand(2, 3, 20, 30)
    return Explainer(model, layer="1")(x, [Why(), *(Rather(q) for q in range(6))]), x


@pytest.mark.parametrize("panels, width, layout", [(4, PAGE_WIDTH, (4, PAGE_WIDTH / 4)), (8, PAGE_WIDTH, (4, 2.75)),
                                                   (2, PAGE_WIDTH, (2, PANEL_MAX)), (3, 2.0, (1, 2.0))])
def test_panels_fit_across_the_width_at_a_readable_size(panels, width, layout):
    assert panel_layout(panels, width) == layout


def test_a_width_that_is_not_positive_is_refused():
    with pytest.raises(BadInput, match="a figure's width must be a positive number of inches; got 0"):
        panel_layout(3, 0)


def test_the_page_column_is_the_figures_width():
    from rather.suites.report import STYLE

    column = int(re.search(r"body \{[^}]*max-width: (\d+)px", STYLE).group(1))
    assert column == PAGE_WIDTH * DPI  # a figure of PAGE_WIDTH inches is shown at its own size, fonts as drawn


def test_many_questions_wrap_onto_lines_within_the_page_width(result):
    explained, x = result
    figure = plot_explanation(explained, x, indices=[0, 1])
    assert figure.get_figwidth() <= PAGE_WIDTH and figure.get_figwidth() / 4 >= PANEL_MIN
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    bars = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert len(panels) == 2 * 8 and len(bars) == 2 * 7  # 8 panels per input on two lines of 4; no empty cell kept
    titles = [axis.title for axis in panels]
    assert all(title.get_fontsize() >= FONT for title in titles)
    assert "Why" in titles[1].get_text() and "rather than" in titles[2].get_text()  # P and Q in each title
    assert all(bar.yaxis.get_ticklabels()[0].get_fontsize() >= FONT - 1 for bar in bars)
    lines = max(len(line) for title in titles for line in title.get_text().splitlines())
    assert lines * FONT * 0.56 / 72 <= PAGE_WIDTH / 4  # the longest title line fits over its panel


def test_a_region_where_nothing_was_asked_is_hatched(result):
    explained, x = result
    asked = np.zeros((20, 30), dtype=bool)
    asked[5:15, 10:20] = True
    figure = plot_explanation(explained, x, questions=[0], asked=asked)
    assert [getattr(layer, "hatches", None) for layer in figure.axes[1].collections] == [[NOT_ASKED]]
    assert len(plot_explanation(explained, x, questions=[0]).axes[1].collections) == 0


def test_hatching_leaves_an_axis_alone_where_every_pixel_was_asked():
    figure, axes = new_figure(figsize=(2, 2))
    hatch_not_asked(axes[0, 0], np.ones((4, 5), dtype=bool), (-0.5, 4.5, 3.5, -0.5))
    assert not axes[0, 0].collections
