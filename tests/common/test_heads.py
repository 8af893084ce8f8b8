"""Analytic heads against a straightforward autograd computation, and the heads that must fall back.

The straightforward computation does what the paper's code does, one question at a time:
hook the layer, run the model, back-propagate the loss of each input down to the layer,
GAP the gradient, ReLU of the weighted sum. Nothing of rather is used in it.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import BadModel, Explainer, Rather, WhatIfNot, Why
from rather.common.gradients import ChannelSums

QUESTIONS = [Why(), WhatIfNot(), Rather(), Rather(2, p=1), Rather.all()]


def straightforward_gradcam(model, layer_name, x, losses):
    """Raw Grad-CAM maps (N, len(losses), h, w); losses: functions of the logits of one input (C,)."""
    layer = dict(model.named_modules())[layer_name]
    maps = []
    for n in range(len(x)):
        row = []
        for loss in losses:
            saved = {}
            handle = layer.register_forward_hook(lambda m, i, o: saved.__setitem__("a", o))
            try:
                logits = model(x[n:n + 1])
            finally:
                handle.remove()
            (gradient,) = torch.autograd.grad(loss(logits[0]), saved["a"])
            alpha = gradient.mean(dim=(2, 3), keepdim=True)
            row.append(F.relu((alpha * saved["a"]).sum(dim=1))[0].detach())
        maps.append(torch.stack(row))
    return torch.stack(maps)


def question_losses(model, x):
    """The losses of QUESTIONS for each input, in result order (P is the prediction of each input)."""
    logits = model(x).detach()
    per_input = []
    for n in range(len(x)):
        p = int(logits[n].argmax())
        runner_up = int(logits[n].clone().index_fill_(0, torch.tensor([p]), -float("inf")).argmax())
        ce = lambda q: lambda y: F.cross_entropy(y[None], torch.tensor([q]))  # noqa: E731
        per_input.append([lambda y, p=p: y[p], lambda y, p=p: -y[p], ce(runner_up), lambda y: y[1] - y[2],
                          *[ce(q) for q in range(logits.shape[1])]])
    return per_input


def assert_equals_straightforward(model, layer, x, result):
    expected = torch.cat([straightforward_gradcam(model, layer, x[n:n + 1], losses)
                          for n, losses in enumerate(question_losses(model, x))])
    assert expected.amax() > 0, "every expected map is empty: the comparison would prove nothing"
    torch.testing.assert_close(result.raw, expected, rtol=1e-4, atol=1e-6 * float(expected.amax()))


def vgg_toy(between=(), after_flatten=(), seed=0, classes=6, channels=5):
    """features -> [between] -> flatten -> [after_flatten] -> Linear -> ReLU(inplace) -> Linear; layer '3'."""
    torch.manual_seed(seed)
    features = [nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, channels, 3, stride=2, padding=1), nn.ReLU()]
    probe = nn.Sequential(*features, *between).eval()(torch.zeros(1, 3, 16, 16))
    return nn.Sequential(*features, *between, nn.Flatten(), *after_flatten, nn.Linear(probe[0].numel(), 12),
                         nn.ReLU(inplace=True), nn.Linear(12, classes)).eval()


@pytest.fixture
def x16():
    return torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(3))


@pytest.mark.parametrize("between", [(), (nn.MaxPool2d(2),), (nn.AvgPool2d(2),), (nn.MaxPool2d(3, stride=2),),
                                     (nn.AdaptiveAvgPool2d(8),), (nn.MaxPool2d(2), nn.AdaptiveAvgPool2d(2))],
                         ids=["flatten", "max-pool", "avg-pool", "overlapping-max-pool", "adaptive-identity",
                              "max-pool-then-adaptive"])
def test_flatten_linear_head_equals_straightforward_gradcam(between, x16):
    model = vgg_toy(between)
    result = Explainer(model, layer="3")(x16, QUESTIONS)
    assert result.gradient_path == "first-linear"
    assert_equals_straightforward(model, "3", x16, result)


def test_vgg_network_takes_the_first_linear_path_at_its_last_activation(vgg, images):
    result = Explainer(vgg, layer="features.9")(images, QUESTIONS)
    assert result.gradient_path == "first-linear"
    assert_equals_straightforward(vgg, "features.9", images, result)


@pytest.mark.parametrize("method", ["hirescam", "gradcampp", "layercam"])
def test_methods_that_need_the_whole_gradient_keep_autograd(method, x16):
    model = vgg_toy((nn.MaxPool2d(2),))
    result = Explainer(model, layer="3", method=method)(x16, QUESTIONS)
    reference = Explainer(model, layer="3", method=method, head="autograd")(x16, QUESTIONS)
    assert result.gradient_path == "autograd"
    torch.testing.assert_close(result.raw, reference.raw)
    with pytest.raises(BadModel, match=r"^head='linear' was asked, but the head after layer '3' is not "
                                       r"global-average-pool \+ linear on this input; use head='auto'$"):
        Explainer(model, layer="3", method=method, head="linear")(x16, Why())


class ChannelsLast(nn.Module):
    def forward(self, a):
        return a.permute(0, 2, 3, 1)


class FunctionalDropout(nn.Module):
    """Dropout that stays on in eval mode (F.dropout with training=True)."""

    def forward(self, a):
        return F.dropout(a, 0.5, training=True)


class SkipAround(nn.Module):
    """y = head(flatten(A)) + V GAP(A): the output reads A besides the first Linear."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.features = nn.Sequential(nn.Conv2d(3, 5, 3, padding=1), nn.ReLU())
        self.head = nn.Sequential(nn.Flatten(), nn.Linear(5 * 16 * 16, 12), nn.ReLU(), nn.Linear(12, 6))
        self.side = nn.Conv2d(5, 6, 1)

    def forward(self, x):
        a = self.features(x)
        return self.head(a) + self.side(a).mean(dim=(2, 3))


