"""The user's model is left exactly as it was, and every refusal is clear."""
import pickle
import re

import numpy as np
import pytest
import torch
from torch import nn

from rather.common import BadInput, BadModel, BadQuestion, Explainer, Rather, RatherError, ScoreRather, WhatIfNot, Why


def mixed_state(model):
    """Train mode on part of the model, one frozen parameter: flags worth restoring."""
    model.train()
    model.layer1.eval()
    next(model.parameters()).requires_grad_(False)
    return model


def test_model_is_unchanged_after_explaining(resnet, images, untouched):
    model = mixed_state(resnet)
    with untouched(model):
        result = Explainer(model, layer="layer2")(images, [Why(), Rather.all()])
    assert any("train mode" in note for note in result.notes)


def test_batchnorm_statistics_are_untouched_by_a_model_in_train_mode(resnet, images):
    resnet.train()
    running_mean = resnet.bn1.running_mean.clone()
    Explainer(resnet, layer="layer2")(images, Why())
    assert torch.equal(resnet.bn1.running_mean, running_mean)
    assert resnet.training


@pytest.mark.parametrize("question", [Rather(99), ScoreRather(0.5)])
def test_model_is_unchanged_when_an_error_is_raised(question, resnet, images, untouched):
    model = mixed_state(resnet)
    with untouched(model), pytest.raises(RatherError):
        Explainer(model, layer="layer2")(images, question)


def test_model_is_unchanged_when_the_forward_fails(resnet, untouched):
    model = mixed_state(resnet)
    with untouched(model), pytest.raises(BadInput, match="cannot run on an input of shape"):
        Explainer(model, layer="layer2")(torch.randn(1, 5, 32, 32), Why())


def test_explainer_is_reusable_and_does_not_keep_hooks(resnet, images):
    explainer = Explainer(resnet, layer="layer2")
    first = explainer(images, Rather(1))
    second = explainer(images, Rather(1))
    assert torch.equal(first.maps, second.maps)
    assert sum(len(m._forward_hooks) for m in resnet.modules()) == 0


def test_unknown_layer_lists_close_matches(resnet):
    with pytest.raises(BadModel, match=r"layer 'layer5' not found in ResNetLike; close matches: layer.*"):
        Explainer(resnet, layer="layer5")


def test_foreign_module_as_layer_is_refused(resnet):
    with pytest.raises(BadModel, match="is not part of the model"):
        Explainer(resnet, layer=nn.Conv2d(3, 3, 1))


def test_method_needs_a_layer_and_must_exist(resnet):
    with pytest.raises(BadModel, match="needs a layer"):
        Explainer(resnet)
    with pytest.raises(BadModel, match="unknown method 'gradcam3'; choose one of: gradcam"):
        Explainer(resnet, layer="layer2", method="gradcam3")


@pytest.mark.parametrize("question, message", [
    (Rather(10), r"Q=10 is out of range: the model has 10 classes \(0..9\)"),
    (Rather(-1), r"Q=-1 is out of range"),
    (Why(12), r"P=12 is out of range"),
    (Rather(3, p=11), r"P=11 is out of range"),
    (ScoreRather(0.5), r"ScoreRather cannot be asked of a classifier with 10 outputs; use Rather\(Q\)"),
    (Rather(torch.zeros(2, 1, dtype=torch.long)), r"Q has 2 rows for a batch of 3 inputs"),
    (Rather([]), r"Q is empty"),
    (Rather(torch.tensor([[1.5]] * 3)), r"Q must hold class indices"),
    ("why", r"ask a question: Why\(\), WhatIfNot\(\)"),
])
def test_bad_questions(question, message, resnet, images):
    with pytest.raises(BadQuestion, match=message):
        Explainer(resnet, layer="layer2")(images, question)


def test_contrast_classes_on_a_regression_are_refused(regression, images):
    with pytest.raises(BadQuestion, match=r"Rather cannot be asked of a regression output .* use ScoreRather\(q\)"):
        Explainer(regression, layer="layer2")(images, Rather(1))
    with pytest.raises(BadQuestion, match="contrast score q must be finite"):
        Explainer(regression, layer="layer2")(images, ScoreRather(float("nan")))


