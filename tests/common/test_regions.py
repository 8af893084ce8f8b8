"""Dense outputs: questions about a region of a segmentation (issue 14, item 4).

The reference sums the per-pixel loss over the region in a plain Python loop, takes
``torch.autograd.grad`` at the hooked activation and makes Grad-CAM by hand.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import BadModel, BadQuestion, Explainer, Rather, ScoreRather, WhatIfNot, Why, load
from rather.common.regions import border, box, pixel, predicted

CLASSES = 4


class Segmenter(nn.Module):
    """A small fully convolutional network: logits (N, 4, H, W), one set per pixel."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(8)
        self.body = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
        self.classify = nn.Sequential(nn.ReLU(), nn.Conv2d(8, CLASSES, 3, padding=1))

    def forward(self, x):
        return 3 * self.classify(self.body(x))


@pytest.fixture
def segmenter():
    return Segmenter().eval()


@pytest.fixture
def scene():
    return torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(3))


def own(logits):
    return logits.argmax()


def hand_region_gradcam(model, x, weights, pixel_loss):
    """Raw Grad-CAM (N, h, w) at ``body`` of sum_i w_i pixel_loss(y_i), the sum a loop over pixels."""
    saved = []
    handle = model.body.register_forward_hook(lambda module, args, output: saved.append(output))
    y = model(x)
    handle.remove()
    loss = 0
    for n, i, j in torch.nonzero(weights.expand(len(x), -1, -1)).tolist():
        loss = loss + weights.expand(len(x), -1, -1)[n, i, j] * pixel_loss(y[n, :, i, j])
    (gradient,) = torch.autograd.grad(loss, saved[0])
    return F.relu((gradient.mean(dim=(2, 3), keepdim=True) * saved[0]).sum(dim=1)).detach()


QUESTIONS = {  # question over region R -> the loss at one pixel, given its logits
    "why": (lambda r: Why(region=r), lambda y: y[own(y)]),
    "why class 2": (lambda r: Why(2, region=r), lambda y: y[2]),
    "what if not": (lambda r: WhatIfNot(region=r), lambda y: -y[own(y)]),
    "rather than 1": (lambda r: Rather(1, region=r), lambda y: F.cross_entropy(y[None], torch.tensor([1]))),
    "3 rather than 1": (lambda r: Rather(1, p=3, region=r), lambda y: y[3] - y[1]),
}


def regions():
    generator = torch.Generator().manual_seed(4)
    weighted = torch.zeros(2, 8, 8)
    weighted[:, 2:6, 1:7] = torch.rand(2, 4, 6, generator=generator)
    return {"box (H, W)": box((8, 8), (1, 2), (5, 7)), "weights (N, H, W)": weighted,
            "one pixel": pixel((8, 8), (4, 3))}


@pytest.mark.parametrize("region_name", list(regions()))
def test_region_questions_equal_the_per_pixel_loop(region_name, segmenter, scene):
    region = regions()[region_name]
    result = Explainer(segmenter, layer="body")(scene, [ask(region) for ask, _ in QUESTIONS.values()])
    for column, (name, (_, pixel_loss)) in enumerate(QUESTIONS.items()):
        expected = hand_region_gradcam(segmenter, scene, region.float(), pixel_loss)
        torch.testing.assert_close(result.raw[:, column], expected, rtol=1e-4, atol=1e-6, msg=name)
    assert result.raw.amax() > 0 and result.maps.shape == (2, 5, 8, 8)
    assert result.outputs.shape == (2, CLASSES, 8, 8) and result.task == "class"


def test_every_contrast_over_a_region_equals_one_at_a_time(segmenter, scene):
    region = box((8, 8), (0, 0), (4, 8))
    explainer = Explainer(segmenter, layer="body", method="hirescam")
    together = explainer(scene, Rather.all(region=region))
    for q in range(CLASSES):
        torch.testing.assert_close(together.raw[:, q], explainer(scene, Rather(q, region=region)).raw[:, 0])


