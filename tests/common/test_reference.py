"""The explainer against an independent, straightforward implementation of the paper.

The reference does what the authors' code does, one input and one question at a
time: hooks on the layer, a full forward pass, ``loss.backward()`` through the
whole network (parameter gradients included), GAP of the layer's gradient,
ReLU of the weighted sum, bilinear upsampling (align_corners=False) and a
per-map min-max. Nothing of rather is used in it.
"""
import pytest
import torch
import torch.nn.functional as F

from rather.common import Explainer, Rather, ScoreRather, WhatIfNot, Why

TOLERANCE = 1e-5


def reference_gradcam(model, layer_name, x, loss_of_output):
    """Normalised (H, W) Grad-CAM map of loss_of_output(model(x)) for one input x (1, C, H, W)."""
    layer = dict(model.named_modules())[layer_name]
    saved = {}

    def keep(module, inputs, output):
        saved["activation"] = output
        output.register_hook(lambda grad: saved.__setitem__("gradient", grad))

    handle = layer.register_forward_hook(keep)
    try:
        model.zero_grad()
        loss = loss_of_output(model(x))
        loss.backward()
    finally:
        handle.remove()
    activation, gradient = saved["activation"].detach(), saved["gradient"]
    alpha = gradient.mean(dim=(2, 3), keepdim=True)
    cam = F.relu((alpha * activation).sum(dim=1, keepdim=True))
    cam = F.interpolate(cam, size=x.shape[-2:], mode="bilinear", align_corners=False)[0, 0]
    low, high = cam.min(), cam.max()
    return (cam - low) / (high - low) if high > low else torch.zeros_like(cam)


def cross_entropy_against(q):
    return lambda logits: F.cross_entropy(logits, torch.tensor([q]))


def logit(p, sign=1.0):
    return lambda logits: sign * logits[0, p]


def assert_close_to_reference(result, model, layer, images, losses_per_image):
    informative = 0
    for n, losses in enumerate(losses_per_image):
        for j, loss in enumerate(losses):
            expected = reference_gradcam(model, layer, images[n:n + 1], loss)
            difference = (result.maps[n, j] - expected).abs().max().item()
            assert difference <= TOLERANCE, f"input {n}, question {j}: max abs difference {difference:.2e}"
            informative += bool(expected.max() > 0)
    assert informative > 0, "every reference map was empty: the comparison would prove nothing"


NETWORKS = [("resnet", "layer2"), ("vgg", "features.7")]


@pytest.mark.parametrize("network, layer", NETWORKS)
def test_why_and_what_if_not_match_reference(network, layer, images, request):
    model = request.getfixturevalue(network)
    result = Explainer(model, layer=layer)(images, [Why(), WhatIfNot(), Why(4)])
    predicted = model(images).argmax(1)
    assert_close_to_reference(result, model, layer, images, [
        [logit(int(p)), logit(int(p), -1.0), logit(4)] for p in predicted
    ])


@pytest.mark.parametrize("network, layer", NETWORKS)
def test_several_contrasts_match_reference(network, layer, images, request):
    model = request.getfixturevalue(network)
    result = Explainer(model, layer=layer)(images, Rather([2, 7, 0]))
    assert_close_to_reference(result, model, layer, images, [
        [cross_entropy_against(q) for q in (2, 7, 0)] for _ in images
    ])
    assert result.q.tolist() == [[2, 7, 0]] * len(images)


@pytest.mark.parametrize("network, layer", NETWORKS)
def test_runner_up_contrast_matches_reference(network, layer, images, request):
    model = request.getfixturevalue(network)
    result = Explainer(model, layer=layer)(images, Rather())
    runner_up = model(images).topk(2, dim=1).indices[:, 1]
    assert result.q[:, 0].tolist() == runner_up.tolist()
    assert_close_to_reference(result, model, layer, images, [[cross_entropy_against(int(q))] for q in runner_up])


@pytest.mark.parametrize("network, layer", NETWORKS)
def test_every_contrast_matches_reference(network, layer, images, request):
    model = request.getfixturevalue(network)
    result = Explainer(model, layer=layer)(images[:2], Rather.all())
    assert result.maps.shape == (2, 10, 32, 32)
    assert_close_to_reference(result, model, layer, images[:2], [
        [cross_entropy_against(q) for q in range(10)] for _ in range(2)
    ])


def test_named_p_uses_the_logit_margin(resnet, images):
    result = Explainer(resnet, layer="layer2")(images, Rather(5, p=3))
    assert result.kinds == ("rather_margin",)
    assert_close_to_reference(result, resnet, "layer2", images, [
        [lambda logits: logits[0, 3] - logits[0, 5]] for _ in images
    ])


def test_score_contrast_matches_reference(regression, images):
    scores = regression(images)[:, 0].detach()
    contrasts = [float(scores[0]) + 0.5, float(scores[0]) - 0.5, 0.0]
    result = Explainer(regression, layer="layer2")(images, ScoreRather(contrasts))
    assert result.task == "score"
    assert torch.allclose(result.scores, scores)
    assert_close_to_reference(result, regression, "layer2", images, [
        [lambda out, q=q: (out[0, 0] - q) ** 2 for q in contrasts] for _ in images
    ])
