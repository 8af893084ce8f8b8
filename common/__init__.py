"""rather.common: the contrastive gradient core.

>>> from rather.common import Explainer, Why, Rather
>>> res = Explainer(model, layer="layer4")(x, [Why(), Rather()])

The errors and the version are imported with the package; every other name is imported
on first use (PEP 562 ``__getattr__``), so a module that needs only ``rather.common.errors``
or ``rather.common.storage`` (the ``rather`` command building its help, say) does not pay
for torch.
"""
from importlib import import_module

from ._version import __version__
from .errors import BadInput, BadModel, BadQuestion, RatherError

_LAZY = {  # public name -> the module of this package that defines it
    "Explainer": "explainer",
    "METHODS": "methods", "Method": "methods",
    "load_model": "models", "model_checksum": "models", "save_checkpoint": "models",
    "Question": "questions", "Why": "questions", "WhatIfNot": "questions", "Rather": "questions",
    "ScoreRather": "questions", "Kind": "questions", "Task": "questions",
    "ExplanationResult": "results", "load": "results",
    "pixel": "regions", "box": "regions", "predicted": "regions", "border": "regions", "square_grid": "tokens",
}

__all__ = ["__version__", "BadInput", "BadModel", "BadQuestion", "RatherError", *_LAZY]


def __getattr__(name: str):
    """Import the module that defines ``name`` on first use, and keep the name here."""
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
