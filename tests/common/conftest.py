"""Fixtures of the core's tests: a model left exactly as it was."""
from contextlib import contextmanager

import pytest
import torch


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