FALLBACKS = {
    "padded-average-pool": lambda: vgg_toy((nn.AvgPool2d(3, stride=1, padding=1),)),
    "channels-last-flatten": lambda: vgg_toy((ChannelsLast(),)),
    "conv-before-flatten": lambda: vgg_toy((nn.Conv2d(5, 5, 1),)),
    "layer-norm-before-linear": lambda: vgg_toy((), (nn.LayerNorm(5 * 8 * 8),)),
    "relu-after-flatten": lambda: vgg_toy((), (nn.ReLU(),)),
    "dropout-in-train-mode": lambda: vgg_toy((), (FunctionalDropout(),)),
}


@pytest.mark.parametrize("build", FALLBACKS.values(), ids=FALLBACKS.keys())
def test_heads_where_the_identity_fails_fall_back_to_autograd(build, x16):
    model = build()
    torch.manual_seed(11)  # the same dropout mask in both runs
    result = Explainer(model, layer="3")(x16, QUESTIONS)
    torch.manual_seed(11)
    reference = Explainer(model, layer="3", head="autograd")(x16, QUESTIONS)
    assert result.gradient_path == "autograd"
    torch.testing.assert_close(result.raw, reference.raw)


def test_an_output_that_reads_the_layer_besides_the_first_linear_falls_back(x16):
    model = SkipAround().eval()
    result = Explainer(model, layer="features")(x16, QUESTIONS)
    assert result.gradient_path == "autograd"
    assert_equals_straightforward(model, "features", x16, result)


def test_changed_weights_are_summed_again(x16):
    model = vgg_toy((nn.MaxPool2d(2),))
    explainer = Explainer(model, layer="3")
    before = explainer(x16, QUESTIONS)
    with torch.no_grad():
        model[6].weight.mul_(-2.0).add_(0.01)  # in place: the same tensor, a new version
    after = explainer(x16, QUESTIONS)
    assert after.gradient_path == "first-linear"
    assert not torch.allclose(before.raw, after.raw)
    assert_equals_straightforward(model, "3", x16, after)


def test_channel_sums_are_kept_until_the_weight_changes():
    weight = torch.randn(4, 3 * 5)
    sums = ChannelSums()
    first = sums(weight, 3)
    torch.testing.assert_close(first, torch.stack([weight[:, k * 5:(k + 1) * 5].sum(dim=1) for k in range(3)], 1))
    assert sums(weight, 3) is first
    weight.add_(1.0)
    torch.testing.assert_close(sums(weight, 3), first + 5.0)
    assert sums(weight.clone(), 3) is not first and sums(weight, 5).shape == (4, 5)


def test_the_model_is_left_as_it_was(x16):
    model = vgg_toy((nn.MaxPool2d(2),))
    model[1].train()
    model[8].weight.requires_grad_(False)
    state = {name: tensor.clone() for name, tensor in model.state_dict().items()}
    flags = [p.requires_grad for p in model.parameters()]
    modes = [m.training for m in model.modules()]
    Explainer(model, layer="3")(x16, QUESTIONS)
    assert all(torch.equal(state[name], tensor) for name, tensor in model.state_dict().items())
    assert [p.requires_grad for p in model.parameters()] == flags and False in flags
    assert [m.training for m in model.modules()] == modes and True in modes
    assert not any(m._forward_hooks for m in model.modules())


@pytest.mark.parametrize("network", ["resnet", "wide-vgg-toy"])
def test_folding_the_head_into_the_activation_changes_no_map(network, images, request, monkeypatch):
    """Many questions fold the head's linear map into the activation, one does not: the same maps either way."""
    from rather.common.gradients import AnalyticHead

    folds = []
    unit_maps = AnalyticHead.unit_maps
    monkeypatch.setattr(AnalyticHead, "unit_maps", lambda head, a: folds.append(a.shape) or unit_maps(head, a))
    if network == "resnet":
        model, layer = request.getfixturevalue("resnet"), "layer2"
    else:  # 32 channels at 8 x 8 into 12 units: folding pays from 15 questions on
        model, layer, images = vgg_toy((nn.MaxPool2d(2),), channels=32), "3", images[:, :, :16, :16]
    questions = [Rather.all()] * 3
    explainer = Explainer(model, layer=layer)
    together = explainer(images, questions)
    assert len(folds) == 1 and together.gradient_path != "autograd"
    alone = explainer(images, Rather(together.q[:, 4:5]))
    assert len(folds) == 1
    torch.testing.assert_close(together.raw[:, 4], alone.raw[:, 0], rtol=1e-4, atol=1e-6)
    reference = Explainer(model, layer=layer, head="autograd")(images, questions)
    torch.testing.assert_close(together.raw, reference.raw, rtol=1e-4, atol=1e-6)
