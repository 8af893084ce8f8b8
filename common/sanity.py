"""The model-parameter randomisation test of saliency maps.

Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim, "Sanity Checks for Saliency
Maps", NeurIPS 2018. An explanation that depends on what the model learnt must
change when the learnt weights are destroyed. Cascading randomisation re-initialises
the layers with parameters from the output backwards, one more at each step, and
compares each step's maps with the trained model's by Spearman rank correlation;
maps that stay highly correlated explain the architecture or the input, not the model.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Sequence

import torch
from torch import nn

from .errors import BadModel
from .explainer import Explainer
from .metrics import rank_correlation
from .questions import Question


@dataclass(frozen=True)
class RandomisationStep:
    """After re-initialising ``layers`` (top first): rank correlation (N, Q) of every map with the trained one's."""

    layers: tuple[str, ...]
    correlation: torch.Tensor


def layers_from_top(model: nn.Module) -> list[str]:
    """Names of the modules that own parameters and can re-initialise them, the output end first."""
    names = [name for name, module in model.named_modules()
             if name and hasattr(module, "reset_parameters") and any(True for _ in module.parameters(recurse=False))]
    return names[::-1]


def cascading_randomisation(
    model: nn.Module,
    layer: str,
    x: torch.Tensor,
    questions: Question | Sequence[Question],
    *,
    depth: int = 2,
    seed: int = 0,
    method: str = "gradcam",
) -> list[RandomisationStep]:
    """Maps of ``questions`` on x after re-initialising the top 1, 2, ..., ``depth`` layers of a copy of ``model``.

    The questions are resolved on each model as given (pass explicit classes to ask
    the same question of every model). The model itself is never changed.
    """
    names = layers_from_top(model)
    if depth < 1 or depth > len(names):
        raise BadModel(f"depth must be between 1 and the {len(names)} layers with parameters; got {depth}")
    trained = Explainer(model, layer=layer, method=method)(x, questions).maps
    randomised = copy.deepcopy(model)
    modules = dict(randomised.named_modules())
    steps = []
    for count in range(1, depth + 1):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed + count)
            modules[names[count - 1]].reset_parameters()
        maps = Explainer(randomised, layer=layer, method=method)(x, questions).maps
        steps.append(RandomisationStep(tuple(names[:count]), rank_correlation(trained, maps)))
    return steps