def test_the_region_names_its_most_frequent_p_and_the_strongest_rival(segmenter, scene):
    region = box((8, 8), (2, 2), (6, 6))
    result = Explainer(segmenter, layer="body")(scene, [Why(region=region), Rather(region=region)])
    logits = segmenter(scene).detach()[:, :, 2:6, 2:6]
    mode = torch.stack([torch.bincount(item.argmax(0).flatten(), minlength=CLASSES).argmax() for item in logits])
    rival = logits.mean(dim=(2, 3)).scatter(1, mode[:, None], float("-inf")).argmax(dim=1)
    assert result.p[:, 0].tolist() == result.p[:, 1].tolist() == mode.tolist()
    assert result.q[:, 1].tolist() == rival.tolist() and result.q[:, 0].tolist() == [-1, -1]
    assert result.title(0, 1) == f"Why {mode[0]}, rather than {rival[0]}?"


def test_a_dense_result_is_saved_and_loaded(segmenter, scene, tmp_path):
    result = Explainer(segmenter, layer="body")(scene, Rather.all(region=predicted(segmenter(scene), 0) | True))
    loaded = load(result.save(tmp_path / "dense.h5"))
    torch.testing.assert_close(loaded.outputs, result.outputs)
    torch.testing.assert_close(loaded.maps, result.maps)
    assert loaded.probs.shape == (2, CLASSES, 8, 8)


def test_a_model_with_a_dense_output_is_left_untouched(segmenter, scene, untouched):
    segmenter.train()
    with untouched(segmenter):
        Explainer(segmenter, layer="body")(scene, [Why(region=pixel((8, 8), (0, 0))), Rather(2, region=box(
            (8, 8), (0, 0), (3, 3)))])
        with pytest.raises(BadQuestion):
            Explainer(segmenter, layer="body")(scene, Why(region=torch.ones(7, 8)))


def test_helpers_make_the_usual_regions():
    assert pixel((3, 4), (1, 2)).nonzero().tolist() == [[1, 2]]
    assert box((4, 5), (1, 1), (3, 4)).sum() == 6 and box((4, 5), (1, 1), (3, 4))[1:3, 1:4].all()
    assert box((2, 4, 5), (0, 1, 1), (1, 3, 4)).sum() == 6
    logits = torch.zeros(1, 3, 4, 6)
    logits[:, 1, :, :3] = 1  # left half class 1
    logits[:, 2, :, 3:] = 1  # right half class 2
    assert predicted(logits, 1)[0, :, :3].all() and predicted(logits, 1).sum() == 12
    band = border(logits, 1, 2)
    assert band[0].nonzero()[:, 1].unique().tolist() == [2, 3]  # the columns on either side of the edge
    assert border(logits, 1, 2, width=2)[0].nonzero()[:, 1].unique().tolist() == [1, 2, 3, 4]
    assert not border(logits, 1, 0).any(), "no pixel is predicted 0: no border"
    assert predicted(logits.expand(2, -1, -1, -1), torch.tensor([1, 2])).sum(dim=(1, 2)).tolist() == [12, 12]


