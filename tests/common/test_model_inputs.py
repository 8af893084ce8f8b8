"""Models as users bring them: several inputs, keyword inputs, outputs that are not a bare tensor (issue 14).

Every map is checked against a straightforward computation that uses nothing of
rather: a hook on the layer, the model called as its author calls it,
``torch.autograd.grad`` of the loss at the hooked activation, Grad-CAM by hand.
"""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from rather.common import BadInput, BadModel, Explainer, Rather, ScoreRather, Why


class FullReference(nn.Module):
    """A full-reference quality model: ``forward(dist, ref, *, gain=1)`` runs one trunk on both inputs."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(5)
        self.trunk = nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1))
        self.head = nn.Sequential(nn.Conv2d(18, 4, 1), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                                  nn.Linear(4, 1), nn.Flatten(0))

    def forward(self, dist, ref, gain=None):
        h, h_ref = self.trunk(dist), self.trunk(ref)
        score = self.head(torch.cat([h - h_ref, h, h_ref], dim=1))
        return score if gain is None else score * gain


def pair(n=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    dist = torch.randn(n, 3, 16, 16, generator=generator)
    return dist, dist + 0.5 * torch.randn(n, 3, 16, 16, generator=generator)


def hand_gradcam(model, layer, call, inputs, loss_of_output, **kwargs):
    """Raw Grad-CAM (N, h, w) of the ``call``-th activation of ``layer``, with nothing of rather."""
    activations = []
    handle = layer.register_forward_hook(lambda module, args, output: activations.append(output))
    try:
        loss = loss_of_output(model(*inputs, **kwargs))
    finally:
        handle.remove()
    (gradient,) = torch.autograd.grad(loss, activations[call])
    return F.relu((gradient.mean(dim=(2, 3), keepdim=True) * activations[call]).sum(dim=1)).detach()


@pytest.mark.parametrize("call", [0, 1])
def test_a_full_reference_model_is_explained_directly_at_either_branch(call):
    model = FullReference().eval()
    dist, ref = pair()
    q = torch.tensor([[0.2], [-0.4]])
    expected = hand_gradcam(model, model.trunk, call, (dist, ref), lambda s: ((s - q[:, 0]) ** 2).sum())
    result = Explainer(model, layer="trunk", call=call)((dist, ref), ScoreRather(q))
    assert expected.amax() > 0, "an empty reference map would prove nothing"
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-6)
    assert result.maps.shape == (2, 1, 16, 16) and result.task == "score"
    torch.testing.assert_close(result.scores, model(dist, ref).detach())


def test_keyword_inputs_reach_every_call():
    model = FullReference().eval()
    dist, ref = pair()
    gain = torch.tensor([2.0, -3.0])
    expected = hand_gradcam(model, model.trunk, 0, (dist, ref), lambda s: s.sum(), gain=gain)
    result = Explainer(model, layer="trunk")((dist, ref), Why(), forward_kwargs={"gain": gain})
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(result.scores, model(dist, ref, gain=gain).detach())


@pytest.mark.parametrize("explain_input", [0, 1])
def test_input_methods_take_the_gradient_at_the_named_input(explain_input):
    model = FullReference().eval()
    inputs = pair()
    leaves = [item.clone().requires_grad_(True) for item in inputs]
    (gradient,) = torch.autograd.grad(model(*leaves).sum(), leaves[explain_input])
    result = Explainer(model, method="gradient", explain_input=explain_input)(inputs, Why())
    torch.testing.assert_close(result.raw[:, 0], gradient.abs().amax(dim=1))


def test_maps_are_drawn_over_the_named_input():
    class Sizes(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, padding=1)
            self.fc = nn.Linear(8, 2)

        def forward(self, small, large):
            return self.fc(torch.cat([self.conv(small).mean(dim=(2, 3)), self.conv(large).mean(dim=(2, 3))], 1))

    model = Sizes().eval()
    inputs = (torch.randn(1, 3, 8, 8), torch.randn(1, 3, 24, 20))
    assert Explainer(model, layer="conv", call=1, explain_input=1)(inputs, Why()).maps.shape == (1, 1, 24, 20)
    assert Explainer(model, layer="conv")(inputs, Why()).maps.shape == (1, 1, 8, 8)


def test_a_full_reference_model_is_left_untouched(untouched):
    model = FullReference()
    model.train()
    model.head.eval()
    next(model.parameters()).requires_grad_(False)
    with untouched(model):
        Explainer(model, layer="trunk", call=1)(pair(), Why(), forward_kwargs={"gain": torch.ones(2)})
        Explainer(model, method="gradient_x_input", explain_input=1)(pair(), Why())


@pytest.mark.parametrize("x, kwargs, error, message", [
    ((), {}, BadInput, r"x is an empty tuple; give the input tensor, or a tuple of the model's inputs"),
    (pair()[:1], {}, BadInput, r"the model cannot run on an input of shape \(2, 3, 16, 16\): .*missing"),
    ((*pair(), torch.ones(2), 5), {}, BadInput, r"cannot run on inputs of shapes \(2, 3, 16, 16\), \(2, 3, 16, 16\), "
                                                r"\(2,\), int: .*takes"),
    ((pair()[0], pair()[1] * float("nan")), {}, BadInput, r"input 1 of x holds 1536 NaN or Inf values"),
    (([1.0], pair()[1]), {}, BadInput, r"input 0 of x \(explain_input\) must be a torch.Tensor .* got list"),
    (pair(), {"forward_kwargs": [("gain", 1)]}, BadInput, r"forward_kwargs must be a dict .* got list"),
    (pair(), {"forward_kwargs": {"gian": 1}}, BadInput, r"cannot run on .*unexpected keyword argument 'gian'"),
])
def test_bad_inputs_of_a_several_input_model(x, kwargs, error, message, untouched):
    model = FullReference().eval()
    with untouched(model), pytest.raises(error, match=message):
        Explainer(model, layer="trunk")(x, Why(), **kwargs)


def test_explain_input_must_name_one_of_the_inputs():
    model = FullReference().eval()
    with pytest.raises(BadInput, match=r"explain_input=2, but x holds 2 input\(s\); use 0..1"):
        Explainer(model, layer="trunk", explain_input=2)(pair(), Why())
    with pytest.raises(BadModel, match=r"explain_input must be a non-negative integer .*got -1"):
        Explainer(model, layer="trunk", explain_input=-1)


class Returns(nn.Module):
    """A classifier whose logits come back wrapped in one of the ways models return them."""

    def __init__(self, how, classes=4):
        super().__init__()
        torch.manual_seed(6)
        self.how = how
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, classes)

    def forward(self, x):
        features = F.relu(self.conv(x))
        logits = self.fc(features.amax(dim=(2, 3)))
        if self.how == "dict":
            return {"features": features, "logits": logits}
        if self.how == "tuple":
            return features, logits
        if self.how == "attribute":
            return type("Output", (), {"logits": logits})()
        if self.how == "map":
            return logits[:, :, None, None]  # a fully convolutional head: (N, C, 1, 1)
        return logits


@pytest.mark.parametrize("how, output", [
    ("dict", "logits"), ("tuple", 1), ("tuple", -1), ("attribute", "logits"), ("dict", lambda out: out["logits"]),
    ("map", None),
])
def test_logits_are_read_from_any_output(how, output, images):
    plain = Explainer(Returns("plain").eval(), layer="conv", head="autograd")(images, Rather.all())
    result = Explainer(Returns(how).eval(), layer="conv", output=output)(images, Rather.all())
    torch.testing.assert_close(result.raw, plain.raw)
    torch.testing.assert_close(result.outputs, plain.outputs)


@pytest.mark.parametrize("shape", [(1, 1, 1), (1, 1), (1,), (1, 1, 1, 1)])
def test_one_number_per_input_is_a_score(shape):
    class Metric(nn.Module):
        """An LPIPS-style distance: one number per input, in whatever shape."""

        def __init__(self):
            super().__init__()
            torch.manual_seed(7)
            self.conv = nn.Conv2d(3, 5, 3, padding=1)

        def forward(self, x):
            return self.conv(x).pow(2).mean(dim=(1, 2, 3)).reshape(-1, *shape)

    model = Metric().eval()
    x = torch.randn(2, 3, 12, 12, generator=torch.Generator().manual_seed(1))
    result = Explainer(model, layer="conv")(x, [Why(), ScoreRather(0.5)])
    expected = hand_gradcam(model, model.conv, 0, (x,), lambda s: s.sum())
    assert result.task == "score" and result.outputs.shape == (2, 1)
    torch.testing.assert_close(result.raw[:, 0], expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("how, output, message", [
    ("dict", None, r"got dict; name the logits with Explainer\(..., output=...\): a key, output='logits'"),
    ("tuple", None, r"got tuple; name the logits .*: an index, output=0"),
    ("dict", "logit", r"output='logit': the model returns a dict without that key; its keys: 'features', 'logits'"),
    ("tuple", 2, r"output=2: the model's output \(tuple\) has 2 items; use 0..1"),
    ("plain", 0, r"output=0: the model's output \(Tensor\) has no items to index"),
    ("attribute", "scores", r"output='scores': the model's output \(Output\) has no key or attribute 'scores'"),
    ("tuple", lambda out: out["logits"], r"output=function failed on the model's output \(tuple\): TypeError"),
    ("dict", "features", r"got shape \(3, 8, 32, 32\)"),
])
def test_outputs_that_cannot_be_read_are_refused(how, output, message, images, untouched):
    model = Returns(how).eval()
    with untouched(model), pytest.raises(BadModel, match=message):
        Explainer(model, layer="conv", output=output)(images, Why())


def test_output_must_be_a_name_an_index_or_a_function():
    with pytest.raises(BadModel, match=r"output must be a key or attribute name, an index or a function .*got float"):
        Explainer(Returns("plain"), layer="conv", output=1.5)
