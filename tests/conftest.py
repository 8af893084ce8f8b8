"""Small random networks shaped like the real ones, shared by the tests."""
from contextlib import contextmanager

import pytest
import torch
from torch import nn

from rather.common.networks import ResNetLike, VGGLike


def randomise_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Give every BatchNorm non-trivial running statistics and affine parameters."""
    generator = torch.Generator().manual_seed(seed)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            size = module.num_features
            module.running_mean.copy_(0.1 * torch.randn(size, generator=generator))
            module.running_var.copy_(0.5 + torch.rand(size, generator=generator))
            module.weight.data.copy_(1 + 0.2 * torch.randn(size, generator=generator))
            module.bias.data.copy_(0.1 * torch.randn(size, generator=generator))
    return model


def make_resnet(num_classes: int = 10, seed: int = 0) -> ResNetLike:
    torch.manual_seed(seed)
    model = ResNetLike(blocks=(1, 1), widths=(8, 16), num_classes=num_classes, bottleneck=False, stem=8)
    with torch.no_grad():
        model.fc.weight.mul_(8.0)  # confident predictions, as a trained network makes
    return randomise_batchnorm(model, seed).eval()


def make_vgg(num_classes: int = 10, seed: int = 0) -> VGGLike:
    torch.manual_seed(seed)
    return VGGLike(config=(8, "M", 16, "M", 16, 16), num_classes=num_classes, hidden=32, pooled=2).eval()


@pytest.fixture
def resnet():
    """ResNet-style (GAP + linear head), 10 classes; explain at 'layer2' (16 x 4 x 4 for 32 x 32 inputs)."""
    return make_resnet()


@pytest.fixture
def vgg():
    """VGG-style (flatten + FC stack head), 10 classes; explain at 'features.7' (16 x 8 x 8)."""
    return make_vgg()


@pytest.fixture
def regression():
    """ResNet-style network with one output: a score."""
    return make_resnet(num_classes=1, seed=3)


@pytest.fixture
def images():
    return torch.randn(3, 3, 32, 32, generator=torch.Generator().manual_seed(7))


# A model left exactly as it was: what explaining must guarantee.

def snapshot(model):
    """Everything of a model that explaining must not change."""
    return {
        "state": {name: tensor.clone() for name, tensor in model.state_dict().items()},
        "requires_grad": [param.requires_grad for param in model.parameters()],
        "training": [module.training for module in model.modules()],
        "hooks": sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks) for m in model.modules()),
        "grads": [param.grad for param in model.parameters()],
    }


@contextmanager
def left_untouched(model):
    """Asserts on leaving (also when the block raised an expected error) that ``model`` is as it was."""
    before = snapshot(model)
    try:
        yield
    finally:
        after = snapshot(model)
        assert after["requires_grad"] == before["requires_grad"]
        assert after["training"] == before["training"]
        assert after["hooks"] == before["hooks"]
        assert all(grad is None for grad in after["grads"])
        for name, tensor in before["state"].items():
            assert torch.equal(after["state"][name], tensor), name


@pytest.fixture
def untouched():
    """``with untouched(model): ...`` fails unless the model's parameters, buffers, modes and hooks are unchanged."""
    return left_untouched
