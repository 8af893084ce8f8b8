"""The audit's ground-truth figure, drawn for the report's page: titles with P and Q, a colour bar per map."""
import torch

import rather.recognition.figures as figures
from rather.common.figures import DEFAULT_CMAP, FONT, PAGE_WIDTH
from rather.recognition.figures import plot_truth


def test_each_map_has_its_colour_bar_and_each_title_names_p_and_q(tmp_path, monkeypatch):
    drawn = []
    keep = figures.save_figure
    monkeypatch.setattr(figures, "save_figure", lambda figure, path: drawn.append(figure) or keep(figure, path))
    torch.manual_seed(0)
    data = {"shown": torch.rand(2, 3, 16, 16), "p": [0, 1], "q": [1, 0], "probs": torch.tensor([[0.7, 0.3],
                                                                                               [0.2, 0.8]]),
            "truth": torch.rand(2, 16, 16) > 0.8, "maps": {"gradcam": torch.rand(2, 16, 16),
                                                           "contrast": torch.rand(2, 16, 16)}}
    plot_truth(data, ["Baird's sparrow", "Henslow's sparrow"], tmp_path / "truth.png")
    (figure,) = drawn
    assert figure.get_figwidth() <= PAGE_WIDTH
    panels = [axis for axis in figure.axes if axis.get_label() != "<colorbar>"]
    bars = [axis for axis in figure.axes if axis.get_label() == "<colorbar>"]
    assert len(panels) == 2 * 4 and len(bars) == 2 * 2
    titles = [" ".join(axis.get_title().split()) for axis in panels]  # titles wrap at the panel's width
    assert titles[2].startswith("Why Baird's sparrow? p(Baird's sparrow)=0.70")
    assert titles[3].startswith("Why Baird's sparrow, rather than Henslow's sparrow? p(Baird's sparrow)=0.70")
    assert panels[3].images[1].get_cmap().name == DEFAULT_CMAP
    assert all(axis.title.get_fontsize() >= FONT for axis in panels)
