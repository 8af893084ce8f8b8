"""Finding a layer, capturing its activation, and leaving the model as it was.

The explanation needs dJ/dA only, and only the part of the network after the
layer A (the head) lies between A and J. So the capture swaps the layer's output
at the chosen call for a fresh leaf that requires grad, while every parameter is
frozen: the trunk before A builds no autograd graph, the head builds the only
one, and no parameter gradient is ever computed.
"""
from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Iterator, Optional, Union

import torch
from torch import nn

from .errors import BadModel


def find_layer(model: nn.Module, layer: Union[str, nn.Module]) -> tuple[str, nn.Module]:
    """The (dotted name, module) of ``layer``, given by name or as the module itself."""
    if isinstance(layer, nn.Module):
        for name, module in model.named_modules():
            if module is layer:
                return name, module
        raise BadModel(
            f"the module given as layer ({type(layer).__name__}) is not part of the model "
            f"{type(model).__name__}; pass one of its submodules or its dotted name"
        )
    modules = dict(model.named_modules())
    if layer in modules and layer:
        return layer, modules[layer]
    names = [name for name in modules if name]
    close = difflib.get_close_matches(str(layer), names, n=5, cutoff=0.5)
    hint = f"close matches: {', '.join(close)}" if close else f"layers include: {', '.join(names[-5:])}"
    raise BadModel(
        f"layer '{layer}' not found in {type(model).__name__}; {hint} "
        "(all names: [n for n, _ in model.named_modules()])"
    )


@contextmanager
def explaining(model: nn.Module) -> Iterator[bool]:
    """Eval mode and frozen parameters inside; the model exactly as before afterwards.

    Yields whether any module was in train mode. Restores every module's mode
    and every parameter's ``requires_grad``, also when an error is raised.
    """
    modes = [(module, module.training) for module in model.modules()]
    flags = [(param, param.requires_grad) for param in model.parameters()]
    try:
        model.eval()
        for param, _ in flags:
            param.requires_grad_(False)
        yield any(mode for _, mode in modes)
    finally:
        for module, mode in modes:
            module.training = mode
        for param, flag in flags:
            param.requires_grad_(flag)


class ActivationCapture:
    """Forward hook that captures the ``call``-th output of a module as a leaf A.

    A module that runs several times in one forward (a trunk shared by the
    distorted and reference inputs of a full-reference IQA network) has one
    activation per call; ``call`` picks which one is explained. The downstream
    network receives a clone of A, so in-place operations after the layer
    (``ReLU(inplace=True)``) cannot change the captured values.

    >>> with ActivationCapture(model.layer4) as capture:
    ...     y = model(x)
    >>> capture.activation.shape   # (N, K, h, w), requires grad
    """

    def __init__(self, module: nn.Module, call: int = 0, name: str = "", *, tokens: bool = False):
        self.module = module
        self.call = call
        self.name = name or type(module).__name__
        self.tokens = tokens  # any layout (laid out on a grid later): (N, T, D) tokens, (N, H, W, D), ...
        self.calls = 0
        self.activation: Optional[torch.Tensor] = None
        self._handle = None

    def __enter__(self) -> "ActivationCapture":
        self._handle = self.module.register_forward_hook(self._hook)
        return self

    def __exit__(self, *exc) -> None:
        self._handle.remove()

    def _hook(self, module: nn.Module, inputs, output):
        index = self.calls
        self.calls += 1
        if index != self.call:
            return None
        if not isinstance(output, torch.Tensor) or not output.is_floating_point():
            raise BadModel(f"layer '{self.name}' gives {type(output).__name__}; maps need a floating activation "
                           "tensor: pick a layer that returns one")
        if output.dim() == 3 and not self.tokens:
            raise BadModel(
                f"layer '{self.name}' gives tokens of shape {tuple(output.shape)} (N, T, D) that form no grid; pass "
                "Explainer(..., reshape='auto') (a square grid, after a class token or not) or reshape=callable "
                "that makes (N, D, h, w)"
            )
        if output.dim() not in (4, 5) and not self.tokens:
            raise BadModel(
                f"layer '{self.name}' gives shape {tuple(output.shape)}; maps need a floating activation of shape "
                "(N, K, h, w) (or (N, K, d, h, w) for volumes): pick a convolutional layer"
            )
        leaf = output.detach().requires_grad_(True)
        self.activation = leaf
        return leaf.clone()

    def checked_activation(self) -> torch.Tensor:
        """The captured activation, or a clear error when the call never happened."""
        if self.activation is None:
            if self.calls == 0:
                raise BadModel(f"layer '{self.name}' did not run in the forward pass; pick a layer the model uses")
            raise BadModel(
                f"layer '{self.name}' ran {self.calls} time(s) in one forward pass; call={self.call} "
                f"does not exist (use 0..{self.calls - 1})"
            )
        return self.activation


class LastLinearProbe:
    """Records the ``nn.Linear`` calls of a forward that analytic heads (``gradients``) start from.

    ``last``: (module, output) of the last call, the candidate for GAP + linear.
    ``first``: (module, input, output) of the first call whose input carries a gradient, i.e.
    the first Linear fed by the explained activation (everything before the layer is built
    without a graph). Its output goes on to the model as a clone, so that an in-place
    operation after it (``ReLU(inplace=True)``) leaves the recorded output z as the Linear made it.
    """

    def __init__(self, model: nn.Module, enabled: bool = True):
        self.linears = [m for m in model.modules() if isinstance(m, nn.Linear)] if enabled else []
        self.last: Optional[tuple[nn.Linear, torch.Tensor]] = None
        self.first: Optional[tuple[nn.Linear, torch.Tensor, torch.Tensor]] = None
        self._handles: list = []

    def __enter__(self) -> "LastLinearProbe":
        self._handles = [m.register_forward_hook(self._hook) for m in self.linears]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()

    def _hook(self, module: nn.Linear, inputs, output) -> Optional[torch.Tensor]:
        self.last = (module, output)
        if self.first is None and inputs and isinstance(inputs[0], torch.Tensor) and inputs[0].requires_grad:
            self.first = (module, inputs[0], output)
            return output.clone()
        return None