@pytest.mark.parametrize("x, message", [
    (np.zeros((1, 3, 32, 32), dtype=np.float32), r"input must be a torch.Tensor of shape \(N, C, H, W\); got ndarray"),
    (torch.zeros(3, 32, 32), r"input must have shape \(N, C, H, W\); got \(3, 32, 32\) \(add the batch dimension"),
    (torch.zeros(1, 3, 32, 32, dtype=torch.uint8), r"input must be floating point; got torch.uint8"),
    (torch.full((1, 3, 32, 32), float("nan")), r"input holds 3072 NaN or Inf values"),
    (torch.zeros(0, 3, 32, 32), r"input is empty"),
])
def test_bad_inputs(x, message, resnet):
    with pytest.raises(BadInput, match=message):
        Explainer(resnet, layer="layer2")(x, Why())


class Wrong(nn.Module):
    """Small models that go wrong in one way each."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.unused = nn.Conv2d(3, 4, 3, padding=1)
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        features = self.conv(x).mean(dim=(2, 3))
        if self.how == "tuple":
            return self.fc(features), features
        if self.how == "3d":
            return self.fc(features)[:, :, None]
        if self.how == "argmax":
            return torch.nn.functional.one_hot(self.fc(features).argmax(1), 3).float()
        if self.how == "nan":
            return self.fc(features) * float("nan")
        if self.how == "twice":
            return self.fc(self.conv(x).mean(dim=(2, 3)) + features)
        return self.fc(features)


@pytest.mark.parametrize("how, layer, call, message", [
    ("tuple", "conv", 0, r"model output must be logits \(N, C\) or scores \(N,\) for a batch of N = 2; got tuple"),
    ("3d", "conv", 0, r"got shape \(2, 3, 1\)"),
    ("argmax", "conv", 0, r"no gradient path from the model's output to layer 'conv'"),
    ("nan", "conv", 0, r"model output holds NaN or Inf"),
    ("plain", "unused", 0, r"layer 'unused' did not run in the forward pass"),
    ("twice", "conv", 2, r"layer 'conv' ran 2 time\(s\) in one forward pass; call=2 does not exist \(use 0..1\)"),
    ("plain", "fc", 0, r"layer 'fc' gives shape \(2, 3\); maps need a floating activation of shape \(N, K, h, w\)"),
])
def test_bad_models(how, layer, call, message):
    model = Wrong(how).eval()
    with pytest.raises(BadModel, match=message):
        Explainer(model, layer=layer, call=call)(torch.randn(2, 3, 8, 8), Why())
    assert sum(len(m._forward_hooks) for m in model.modules()) == 0


def test_output_that_ignores_the_layer_has_no_gradient_path():
    class Bypass(nn.Module):
        def __init__(self):
            super().__init__()
            self.side = nn.Conv2d(3, 2, 1)
            self.main = nn.Conv2d(3, 2, 1)

        def forward(self, x):
            self.side(x)
            return self.main(x).mean(dim=(2, 3))

    with pytest.raises(BadModel, match="no gradient path from the model's output to layer 'side'"):
        Explainer(Bypass(), layer="side")(torch.randn(1, 3, 4, 4), Why())


def test_head_linear_insists_on_the_closed_form(vgg, images):
    with pytest.raises(BadModel, match="head='linear' was asked, but the head after layer 'features.7' is not"):
        Explainer(vgg, layer="features.7", head="linear")(images, Why())


def test_errors_form_one_family():
    assert issubclass(BadInput, RatherError) and issubclass(BadInput, ValueError)
    assert issubclass(BadModel, RatherError) and issubclass(BadQuestion, RatherError)
    assert pickle.loads(pickle.dumps(BadInput("x"))).args == ("x",)


def test_what_if_not_of_a_regression_is_minus_why(regression, images):
    result = Explainer(regression, layer="layer2", method="hirescam")(images, [Why(), WhatIfNot()])
    assert torch.isnan(result.q).all() and result.task == "score"
    assert result.title(0, 1).startswith("What if not ")


@pytest.mark.parametrize("device, message", [
    ("nonsense", "device 'nonsense' is not a torch device; use cpu, cuda or cuda:N"),
    pytest.param("cuda", "CUDA is not available on this machine; use --device cpu",
                 marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")),
])
def test_a_bad_device_is_bad_input_before_any_work(device, message, tmp_path):
    from rather.common.models import load_model

    with pytest.raises(BadInput, match=re.escape(message)):
        load_model("rather.common.networks:SmallCNN", kwargs={"num_classes": 3}, device=device)


def test_score_contrasts_keep_python_floats_exactly():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 1), nn.Flatten(0))
    result = Explainer(model, layer="0")(torch.rand(2, 3, 8, 8), ScoreRather([0.4, 0.7]))
    assert result.q[:, :].tolist() == [[0.4, 0.7], [0.4, 0.7]]
