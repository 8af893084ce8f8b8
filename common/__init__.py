"""rather.common: the contrastive gradient core.

>>> from rather.common import Explainer, Why, Rather
>>> res = Explainer(model, layer="layer4")(x, [Why(), Rather()])
"""
from ._version import __version__
from .errors import BadInput, BadModel, BadQuestion, RatherError
from .explainer import Explainer
from .methods import METHODS, Method
from .models import load_model, model_checksum, save_checkpoint
from .questions import Kind, Question, Rather, ScoreRather, Task, WhatIfNot, Why
from .results import ExplanationResult, load

__all__ = [
    "__version__",
    "BadInput", "BadModel", "BadQuestion", "RatherError",
    "Explainer", "ExplanationResult", "load",
    "Question", "Why", "WhatIfNot", "Rather", "ScoreRather", "Kind", "Task",
    "METHODS", "Method",
    "load_model", "model_checksum", "save_checkpoint",
]
