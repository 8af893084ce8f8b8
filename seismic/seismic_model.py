"""A seismic model as a user brings it: weights, an architecture, a layer, class names, a patch size.

``load_seismic_model`` turns a ``ModelChoice`` (what ``--weights``, ``--model``,
``--model-kwargs``, ``--layer``, ``--classes`` and ``--patch`` say) into a
``SeismicModel``: the network in eval mode and everything explaining needs, checked
once on a blank patch. The network is built by the common loader
(``rather.common.load_model``): a factory read from a file runs only if it is one of
rather's own architectures.

What comes from where, the user's word first:

- class names: ``--classes a,b,c``, else the checkpoint's ``class_names``, else
  ``class_0 .. class_{C-1}``; their count must be the model's number of logits;
- patch size: ``--patch``, else the checkpoint's ``patch``, else 99 (LANDMASS-1);
- layer: ``--layer``, else the checkpoint's ``layer``, else ``features`` for
  rather's own networks; another model must name one.

A model is a patch classifier (logits (N, C) for patches (N, 1, S, S)) or a
segmentation network (per-pixel logits (N, C, S, S)); ``dense`` says which.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import torch
from torch import nn

from rather.common import BadInput, BadModel, load_model

from .options import ModelChoice

DEFAULT_PATCH = 99
"""LANDMASS-1's patch size: the patch of a model that records none."""
DEFAULT_LAYER = "features"
"""The explained layer of rather's own seismic networks (``SmallCNN``, ``SeismicUNet``)."""
SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}")
"""A class name that can be part of a file name (``rather_than_<name>.sgy``)."""


@dataclass(frozen=True, eq=False)
class SeismicModel:
    """A loaded seismic network and what explaining it needs.

    model: in eval mode; class_names: one per logit; patch: the square window it reads
    (samples); layer: the explained layer's dotted name; dense: per-pixel logits
    (segmentation) rather than one logit vector per patch; meta: the checkpoint's meta.
    """

    model: nn.Module
    class_names: tuple[str, ...]
    patch: int
    layer: str
    dense: bool
    meta: dict


def parse_classes(text: str) -> tuple[str, ...]:
    """``--classes a,b,c``: at least two distinct names, each usable in a file name."""
    names = tuple(name.strip() for name in text.split(","))
    check_class_names(names, "--classes")
    return names


def check_class_names(names: tuple[str, ...], where: str) -> None:
    """BadInput unless ``names`` are at least two distinct names of letters, digits and ``_.+-``."""
    if len(names) < 2:
        raise BadInput(f"{where} names {len(names)} class; give at least two, separated by commas (e.g. "
                       "horizon,fault)")
    for name in names:
        if not SAFE_NAME.fullmatch(name):
            raise BadInput(f"{where}: class name {name!r} is not a plain name; use letters, digits and _ . + - "
                           "(at most 64 characters), as it becomes part of output file names")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise BadInput(f"{where} names the class {repeated[0]!r} twice; give each class once")


def load_seismic_model(choice: ModelChoice, device: str = "cpu") -> SeismicModel:
    """The model ``choice`` describes, once it has read one blank patch and given logits for its classes."""
    weights = choice.weights
    model, meta = load_model(choice.factory, weights, kwargs=dict(choice.kwargs), device=device)
    patch = choice.patch or int(meta.get("patch", DEFAULT_PATCH))
    layer = choice.layer or meta.get("layer") or (DEFAULT_LAYER if choice.factory is None else None)
    if layer is None:
        raise BadModel(f"'{weights}' records no layer to explain; give one with --layer (a dotted module name of "
                       f"{choice.factory})")
    logits = _blank_logits(model, weights, patch, device)
    dense = logits.dim() == 4 and tuple(logits.shape[2:]) == (patch, patch)
    count = int(logits.shape[1]) if logits.dim() in (2, 4) and logits.shape[0] == 1 else 0
    names = _class_names(choice, meta, weights, count)
    if (logits.dim() == 4 and not dense) or logits.dim() not in (2, 4) or count != len(names):
        wanted = (f"{len(names)} logits ({', '.join(names)}), or per-pixel logits (1, {len(names)}, {patch}, "
                  f"{patch})")
        raise BadModel(f"'{weights}' gives {tuple(logits.shape)} for one patch, not {wanted}; give a seismic "
                       "classifier (rather seismic train) or say its classes with --classes")
    return SeismicModel(model, names, patch, layer, dense, meta)


def _blank_logits(model: nn.Module, weights: str, patch: int, device: str) -> torch.Tensor:
    """The model's output for one all-zero patch, as a tensor; BadModel when it does not run or gives no tensor."""
    try:
        with torch.no_grad():
            logits = model(torch.zeros(1, 1, patch, patch, device=device))
    except RuntimeError:
        raise BadModel(f"'{weights}' does not run on a one-channel patch of {patch} x {patch} samples (it takes "
                       "another number of channels, or larger patches); give a seismic classifier (rather seismic "
                       "train), or its patch size with --patch") from None
    if not isinstance(logits, torch.Tensor):
        raise BadModel(f"'{weights}' gives {type(logits).__name__} for one patch, not a tensor of logits; give a "
                       "seismic classifier (rather seismic train)")
    return logits


def _class_names(choice: ModelChoice, meta: dict, weights: str, count: int) -> tuple[str, ...]:
    """``--classes``, the checkpoint's names, or class_0.. for ``count`` logits."""
    if choice.classes is not None:
        return choice.classes
    recorded = meta.get("class_names")
    if recorded:
        names = tuple(recorded)
        check_class_names(names, f"the class names in '{weights}'")
        return names
    return tuple(f"class_{index}" for index in range(max(count, 2)))
