"""Questions asked of a prediction. Each one is a loss J on the model output.

The explanation never needs J itself, only its gradient with respect to the
output, ``v = dJ/dy``: by the chain rule ``dJ/dA = sum_c v_c dy_c/dA`` for any
layer A. So every question is a direction in output space, and many questions
are many directions pushed back through the network in one batched product.

For a classifier with logits y (N, C), softmax p and prediction P = argmax y:

============================  ====================  =======================
question                      J                     v = dJ/dy
============================  ====================  =======================
``Why(P)``                    y_P                   e_P
``WhatIfNot(P)``              -y_P                  -e_P
``Rather(Q)``                 CE(y, Q) = -log p_Q   p - e_Q
``Rather(Q, p=P)``            y_P - y_Q             e_P - e_Q
============================  ====================  =======================

``Rather(Q)`` is the paper's contrast (Prabhushankar et al., ICIP 2020): its
gradient ``p - e_Q`` tends to ``e_P - e_Q`` (evidence for P minus evidence for
Q) as the network grows confident in P. The cross-entropy has no P in it; when a
person names a P that is not the prediction, rather asks the two-class version
of the same question, the logit margin ``y_P - y_Q``.

For a regression output s (N,) or (N, 1), a quality score say:

============================  ====================  =======================
``Why()``                     s                     1
``WhatIfNot()``               -s                    -1
``ScoreRather(q)``            (s - q)^2             2 (s - q)
============================  ====================  =======================

Class arguments take an int (one question), a sequence of ints (one question
each, shared by the batch) or a 2-D integer tensor of shape (N, k) (k questions
with per-sample classes). ``ScoreRather`` takes floats the same way.

Dense outputs (segmentation): logits y (N, C, *S) hold one set of logits per pixel
(S = (H, W), or (D, H, W) for a volume). ``Why``, ``WhatIfNot`` and ``Rather`` then
take a region: a mask R of shape S or (N, *S), boolean or non-negative weights w, and
the loss is the weighted sum of the per-pixel losses, ``J = sum_i w_i J(y_i)``, so
``v_i = w_i dJ/dy_i``. Where the table's J names P, P is each pixel's own prediction
(argmax of y_i) unless ``p=`` names it. The result names, per question, the region's P
(its most frequent prediction, or the given p) and Q (``Rather()``: the class other
than P with the highest mean logit over the region). ``rather.common.regions``
makes the usual masks: a pixel, a box, the pixels predicted P, the border of two zones.

Each question column carries its ``Kind`` (``why``, ``whatifnot``, ``rather``,
``rather_margin``, ``score_rather``) and each result its ``Task`` (``class`` or
``score``): enums whose members are those very strings, as stores and summaries hold them.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from enum import Enum
from typing import Optional, Sequence, Union

import numpy as np
import torch
import torch.nn.functional as F

from .errors import BadQuestion

ClassSpec = Union[None, int, Sequence[int], torch.Tensor, np.ndarray]
ScoreSpec = Union[float, Sequence[float], torch.Tensor, np.ndarray]
RegionSpec = Union[None, torch.Tensor, np.ndarray]


class _Name(str, Enum):
    """A name from a closed set that is also its plain string: ``Kind.WHY == "why"``, ``f"{Kind.WHY}"`` is
    ``"why"``, and it hashes as the string, so files, JSON and dictionaries see only the string."""

    def __str__(self) -> str:
        return self.value

    __format__ = str.__format__
    __hash__ = str.__hash__


class Kind(_Name):
    """What a question asks, one per question column of a result. The values are written to stores
    and summaries: they never change."""

    WHY = "why"  # Why P? (a regression: Why s?)
    WHAT_IF_NOT = "whatifnot"  # What if not P?
    RATHER = "rather"  # Why P, rather than Q? (cross-entropy with target Q)
    RATHER_MARGIN = "rather_margin"  # the same with a P named by the user: the logit margin y_P - y_Q
    SCORE_RATHER = "score_rather"  # Why s, rather than q?


class Task(_Name):
    """What the model's output is: class logits (N, C) or a score per input (N,) / (N, 1)."""

    CLASS = "class"
    SCORE = "score"


def task_of(outputs: torch.Tensor) -> Task:
    """``Task.SCORE`` for outputs of shape (N,) or (N, 1), ``Task.CLASS`` for (N, C>1) (or dense (N, C>1, *S))."""
    return Task.SCORE if outputs.dim() == 1 or outputs.shape[1] == 1 else Task.CLASS


