"""Sanity checks of saliency maps: do the maps depend on what the model learnt, and on the class asked about?

Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, "Sanity Checks for Saliency Maps",
NeurIPS 2018. An explanation that depends on what the model learnt must change when the
learnt weights are destroyed; maps that stay highly rank-correlated with the trained
model's explain the architecture or the input, not the model.

- **Cascading randomisation** (``cascade``): the layers with parameters, ordered as the
  forward pass runs them, are re-drawn from the top (the output end) down through the
  whole network, one more group at each step, cumulatively.
- **Independent randomisation** (``independent``): each group alone is re-drawn, every
  other layer keeping its trained weights.
- **Random logit** (``random_logit``): the same questions about a random other class R
  (Why R? rather than Why P?; Why R, rather than Q? rather than Why P, rather than Q?);
  maps that barely change ignore the class they are asked about.

Every step reports Spearman's rank correlation of each map with the trained model's
(``rank_correlation``): 1 means unchanged; a step that re-draws nothing gives exactly 1.

How a layer is re-drawn (``redraw``), from its initialisation distribution where it has a
real one: a layer with ``reset_parameters`` (convolutions, linear layers, ...) calls it,
so its weights come from the distribution PyTorch initialises it with (Kaiming-uniform
for convolutions and linear layers). A normalisation layer (BatchNorm, InstanceNorm,
LayerNorm, GroupNorm) initialises its affine parameters to the constants 1 and 0, which
would turn it into a plain standardisation rather than a random one; so its weight and
bias are drawn from normal distributions with the trained weight's and bias's own mean
and standard deviation over the channels (its scale kept, what each channel learnt lost).
A BatchNorm's running mean and variance are statistics of its input, not learnt weights:
after each re-draw they are re-estimated on the check's own inputs, in one forward pass
of the randomised model (so the layer normalises the activations it now receives rather
than those of the trained network). Any other parameter is drawn from a normal with its
trained mean and standard deviation.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional, Sequence

import torch
from torch import nn

from .errors import BadModel
from .explainer import Explainer
from .metrics import rank_correlation
from .questions import Question

NORMALISATIONS = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)
"""Layers whose initialisation (weight 1, bias 0) is not random: their affine parameters are drawn from the
trained values' mean and spread instead."""


@dataclass(frozen=True)
class RandomisationStep:
    """After re-drawing ``layers`` (this step's group; a cascade's earlier groups stay re-drawn): rank
    correlation (N, Q) of every map with the trained model's."""

    layers: tuple[str, ...]
    correlation: torch.Tensor


def layers_from_top(model: nn.Module, x: Optional[torch.Tensor] = None) -> list[str]:
    """Names of the modules that own parameters, the output end first: in the order a forward pass on ``x``
    runs them (reversed), or, without ``x``, in the order the model registers them (reversed). A module the
    forward pass never runs is left out (re-drawing it could not change a map)."""
    owners = [name for name, module in model.named_modules()
              if name and any(True for _ in module.parameters(recurse=False))]
    if x is None:
        return owners[::-1]
    modules = dict(model.named_modules())
    order: list[str] = []
    hooks = [modules[name].register_forward_pre_hook(lambda module, args, name=name: order.append(name))
             for name in owners]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for hook in hooks:
            hook.remove()
    return list(dict.fromkeys(order))[::-1]


def groups_of(names: Sequence[str], steps: Optional[int]) -> list[tuple[str, ...]]:
    """``names`` in at most ``steps`` contiguous groups of near-equal size (None: one group per name)."""
    if steps is None or steps >= len(names):
        return [(name,) for name in names]
    if steps < 1:
        raise BadModel(f"the sanity check needs at least one step; got {steps}")
    bounds = [round(index * len(names) / steps) for index in range(steps + 1)]
    return [tuple(names[start:end]) for start, end in zip(bounds, bounds[1:])]


def redraw(module: nn.Module, generator: torch.Generator) -> None:
    """Re-draw ``module``'s own parameters as the module docstring says (running statistics are re-estimated
    by ``reestimate``)."""
    with torch.no_grad():
        if isinstance(module, NORMALISATIONS) or not hasattr(module, "reset_parameters"):
            for parameter in module.parameters(recurse=False):
                values = parameter.detach().double().cpu()
                spread = values.std() if values.numel() > 1 else torch.zeros((), dtype=torch.float64)
                noise = torch.randn(parameter.shape, generator=generator, dtype=torch.float64)
                parameter.copy_((values.mean() + spread * noise).to(parameter))
        else:
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
                module.reset_parameters()


