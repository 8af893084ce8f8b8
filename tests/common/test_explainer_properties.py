"""Invariants of the explainer: every path gives the same maps, and the algebra holds."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import METHODS, BadInput, Explainer, Rather, ScoreRather, WhatIfNot, Why
from rather.common.explainer import all_finite

LAYER_METHODS = [name for name, method in METHODS.items() if method.source == "layer"]
INPUT_METHODS = [name for name, method in METHODS.items() if method.source == "input"]


@pytest.mark.parametrize("method", LAYER_METHODS + INPUT_METHODS)
@pytest.mark.parametrize("network, layer", [("resnet", "layer2"), ("vgg", "features.7")])
def test_all_contrasts_equal_the_loop_over_q(method, network, layer, images, request):
    model = request.getfixturevalue(network)
    explainer = Explainer(model, layer=layer, method=method)
    together = explainer(images, Rather.all())
    for q in range(10):
        alone = explainer(images, Rather(q))
        torch.testing.assert_close(together.raw[:, q], alone.raw[:, 0], rtol=1e-4, atol=1e-6)
        torch.testing.assert_close(together.maps[:, q], alone.maps[:, 0], rtol=0, atol=1e-5)


@pytest.mark.parametrize("method", LAYER_METHODS)
def test_analytic_head_equals_autograd(method, resnet, images):
    questions = [Why(), WhatIfNot(), Rather(), Rather.all()]
    analytic = Explainer(resnet, layer="layer2", method=method)(images, questions)
    autograd = Explainer(resnet, layer="layer2", method=method, head="autograd")(images, questions)
    assert analytic.gradient_path == "analytic" and autograd.gradient_path == "autograd"
    torch.testing.assert_close(analytic.raw, autograd.raw, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(analytic.maps, autograd.maps, rtol=0, atol=1e-5)


def test_analytic_head_is_only_taken_where_it_holds(resnet, vgg, images):
    assert Explainer(vgg, layer="features.7")(images, Why()).gradient_path == "autograd"
    assert Explainer(resnet, layer="layer1")(images, Why()).gradient_path == "autograd"
    assert Explainer(resnet, layer="layer2", head="linear")(images, Why()).gradient_path == "analytic"


def test_a_relu_between_pool_and_linear_defeats_the_closed_form(images):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                          nn.ReLU(), nn.Linear(8, 4)).eval()
    with torch.no_grad():
        model[0].bias.fill_(-0.05)  # some pooled features negative: the ReLU matters
    result = Explainer(model, layer="0")(images, Rather.all())
    assert result.gradient_path == "autograd"
    reference = Explainer(model, layer="0", head="autograd")(images, Rather.all())
    torch.testing.assert_close(result.maps, reference.maps)


@pytest.mark.parametrize("method", LAYER_METHODS + INPUT_METHODS)
def test_a_batch_equals_its_samples_one_by_one(method, vgg, images):
    explainer = Explainer(vgg, layer="features.7", method=method)
    batch = explainer(images, [Why(), Rather(), Rather([1, 2])])
    for n in range(len(images)):
        single = explainer(images[n:n + 1], [Why(), Rather(), Rather([1, 2])])
        torch.testing.assert_close(batch.maps[n], single.maps[0], rtol=0, atol=1e-5)
        assert batch.q[n].tolist() == single.q[0].tolist()


def test_chunks_of_questions_change_nothing(vgg, images):
    whole = Explainer(vgg, layer="features.7")(images, Rather.all())
    tiny_budget = Explainer(vgg, layer="features.7", memory_budget=1)(images, Rather.all())
    torch.testing.assert_close(whole.raw, tiny_budget.raw)


@pytest.mark.parametrize("method", ["gradcam", "hirescam"])
def test_score_contrast_is_scaled_gradcam_or_counterfactual(method, regression, images):
    """For one scalar output, dJ/dA = 2 (s - q) ds/dA."""
    explainer = Explainer(regression, layer="layer2", method=method)
    s = regression(images)[:, 0].detach()
    above, below = s - 0.3, s + 0.7  # per-input contrasts: s > q, then s < q
    result = explainer(images, [Why(), WhatIfNot(), ScoreRather(torch.stack([above, below], dim=1))])
    why, what_if_not, rather_above, rather_below = (result.raw[:, j] for j in range(4))
    scale = lambda q: (2 * (s - q)).abs().float()[:, None, None]  # noqa: E731
    torch.testing.assert_close(rather_above, scale(above) * why, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(rather_below, scale(below) * what_if_not, rtol=1e-4, atol=1e-6)
    assert rather_above.amax() > 0 or rather_below.amax() > 0, "both maps empty: the test would prove nothing"


def test_contrast_is_logsumexp_map_minus_contrast_map(vgg, images):
    """Why P rather than Q = ReLU(S_LSE - S_Q), S the pre-ReLU Grad-CAM maps (linearity in v)."""
    layer = dict(vgg.named_modules())["features.7"]
    saved = {}
    handle = layer.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
    logits = vgg(images[:1])
    handle.remove()
    activation = saved["a"]

    def pre_relu_map(score):
        (gradient,) = torch.autograd.grad(score, activation, retain_graph=True)
        return (gradient.mean(dim=(2, 3), keepdim=True) * activation).sum(dim=1)[0]

    s_lse = pre_relu_map(torch.logsumexp(logits[0], dim=0))
    s_q = pre_relu_map(logits[0, 6])
    expected = (s_lse - s_q).clamp(min=0).detach()
    result = Explainer(vgg, layer="features.7")(images[:1], Rather(6))
    torch.testing.assert_close(result.raw[0, 0], expected, rtol=1e-4, atol=1e-6)


def straightforward_cam_variants(model, layer_name, x, loss_fn):
    """(gradcampp, hirescam, layercam) raw maps by the papers' formulas, one input."""
    layer = dict(model.named_modules())[layer_name]
    saved = {}
    handle = layer.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
    out = model(x)
    handle.remove()
    a = saved["a"]
    (g,) = torch.autograd.grad(loss_fn(out), a)
    a, g = a[0].detach(), g[0]
    plus_plus = torch.zeros(a.shape[1:])
    for k in range(a.shape[0]):
        numerator = g[k] ** 2
        denominator = 2 * g[k] ** 2 + a[k].sum() * g[k] ** 3
        alpha = torch.where(denominator != 0, numerator / denominator, torch.zeros_like(numerator))
        plus_plus += (alpha * F.relu(g[k])).sum() * a[k]
    hires = (g * a).sum(0)
    layer_cam = (F.relu(g) * a).sum(0)
    return [F.relu(m) for m in (plus_plus, hires, layer_cam)]


