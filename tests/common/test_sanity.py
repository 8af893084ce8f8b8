"""The sanity checks of saliency maps (rather.common.sanity), with answers known in advance."""
import math

import pytest
import torch
from torch import nn

from rather.common import Rather, Why, model_checksum
from rather.common.sanity import (cascade, groups_of, independent, layers_from_top, random_classes, random_logit,
                                  randomised_copy, redraw, reestimate)


def questions(count):
    p, q = torch.tensor([[1]] * count), torch.tensor([[2]] * count)
    return [Rather(q, p=p), Why(p)]


class WithSpare(nn.Module):
    """A small CNN with a BatchNorm and a layer the forward pass never runs."""

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                      nn.Conv2d(8, 16, 3, padding=1), nn.ReLU())
        self.spare = nn.Linear(4, 4)
        self.fc = nn.Linear(16, 5)

    def forward(self, x):
        return self.fc(self.features(x).mean(dim=(2, 3)))


@pytest.fixture
def spare():
    torch.manual_seed(0)
    model = WithSpare().eval()
    with torch.no_grad():  # trained-looking BatchNorm: not the (1, 0) initialisation
        model.features[1].weight.uniform_(0.5, 2.0)
        model.features[1].bias.uniform_(-1, 1)
        model.features[1].running_mean.uniform_(-0.2, 0.2)
    return model


def test_layers_from_top_follow_the_forward_pass_and_skip_unused_layers(resnet, images, spare):
    assert layers_from_top(spare, images) == ["fc", "features.3", "features.1", "features.0"]
    assert "spare" in layers_from_top(spare)  # by registration order, without an input
    order = layers_from_top(resnet, images)
    assert order[0] == "fc" and order[-1] == layers_from_top(resnet)[-1]
    assert sorted(order) == sorted(layers_from_top(resnet))


def test_a_step_that_redraws_nothing_correlates_exactly_one(spare, images):
    steps = independent(spare, "features.3", images, questions(3), layers=["spare"])
    assert torch.equal(steps[0].correlation, torch.ones(3, 2, dtype=torch.float64))


def test_the_same_question_about_the_same_class_correlates_one(resnet, images):
    asked = questions(3)
    assert torch.allclose(random_logit(resnet, "layer2", images, asked, asked), torch.ones(3, 2, dtype=torch.float64))


def test_the_cascade_runs_through_the_whole_network_and_leaves_the_model_alone(resnet, images):
    before = model_checksum(resnet)
    steps = cascade(resnet, "layer2", images, questions(3), steps=4, seed=5)
    assert model_checksum(resnet) == before
    assert [name for step in steps for name in step.layers] == layers_from_top(resnet, images)
    assert len(steps) == 4 and steps[0].layers[0] == "fc"
    assert (steps[-1].correlation.nan_to_num(0) < 0.9).all()  # every weight re-drawn: the maps are not the trained


def test_the_first_step_of_both_variants_is_the_same_redraw(resnet, images):
    first = cascade(resnet, "layer2", images, questions(3), steps=3, seed=2)[0]
    alone = independent(resnet, "layer2", images, questions(3), steps=3, seed=2)[0]
    torch.testing.assert_close(first.correlation, alone.correlation, equal_nan=True)


def test_groups_split_in_order_and_cover_every_name():
    names = [f"l{i}" for i in range(7)]
    assert groups_of(names, 3) == [("l0", "l1"), ("l2", "l3", "l4"), ("l5", "l6")]
    assert groups_of(names, None) == [(name,) for name in names] == groups_of(names, 10)


def test_a_convolution_is_redrawn_from_its_initialisation_distribution():
    torch.manual_seed(0)
    conv = nn.Conv2d(8, 4, 3)
    with torch.no_grad():
        conv.weight.fill_(3.0)
    redraw(conv, torch.Generator().manual_seed(0))
    bound = 1 / math.sqrt(8 * 3 * 3)  # PyTorch's Kaiming-uniform with a = sqrt(5)
    assert conv.weight.abs().max() <= bound and conv.weight.std() > bound / 3


def test_batchnorm_keeps_its_scale_and_loses_its_channels():
    norm = nn.BatchNorm2d(4096)
    with torch.no_grad():
        norm.weight.normal_(1.5, 0.2, generator=torch.Generator().manual_seed(1))
        norm.bias.normal_(-0.3, 0.1, generator=torch.Generator().manual_seed(2))
    trained = norm.weight.detach().clone()
    redraw(norm, torch.Generator().manual_seed(0))
    assert norm.weight.mean().item() == pytest.approx(1.5, abs=0.02)
    assert norm.weight.std().item() == pytest.approx(0.2, abs=0.01)
    assert norm.bias.mean().item() == pytest.approx(-0.3, abs=0.01)
    assert abs(torch.corrcoef(torch.stack([trained, norm.weight.detach()]))[0, 1]) < 0.05


def test_batchnorm_statistics_are_those_of_its_new_input(spare, images):
    copied = randomised_copy(spare, ["features.0", "features.1"], images, seed=0)
    seen = copied.features[0](images).detach()
    norm = copied.features[1]
    torch.testing.assert_close(norm.running_mean, seen.mean(dim=(0, 2, 3)))
    torch.testing.assert_close(norm.running_var, seen.var(dim=(0, 2, 3), unbiased=True), rtol=1e-4, atol=1e-5)
    assert not norm.training and norm.momentum == spare.features[1].momentum
    reestimate(copied, ["fc"], images)  # no BatchNorm among them: nothing happens
    torch.testing.assert_close(norm.running_mean, seen.mean(dim=(0, 2, 3)))


def test_random_classes_are_neither_p_nor_q():
    p = torch.tensor([0, 4, 2, 2, 1] * 40)
    q = torch.tensor([1, 0, 3, 2, 4] * 40)
    drawn = random_classes(p, q, 5, seed=0)
    assert ((drawn != p) & (drawn != q) & (drawn >= 0) & (drawn < 5)).all()
    assert len(set(drawn.tolist())) >= 3
    assert torch.equal(drawn, random_classes(p, q, 5, seed=0))