def question_title(kind: Kind, subject: str, contrast: str = "") -> str:
    """A question in words, the one place titles are made (results, figures, summaries).

    subject: P (a class name) or the score s, as text; contrast: Q or q, for the contrasts.
    ``Rather(Q)`` (cross-entropy) and ``Rather(Q, p=P)`` (the logit margin y_P - y_Q) ask
    different things, so the margin says so: 'Why cat, rather than dog? (margin)'.
    """
    if kind == Kind.WHY:
        return f"Why {subject}?"
    if kind == Kind.WHAT_IF_NOT:
        return f"What if not {subject}?"
    margin = " (margin)" if kind == Kind.RATHER_MARGIN else ""
    return f"Why {subject}, rather than {contrast}?{margin}"


@dataclass(frozen=True)
class Directions:
    """The questions of one batch, resolved against the model output.

    v: (N, Q, C) float, dJ/dy of each question ((N, Q, C, *S) for dense outputs); p, q: (N, Q) on the CPU, int64
    class indices (q = -1 where a question has no contrast) for a classifier,
    float64 scores (q = NaN where none) for a regression; kinds: one name per
    question column; notes: remarks a reader of the result should see.
    """

    v: torch.Tensor
    p: torch.Tensor
    q: torch.Tensor
    kinds: tuple[Kind, ...]
    notes: tuple[str, ...] = ()

    @staticmethod
    def cat(parts: Sequence["Directions"]) -> "Directions":
        notes = tuple(dict.fromkeys(n for d in parts for n in d.notes))
        return Directions(
            v=torch.cat([d.v for d in parts], dim=1),
            p=torch.cat([d.p for d in parts], dim=1),
            q=torch.cat([d.q for d in parts], dim=1),
            kinds=tuple(k for d in parts for k in d.kinds),
            notes=notes,
        )


class Question(abc.ABC):
    """A question about a prediction; subclasses turn it into directions."""

    kind: Kind
    tasks: tuple[Task, ...] = (Task.CLASS, Task.SCORE)

    def resolve(self, outputs: torch.Tensor) -> Directions:
        """Directions for outputs (N, C) of a classifier, (N, 1) of a regression, or dense logits (N, C, *S)."""
        if outputs.dim() > 2 and not hasattr(self, "region"):
            raise BadQuestion(f"{type(self).__name__} asks about one number per input, but the model's output is "
                              f"dense, {tuple(outputs.shape)}: ask Why(region=R), WhatIfNot(region=R) or "
                              "Rather(q, region=R)")
        weights = _region_weights(getattr(self, "region", None), outputs, type(self).__name__)
        task = task_of(outputs)
        if task not in self.tasks:
            if task == Task.SCORE:
                what, instead = "a regression output (one score per input)", "ScoreRather(q)"
            else:
                what, instead = f"a classifier with {outputs.shape[1]} outputs", "Rather(Q)"
            raise BadQuestion(f"{type(self).__name__} cannot be asked of {what}; use {instead} instead")
        if outputs.dim() <= 2:
            outputs = outputs.reshape(outputs.shape[0], -1)
        return self._resolve(outputs, task, weights)

    @abc.abstractmethod
    def _resolve(self, outputs: torch.Tensor, task: Task, weights: torch.Tensor) -> Directions:
        """Directions for outputs shaped (N, C) (C = 1 for a regression) or (N, C, *S), and the
        region's weights (N, *S) (ones (N,) for outputs that are not dense)."""

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if v is not None)
        return f"{type(self).__name__}({fields})"


def _as_columns(spec, n: int, name: str) -> torch.Tensor:
    """A spec as an (n, k) CPU tensor: scalar -> k = 1, sequence -> k = len, (n, k) tensor as is."""
    if isinstance(spec, (torch.Tensor, np.ndarray)):
        values = torch.as_tensor(spec).detach().cpu()
    else:
        items = [spec] if np.isscalar(spec) else list(spec)
        values = torch.tensor(items)
        if values.is_floating_point():
            values = torch.tensor(items, dtype=torch.float64)  # Python floats are doubles: keep q exactly
    if values.dim() == 2:
        if values.shape[0] != n:
            raise BadQuestion(
                f"{name} has {values.shape[0]} rows for a batch of {n} inputs; give one row per input, shape ({n}, k)"
            )
        return values
    if values.dim() > 2:
        raise BadQuestion(
            f"{name} must be a number, a list, or a tensor of shape (N, k); got shape {tuple(values.shape)}"
        )
    if values.numel() == 0:
        raise BadQuestion(f"{name} is empty; give at least one value")
    return values.reshape(1, -1).expand(n, -1)