@pytest.mark.parametrize("question, message", [
    (Why(), r"the model's output is dense, \(2, 4, 8, 8\): one set of logits per pixel; ask about a region, "
            r"Why\(region=R\) with R a mask \(8, 8\)"),
    (Rather.all(), r"ask about a region, Rather\(region=R\)"),
    (ScoreRather(0.5), r"ScoreRather asks about one number per input, but the model's output is dense, "
                       r"\(2, 4, 8, 8\): ask Why\(region=R\), WhatIfNot\(region=R\) or Rather\(q, region=R\)"),
    (Why(region=torch.ones(8, 7)), r"region has shape \(8, 7\), but the output's pixels are \(8, 8\) for 2 inputs: "
                                   r"give a mask \(8, 8\) or \(2, 8, 8\)"),
    (Rather(1, region=torch.ones(3, 8, 8)), r"region has shape \(3, 8, 8\)"),
    (Why(region=[[1, 0]]), r"region must be a mask tensor of shape \(8, 8\) or \(2, 8, 8\); got list"),
    (Why(region=torch.zeros(8, 8)), r"the region is empty for input 0: no pixel has a positive weight"),
    (Why(region=torch.full((8, 8), -1.0)), r"region weights must be finite and non-negative"),
    (Why(region=torch.full((8, 8), np.nan)), r"region weights must be finite and non-negative"),
    (Why(region=torch.ones(8, 8, dtype=torch.complex64)), r"region must be boolean or hold real weights"),
    (Rather(9, region=torch.ones(8, 8)), r"Q=9 is out of range: the model has 4 classes"),
])
def test_bad_region_questions_are_refused(question, message, segmenter, scene):
    with pytest.raises(BadQuestion, match=message):
        Explainer(segmenter, layer="body")(scene, question)


def test_a_region_on_an_output_that_is_not_dense_is_refused(resnet, images):
    with pytest.raises(BadQuestion, match=r"Rather\(region=...\) asks about the pixels of a dense output "
                                          r"\(N, C, H, W\); the model gives \(3, 10\): leave region out"):
        Explainer(resnet, layer="layer2")(images, Rather(region=torch.ones(32, 32)))


def test_a_dense_output_of_one_channel_is_refused_with_the_fix(scene):
    model = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.Conv2d(4, 1, 1)).eval()
    with pytest.raises(BadQuestion, match=r"dense output has one channel, \(2, 1, 8, 8\); give it two classes with "
                                          r"Explainer\(..., output=lambda y: torch.cat\(\[-y, y\], dim=1\)\)"):
        Explainer(model, layer="0")(scene, Why(region=torch.ones(8, 8)))
    two = Explainer(model, layer="0", output=lambda y: torch.cat([-y, y], dim=1))(scene, Why(1, region=box(
        (8, 8), (0, 0), (2, 2))))
    assert two.p[:, 0].tolist() == [1, 1]


def test_head_linear_is_refused_for_a_dense_output(segmenter, scene):
    with pytest.raises(BadModel, match="head='linear' was asked, but the head after layer 'body' is not"):
        Explainer(segmenter, layer="body", head="linear")(scene, Why(region=torch.ones(8, 8)))


@pytest.mark.parametrize("make, message", [
    (lambda: box((4, 4), (0, 0), (5, 2)), r"the box from \(0, 0\) to \(5, 2\) \(stop excluded\) is empty or leaves "
                                          r"the pixels \(4, 4\)"),
    (lambda: box((4, 4), (2, 2), (2, 3)), r"is empty or leaves"),
    (lambda: box((4, 4), (0,), (2, 3)), r"a box needs one start and one stop per axis of the pixels \(4, 4\)"),
    (lambda: pixel((4, 4), (4, 0)), r"is empty or leaves the pixels \(4, 4\)"),
    (lambda: predicted(torch.zeros(1, 3, 4), 0), r"regions are read from dense logits .*; got shape \(1, 3, 4\)"),
    (lambda: predicted(torch.zeros(1, 3, 4, 4), 3), r"P=\[3\] is out of range: the logits have 3 classes \(0..2\)"),
    (lambda: predicted(torch.zeros(2, 3, 4, 4), torch.tensor([0, 1, 2])), r"P must be a class index or a tensor of "
                                                                          r"2 class indices"),
    (lambda: border(torch.zeros(1, 3, 4, 4), 0, 1.5), r"Q must be a class index"),
    (lambda: border(torch.zeros(1, 3, 4, 4), 0, 1, width=0), r"the border's width must be a whole number of pixels"),
])
def test_bad_region_helpers_are_refused(make, message):
    with pytest.raises(BadQuestion, match=message):
        make()