@pytest.mark.parametrize("network, layer", [("resnet", "layer2"), ("vgg", "features.7")])
def test_cam_variants_follow_their_formulas(network, layer, images, request):
    model = request.getfixturevalue(network)
    q = 3
    expected = straightforward_cam_variants(model, layer, images[:1], lambda out: F.cross_entropy(out, torch.tensor([q])))
    for name, reference in zip(("gradcampp", "hirescam", "layercam"), expected):
        result = Explainer(model, layer=layer, method=name)(images[:1], Rather(q))
        torch.testing.assert_close(result.raw[0, 0], reference, rtol=1e-4, atol=1e-6, msg=name)


def test_input_gradient_methods_follow_their_formulas(vgg, images):
    x = images[:1].clone().requires_grad_(True)
    F.cross_entropy(vgg(x), torch.tensor([2])).backward()
    saliency = x.grad[0].abs().amax(0)
    times_input = F.relu((x.grad[0] * images[0]).sum(0))
    explainer = Explainer(vgg, method="gradient")
    torch.testing.assert_close(explainer(images[:1], Rather(2)).raw[0, 0], saliency)
    explainer = Explainer(vgg, method="gradient_x_input")
    torch.testing.assert_close(explainer(images[:1], Rather(2)).raw[0, 0], times_input)
    assert explainer(images[:1], Rather(2)).layer == "input"


class SharedTrunk(nn.Module):
    """A full-reference-style model: one trunk runs on two halves of the input."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(1)
        self.trunk = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1))
        self.head = nn.Sequential(nn.Conv2d(12, 4, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 1))

    def forward(self, x):
        distorted, reference = self.trunk(x[:, :3]), self.trunk(x[:, 3:])
        return self.head(torch.cat([distorted - reference, reference], dim=1))


@pytest.mark.parametrize("call", [0, 1])
def test_shared_module_is_explained_at_the_chosen_call(call):
    model = SharedTrunk().eval()
    x = torch.randn(2, 6, 16, 16, generator=torch.Generator().manual_seed(0))
    outputs = []
    handle = model.trunk.register_forward_hook(lambda m, i, o: outputs.append(o))
    score = model(x)
    handle.remove()
    (gradient,) = torch.autograd.grad(score.sum(), outputs[call])
    expected = F.relu((gradient.mean(dim=(2, 3), keepdim=True) * outputs[call]).sum(1)).detach()
    result = Explainer(model, layer="trunk", call=call)(x, Why())
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-6)


def test_in_place_operations_after_the_layer_do_not_change_the_activation(images):
    def network(inplace):
        torch.manual_seed(2)
        return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(inplace=inplace), nn.Conv2d(8, 8, 3),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 5)).eval()

    in_place = Explainer(network(True), layer="0", method="hirescam")(images, Rather.all())
    out_of_place = Explainer(network(False), layer="0", method="hirescam")(images, Rather.all())
    torch.testing.assert_close(in_place.raw, out_of_place.raw)


class NoBatchingRule(torch.autograd.Function):
    """x ** 3 with a hand-written backward and no vmap support."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * grad