def _classes(spec: ClassSpec, outputs: torch.Tensor, name: str) -> torch.Tensor:
    """Class indices (N, k) int64 from a spec, checked against C; None means the prediction (argmax)."""
    if spec is None:
        return outputs.argmax(dim=1, keepdim=True).cpu()
    indices = _as_columns(spec, outputs.shape[0], name)
    if indices.is_floating_point() or indices.dtype == torch.bool:
        raise BadQuestion(f"{name} must hold class indices (integers); got {indices.dtype}")
    n_classes = outputs.shape[1]
    bad = (indices < 0) | (indices >= n_classes)
    if bad.any():
        raise BadQuestion(
            f"{name}={int(indices[bad][0])} is out of range: the model has {n_classes} classes (0..{n_classes - 1})"
        )
    return indices.long()


def _one_hot(indices: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(N, k) indices -> (N, k, C) one-hot rows in like's dtype and device."""
    onehot = torch.zeros(*indices.shape, like.shape[1], dtype=like.dtype, device=like.device)
    return onehot.scatter_(2, indices.to(like.device).unsqueeze(2), 1.0)


def _no_contrast(shape: torch.Size, task: Task) -> torch.Tensor:
    if task == Task.CLASS:
        return torch.full(shape, -1, dtype=torch.long)
    return torch.full(shape, float("nan"), dtype=torch.float64)


def _region_weights(region: RegionSpec, outputs: torch.Tensor, asked: str) -> torch.Tensor:
    """The region's weights (N, *S) in the outputs' dtype and device; ones (N,) for outputs that are not dense."""
    n, shape = outputs.shape[0], tuple(outputs.shape)
    if outputs.dim() <= 2:
        if region is not None:
            raise BadQuestion(f"{asked}(region=...) asks about the pixels of a dense output (N, C, H, W); the model "
                              f"gives {shape}: leave region out")
        return torch.ones(n, dtype=outputs.dtype, device=outputs.device)
    pixels = shape[2:]
    if region is None:
        raise BadQuestion(f"the model's output is dense, {shape}: one set of logits per pixel; ask about a region, "
                          f"{asked}(region=R) with R a mask {pixels} (rather.common.regions makes the usual ones)")
    if shape[1] == 1:
        raise BadQuestion(f"the model's dense output has one channel, {shape}; give it two classes with "
                          "Explainer(..., output=lambda y: torch.cat([-y, y], dim=1)), then ask about a region")
    if not isinstance(region, (torch.Tensor, np.ndarray)):
        raise BadQuestion(f"region must be a mask tensor of shape {pixels} or {(n, *pixels)}; "
                          f"got {type(region).__name__}")
    weights = torch.as_tensor(region).detach()
    if tuple(weights.shape) not in (pixels, (n, *pixels)):
        raise BadQuestion(f"region has shape {tuple(weights.shape)}, but the output's pixels are {pixels} for "
                          f"{n} inputs: give a mask {pixels} or {(n, *pixels)}")
    if weights.is_complex():
        raise BadQuestion(f"region must be boolean or hold real weights; got {weights.dtype}")
    weights = weights.to(device=outputs.device, dtype=outputs.dtype).expand(n, *pixels)
    if not torch.isfinite(weights).all() or (weights < 0).any():
        raise BadQuestion("region weights must be finite and non-negative (0 outside the region)")
    empty = (weights.flatten(1).sum(dim=1) == 0).nonzero()
    if len(empty):
        raise BadQuestion(f"the region is empty for input {int(empty[0])}: no pixel has a positive weight")
    return weights


def _weighted(directions: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Directions (N, k, C, *S) times each pixel's weight; as they are for an output that is not dense
    (its weights are ones (N,))."""
    return directions if weights.dim() == 1 else directions * weights[:, None, None]


def _spread(rows: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Directions (N, k, C), the same at every pixel, times its weight: (N, k, C, *S)."""
    return _weighted(rows.reshape(*rows.shape, *(1,) * (weights.dim() - 1)), weights)


def _region_summary(outputs: torch.Tensor, weights: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per input and class, over the region: the weight of the pixels predicting it and the weighted mean
    logit, (N, C) each. Outputs that are not dense are one pixel of weight 1: the one-hot prediction and the logits."""
    predicted = F.one_hot(outputs.argmax(dim=1), outputs.shape[1]).movedim(-1, 1).to(weights.dtype)
    n, c = outputs.shape[:2]
    w = weights.reshape(n, 1, -1)
    votes = (predicted.reshape(n, c, -1) * w).sum(dim=2)
    mean_logits = (outputs.reshape(n, c, -1) * w).sum(dim=2) / w.sum(dim=2)
    return votes, mean_logits


class _Observed(Question):
    """Why P? (sign +1) and What if not P? (sign -1): v = sign * e_P (per pixel of a region: w_i sign e_P)."""

    sign = 1.0

    def __init__(self, p: ClassSpec = None, *, region: RegionSpec = None):
        self.p = p
        self.region = region

    def _resolve(self, outputs: torch.Tensor, task: Task, weights: torch.Tensor) -> Directions:
        n = outputs.shape[0]
        notes = ()
        if task == Task.SCORE:
            if self.p not in (None, 0):
                raise BadQuestion(f"{type(self).__name__}(p={self.p!r}): a regression has one output; leave p out")
            v = torch.full((n, 1, 1), self.sign, dtype=outputs.dtype, device=outputs.device)
            p = outputs.detach().double().cpu()
        elif self.p is None:  # each pixel's own prediction
            votes, _ = _region_summary(outputs.detach(), weights)
            p = votes.argmax(dim=1, keepdim=True).cpu()
            own = F.one_hot(outputs.detach().argmax(dim=1), outputs.shape[1]).movedim(-1, 1).to(outputs.dtype)
            v = self.sign * _weighted(own.unsqueeze(1), weights)
            if (votes.count_nonzero(dim=1) > 1).any():
                notes = ("over a region, P is each pixel's own prediction; the title names the most frequent",)
        else:
            p = _classes(self.p, outputs, "P")
            v = self.sign * _spread(_one_hot(p, outputs), weights)
        return Directions(v=v, p=p, q=_no_contrast(p.shape, task), kinds=(self.kind,) * p.shape[1], notes=notes)


class Why(_Observed):
    """Why P? Grad-CAM's question: J = y_P (P defaults to the prediction)."""

    kind = Kind.WHY


class WhatIfNot(_Observed):
    """What if not P? The counterfactual: J = -y_P, evidence whose removal would raise P."""

    kind = Kind.WHAT_IF_NOT
    sign = -1.0


class Rather(Question):
    """Why P, rather than Q? J = CE(y, Q); with an explicit P, the margin y_P - y_Q.

    ``q=None`` asks about the runner-up class (the best class other than P).
    ``Q == P`` is allowed: it asks why the network is not more confident in P.

    >>> Rather(3)          # why the prediction, rather than class 3?
    >>> Rather([3, 5])     # two questions
    >>> Rather()           # rather than the runner-up
    >>> Rather.top(5)      # the 5 most probable rivals of each input
    >>> Rather.all()       # every class as Q, from one forward pass
    >>> Rather(2, region=mask)   # a dense output: why this zone, rather than class 2?
    """

    kind = Kind.RATHER
    tasks = (Task.CLASS,)

    def __init__(self, q: ClassSpec = None, p: ClassSpec = None, *, every_class: bool = False,
                 top: Optional[int] = None, region: RegionSpec = None):
        if top is not None and (isinstance(top, bool) or not isinstance(top, (int, np.integer)) or top < 1):
            raise BadQuestion(f"Rather.top(k) takes a whole number of rivals k >= 1; got {top!r}")
        if top is not None and (q is not None or every_class):
            raise BadQuestion("Rather takes one of q, every_class or top: the contrasts named, all classes, "
                              "or the k most probable rivals")
        self.q = q
        self.p = p
        self.every_class = every_class
        self.rivals = None if top is None else int(top)
        self.region = region

    @classmethod
    def all(cls, p: ClassSpec = None, *, region: RegionSpec = None) -> "Rather":
        """Every class as the contrast Q, in class order."""
        return cls(p=p, every_class=True, region=region)

    @classmethod
    def top(cls, k: int, p: ClassSpec = None, *, region: RegionSpec = None) -> "Rather":
        """The k most probable classes other than P as the contrasts Q of each input, most probable first
        (over a region: the k classes of highest mean logit there)."""
        return cls(p=p, top=k, region=region)

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in (("p", self.p), ("region", self.region)) if v is not None)
        if self.every_class:
            return f"Rather.all({fields})"
        if self.rivals is not None:
            return f"Rather.top({', '.join(filter(None, (str(self.rivals), fields)))})"
        return super().__repr__()

    def _resolve(self, outputs: torch.Tensor, task: Task, weights: torch.Tensor) -> Directions:
        n, n_classes = outputs.shape[:2]
        votes, mean_logits = _region_summary(outputs.detach(), weights)
        p_col = _classes(self.p, votes, "P")
        if p_col.shape[1] != 1:
            raise BadQuestion(
                f"Rather takes one P per input: an int or a tensor of shape ({n}, 1); got {p_col.shape[1]} values"
            )
        if self.every_class:
            q = torch.arange(n_classes).expand(n, -1)
        elif self.q is None:
            q = _rivals(mean_logits, p_col, self.rivals or 1)
        else:
            q = _classes(self.q, outputs, "Q")
        p = p_col.expand_as(q)
        if self.p is None:
            probs = torch.softmax(outputs.detach(), dim=1)
            v = _weighted(probs.unsqueeze(1), weights) - _spread(_one_hot(q, outputs), weights)
            kind = self.kind
        else:
            v = _spread(_one_hot(p, outputs) - _one_hot(q, outputs), weights)
            kind = Kind.RATHER_MARGIN
        notes = ()
        if (p == q).any():
            notes = ("where Q == P the question is 'why not more confidently P?'",)
        return Directions(v=v, p=p.clone(), q=q.clone(), kinds=(kind,) * q.shape[1], notes=notes)


def _rivals(outputs: torch.Tensor, p: torch.Tensor, k: int) -> torch.Tensor:
    """(N, k) the k classes of highest output other than P (N, 1), highest first; on the CPU."""
    if k > outputs.shape[1] - 1:
        raise BadQuestion(f"Rather.top({k}) asks for {k} rivals, but the model has {outputs.shape[1]} classes: "
                          f"at most {outputs.shape[1] - 1} besides P")
    others = outputs.detach().clone()
    others.scatter_(1, p.to(outputs.device), float("-inf"))
    return others.topk(k, dim=1).indices.cpu()


class ScoreRather(Question):
    """Why the score s, rather than q? J = (s - q)^2, so v = 2 (s - q).

    For one scalar output the map is the Grad-CAM of s scaled by 2|s - q| when
    s > q, and the counterfactual map (What if not?) scaled likewise when s < q.

    >>> ScoreRather(0.75)
    >>> ScoreRather([0.5, 0.9])
    >>> ScoreRather(mos.reshape(-1, 1))   # per-input contrast, e.g. people's scores
    """

    kind = Kind.SCORE_RATHER
    tasks = (Task.SCORE,)

    def __init__(self, q: ScoreSpec):
        self.q = q

    def _resolve(self, outputs: torch.Tensor, task: Task, weights: torch.Tensor) -> Directions:
        n = outputs.shape[0]
        q = _as_columns(self.q, n, "q").double()
        if not torch.isfinite(q).all():
            raise BadQuestion("the contrast score q must be finite; got NaN or Inf")
        s = outputs.detach().double().cpu().expand_as(q)
        v = (2.0 * (s - q)).to(outputs.dtype).to(outputs.device).unsqueeze(2)
        return Directions(v=v, p=s.clone(), q=q.clone(), kinds=(self.kind,) * q.shape[1])


def resolve(questions: "Question | Sequence[Question]", outputs: torch.Tensor) -> Directions:
    """Resolve one question or a sequence of them (columns in the given order)."""
    if isinstance(questions, Question):
        questions = [questions]
    questions = list(questions)
    if not questions or not all(isinstance(item, Question) for item in questions):
        raise BadQuestion(
            "ask a question: Why(), WhatIfNot(), Rather(Q), Rather.all() or ScoreRather(q), "
            f"or a list of them; got {questions!r}"
        )
    return Directions.cat([item.resolve(outputs) for item in questions])