@torch.no_grad()
def reestimate(model: nn.Module, names: Sequence[str], x: torch.Tensor) -> None:
    """Running mean and variance of the BatchNorm layers among ``names``, measured on ``x`` (one forward pass,
    those layers in training mode with a cumulative average; the model is left in eval mode)."""
    modules = dict(model.named_modules())
    norms = [modules[name] for name in names if isinstance(modules[name], nn.modules.batchnorm._BatchNorm)
             and modules[name].track_running_stats]
    if not norms:
        return
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None
        norm.train()
    try:
        model(x)
    finally:
        for norm, momentum in zip(norms, momenta):
            norm.momentum = momentum
            norm.eval()


def randomised_copy(model: nn.Module, names: Sequence[str], x: torch.Tensor, seed: int) -> nn.Module:
    """A copy of ``model`` with the layers ``names`` re-drawn (seeded), BatchNorm statistics re-estimated on x."""
    copied = copy.deepcopy(model).eval()
    modules = dict(copied.named_modules())
    generator = torch.Generator().manual_seed(seed)
    for name in names:
        redraw(modules[name], generator)
    reestimate(copied, names, x)
    return copied


def _explain(model: nn.Module, layer: str, x: torch.Tensor, questions, method: str) -> torch.Tensor:
    return Explainer(model, layer=layer, method=method)(x, questions).maps


def _steps(model, layer, x, questions, groups, cumulative, seed, method) -> list[RandomisationStep]:
    """The maps after each group is re-drawn (on top of the earlier ones when ``cumulative``), compared."""
    trained = _explain(model, layer, x, questions, method)
    steps = []
    for number, group in enumerate(groups):
        names = [name for earlier in groups[:number + 1] for name in earlier] if cumulative else list(group)
        maps = _explain(randomised_copy(model, names, x, seed + number), layer, x, questions, method)
        steps.append(RandomisationStep(tuple(group), rank_correlation(trained, maps)))
    return steps


def _groups(model: nn.Module, x: torch.Tensor, steps: Optional[int], layers: Optional[Sequence[str]]):
    names = layers_from_top(model, x) if layers is None else list(layers)
    if not names:
        raise BadModel("the model has no layer with parameters to re-draw; the sanity check needs one")
    return groups_of(names, steps)


def cascade(model: nn.Module, layer: str, x: torch.Tensor, questions: Question | Sequence[Question], *,
            steps: Optional[int] = None, layers: Optional[Sequence[str]] = None, seed: int = 0,
            method: str = "gradcam") -> list[RandomisationStep]:
    """Cascading randomisation from the top through the whole network (see the module docstring).

    ``layers``: the layers to re-draw, top first (default: every layer with parameters, ``layers_from_top``
    on ``x``); ``steps``: at most this many steps, the layers in contiguous groups (default: one per layer).
    The questions are resolved on each model as given: pass explicit classes to ask the same question of every
    model. ``model`` itself is never changed.
    """
    return _steps(model, layer, x, questions, _groups(model, x, steps, layers), True, seed, method)


def independent(model: nn.Module, layer: str, x: torch.Tensor, questions: Question | Sequence[Question], *,
                steps: Optional[int] = None, layers: Optional[Sequence[str]] = None, seed: int = 0,
                method: str = "gradcam") -> list[RandomisationStep]:
    """Independent randomisation: each group of ``cascade``'s re-drawn alone, the rest trained."""
    return _steps(model, layer, x, questions, _groups(model, x, steps, layers), False, seed, method)


def random_classes(p: torch.Tensor, q: torch.Tensor, classes: int, seed: int) -> torch.Tensor:
    """(N,) a class drawn at random for each image, other than its p and q (when there are such classes)."""
    if classes < 3:
        raise BadModel(f"the random-logit check needs at least 3 classes (P, Q and another); the model has {classes}")
    generator = torch.Generator().manual_seed(seed)
    drawn = torch.randint(classes - 2, (len(p),), generator=generator)
    low, high = torch.minimum(p, q), torch.maximum(p, q)
    drawn = drawn + (drawn >= low).long()  # skip the smaller of p and q, then the larger
    return drawn + (drawn >= high).long()


def random_logit(model: nn.Module, layer: str, x: torch.Tensor, asked: Sequence[Question],
                 random: Sequence[Question], method: str = "gradcam") -> torch.Tensor:
    """(N, Q) rank correlation of the maps of the questions ``asked`` with those of the same questions about a
    random other class (``random``, one per asked question, in order)."""
    explainer = Explainer(model, layer=layer, method=method)
    return rank_correlation(explainer(x, list(asked)).maps, explainer(x, list(random)).maps)