class CustomHead(nn.Module):
    def __init__(self):
        super().__init__()
        torch.manual_seed(4)
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        return self.fc(NoBatchingRule.apply(self.conv(x)).mean(dim=(2, 3)))


def test_heads_without_batching_rules_fall_back_to_one_product_per_question(images):
    model = CustomHead().eval()
    result = Explainer(model, layer="conv")(images, Rather.all())
    for q in range(5):
        saved = {}
        handle = model.conv.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
        loss = F.cross_entropy(model(images), torch.full((len(images),), q), reduction="sum")
        handle.remove()
        (gradient,) = torch.autograd.grad(loss, saved["a"])
        expected = F.relu((gradient.mean(dim=(2, 3), keepdim=True) * saved["a"]).sum(1)).detach()
        torch.testing.assert_close(result.raw[:, q], expected, rtol=1e-4, atol=1e-6)


def test_q_equal_to_p_is_allowed_and_said(resnet, images):
    p = int(resnet(images[:1]).argmax())
    result = Explainer(resnet, layer="layer2")(images[:1], Rather(p))
    assert result.p[0, 0] == result.q[0, 0] == p
    assert any("not more confidently" in note for note in result.notes)


def test_maps_are_normalised_per_map_and_constant_maps_are_zero():
    from rather.common.maps import normalise

    maps = torch.tensor([[[[0.0, 2.0], [4.0, 1.0]], [[3.0, 3.0], [3.0, 3.0]]]])
    normalised = normalise(maps)
    torch.testing.assert_close(normalised[0, 0], torch.tensor([[0.0, 0.5], [1.0, 0.25]]))
    assert normalised[0, 1].eq(0).all()
    tiny = torch.tensor([[[[1.0, 1.0 + 1e-6]]]])
    assert normalise(tiny).flatten().tolist() == [0.0, 1.0]  # no epsilon: a tiny range still spans [0, 1]


def test_results_stay_on_the_models_device(resnet, images):
    result = Explainer(resnet, layer="layer2")(images.double().float(), Why())
    assert result.maps.device == next(resnet.parameters()).device
    assert result.maps.dtype == torch.float32


@pytest.mark.parametrize("size_in, size_out", [(7, 224), (12, 99), (5, 5), (9, 4)])
def test_interpolation_matrix_is_the_bilinear_upsampling(size_in, size_out):
    from rather.common.maps import interpolation_matrix, upsample

    raw = torch.rand(2, 3, size_in, size_in + 2, dtype=torch.float64)
    rows, cols = interpolation_matrix(size_out, size_in), interpolation_matrix(size_out + 1, size_in + 2)
    torch.testing.assert_close(rows @ raw @ cols.T, upsample(raw, (size_out, size_out + 1)))
    torch.testing.assert_close(rows.sum(dim=1), torch.ones(size_out, dtype=torch.float64))


def test_answers_are_what_a_result_is_made_of(resnet, images):
    """``Explainer.answers`` (patchwise batches: no result per batch) gives the raw maps and outputs of ``__call__``."""
    explainer = Explainer(resnet, layer="layer2", head="autograd")
    questions = [Why(), Rather.all()]
    result, answers = explainer(images, questions), explainer.answers(images, questions)
    assert torch.equal(answers.raw, result.raw) and torch.equal(answers.outputs, result.outputs)
    assert torch.equal(answers.directions.q, result.q) and answers.gradient_path == result.gradient_path == "autograd"
    assert not answers.outputs.requires_grad and answers.was_training is False
    with pytest.raises(BadInput, match="input holds 1 NaN or Inf values"):
        explainer.answers(torch.where(torch.arange(images.numel()).view_as(images) == 5, torch.inf, images), Why())


@pytest.mark.parametrize("value, finite", [(3e38, True), (-3e38, True), (float("inf"), False), (float("nan"), False)])
def test_the_finite_check_is_exact_where_the_sum_overflows(value, finite):
    """A batch whose sum overflows float32 (every value finite) is accepted; one NaN or Inf anywhere is refused."""
    x = torch.full((2, 3, 8, 8), 3e38)
    x[1, 2, 7, 7] = value
    assert not torch.isfinite(x.sum()) and all_finite(x) is finite
    assert all_finite(torch.zeros(1, 3, 8, 8)) is True
