"""Uncertainty read from many contrasts at once: VOICE maps and GradTrust scores, from one all-Q pass.

``Rather.all()`` answers "Why P, rather than Q?" for every class Q in one forward pass and one
batched product through the head. Two later uses of those many contrasts by the same authors
come from that very pass, with no further gradient:

VOICE (Prabhushankar & AlRegib, "VOICE: Variance of Induced Contrastive Explanations to quantify
uncertainty in neural network interpretability", IEEE J-STSP 2024). With P the prediction, p the
softmax and t a probability threshold, the contrasts taken are

    S(x) = {Q : Q != P, p_Q(x) > t},   R = |S(x)|

and the uncertainty map is the pixel-wise variance of their maps,

    u(x)[i, j] = (1 / R) sum_{Q in S} (M_{P,Q}[i, j] - m[i, j])^2,   m = (1 / R) sum_{Q in S} M_{P,Q}

where M_{P,Q} is the *normalised* contrast map (each in [0, 1], ``ExplanationResult.maps``). The
normalised maps, as the paper and its code take them: a raw map's scale is the layer's
activation scale times the size of the question's gradient, so the variance of raw maps would
mostly measure *how much* each contrast speaks, dominated by a few loud ones, in units that
change with the layer and the model; normalised, it measures how much the contrasts disagree
on *where* the evidence lies, in units shared by every layer and model (0 <= u <= 1/4). The
variance is the population one (1 / R): it is defined for R = 1 (zero) and is the one whose
loop the tests write; the authors' code divides by R - 1 and then stretches the map to [0, 1],
which removes that factor. Here the map is not stretched, so inputs can be compared: an input
whose contrasts disagree more has the larger map. Fewer than two contrasts above t give a zero
map and a note. ``snr`` is the paper's signal-to-noise ratio of the map, mean(u) / std(u).

GradTrust (Prabhushankar & AlRegib, "Counterfactual gradients-based quantification of
prediction trust in neural networks", arXiv 2405.13758, MIPR 2024). The counterfactual gradient
of class Q is the change the network is asked for if the label were Q: the gradient of
CE(y, Q) = -log p_Q. Here it is taken where the one pass has it, at the explained layer A
(K channels), reduced to its channel weights (what Grad-CAM uses; exact and free for heads
``GAP -> linear``):

    a_Q = GAP(dCE(y, Q)/dA) in R^K

For the k most probable classes T (P first), each class's gradient energy is the variance over
the K channels of its squared gradient (the diagonal of a one-sample Fisher information), and
the score is the largest energy over the mean energy:

    e_Q = (1 / K) sum_k (a_{Q,k}^2 - mean_k a_{Q,k}^2)^2,    r(x) = max_{Q in T} e_Q / mean_{Q in T} e_Q

r lies in [1, k]: 1 when the top-k classes ask for changes of the same energy (no class stands
out; all-zero gradients included), k when one class's demand dominates. The ratio is the
authors' normalisation (their code: variance over features of the squared gradient, per class,
then max over mean); it is free of the gradients' scale and of the 1/K vs 1/(K-1) convention.
The authors take the gradients with respect to the last linear layer's weights W (dJ/dW = v g^T
for J's output gradient v and that layer's input g); here they are taken with respect to the
explained layer's activation, which is what the one pass gives (a_Q = W^T v / (h w) when the
head is ``GAP -> linear``).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Optional, Sequence

import torch

from .errors import BadInput
from .methods import Method
from .questions import Rather
from .results import ExplanationResult

DEFAULT_THRESHOLD = 0.01
DEFAULT_TOP_K = 5


@dataclass(eq=False)
class Uncertainty:
    """VOICE maps and GradTrust scores of N inputs, with the all-Q sweep they come from.

    result: the sweep, column Q answering "Why P, rather than Q?" (P the prediction, cross-entropy);
    voice: (N, H, W) VOICE maps (module docstring), not stretched; contrasts: (N, C) bool, the
    classes in each map's variance; gradients: (N, C, K) the counterfactual gradients a_Q at the
    layer; top: (N, k) the top-k classes, most probable first; trust: (N,) GradTrust scores r;
    notes: remarks for a reader (inputs with fewer than two contrasts above the threshold).
    """

    result: ExplanationResult
    voice: torch.Tensor
    contrasts: torch.Tensor
    gradients: torch.Tensor
    top: torch.Tensor
    trust: torch.Tensor
    threshold: float
    k: int
    notes: tuple[str, ...] = ()

    @property
    def snr(self) -> torch.Tensor:
        """(N,) the VOICE paper's signal-to-noise ratio of each map: mean / standard deviation (0 for a flat map)."""
        flat = self.voice.flatten(1).double()
        spread = flat.std(dim=1, unbiased=False)
        return torch.where(spread > 0, flat.mean(dim=1) / spread.where(spread > 0, 1.0), 0.0)

    def records(self, index: int) -> dict:
        """Input ``index``'s numbers in plain types, for a summary."""
        name = self.result.name_of
        used = self.contrasts[index].nonzero().flatten().tolist()
        return {
            "voice_contrasts": [name(q) for q in used],
            "voice_mean": float(self.voice[index].double().mean()),
            "voice_max": float(self.voice[index].max()),
            "voice_snr": float(self.snr[index]),
            "gradtrust": float(self.trust[index]),
            "gradtrust_classes": [name(q) for q in self.top[index].tolist()],
        }


def checked_threshold(threshold: object, name: str = "threshold") -> float:
    """``threshold`` as a float strictly between 0 and 1, else BadInput naming ``name``."""
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold < 1:
        raise BadInput(f"{name} must be a probability strictly between 0 and 1 (the VOICE map takes the classes "
                       f"more probable than it; {DEFAULT_THRESHOLD} is usual); got {threshold!r}")
    return float(threshold)


def checked_top_k(k: object, classes: Optional[int] = None, name: str = "k") -> int:
    """``k`` as an int from 2 to ``classes`` (when known), else BadInput naming ``name``."""
    whole = not isinstance(k, bool) and isinstance(k, int)
    if not whole or k < 2 or (classes is not None and k > classes):
        upper = f"the model's {classes} classes" if classes is not None else "the number of classes"
        raise BadInput(f"{name} must be a whole number from 2 to {upper} (GradTrust compares the k most "
                       f"probable classes); got {k!r}")
    return k


def voice_contrasts(probs: torch.Tensor, p: torch.Tensor, threshold: float) -> torch.Tensor:
    """(N, C) bool: the classes Q != P with p_Q > threshold. probs: (N, C); p: (N,) the predictions."""
    chosen = probs > threshold
    chosen[torch.arange(probs.shape[0], device=probs.device), p.to(probs.device)] = False
    return chosen


def voice_maps(maps: torch.Tensor, contrasts: torch.Tensor) -> torch.Tensor:
    """(N, H, W) population variance over the chosen columns of ``maps`` (N, C, H, W); zeros where R < 2."""
    weights = contrasts.to(device=maps.device, dtype=torch.float64)[:, :, None, None]
    count = weights.sum(dim=1).clamp(min=1)
    mean = (weights * maps).sum(dim=1) / count
    variance = (weights * (maps - mean[:, None]) ** 2).sum(dim=1) / count
    return torch.where(contrasts.sum(dim=1).to(maps.device)[:, None, None] >= 2, variance, 0.0).to(maps.dtype)


def gradtrust(gradients: torch.Tensor, probs: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """GradTrust scores (N,) and the top-k classes (N, k): gradients (N, C, K) a_Q, probs (N, C) (module docstring)."""
    top = probs.topk(k, dim=1).indices
    chosen = gradients.gather(1, top[:, :, None].expand(-1, -1, gradients.shape[2]).to(gradients.device))
    energy = chosen.double().pow(2).var(dim=2, unbiased=False)
    mean = energy.mean(dim=1)
    trust = torch.where(mean > 0, energy.amax(dim=1) / mean.where(mean > 0, 1.0), 1.0)
    return trust, top


def explain_uncertainty(
    explainer,
    x: torch.Tensor,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    k: Optional[int] = None,
    ids: Optional[Sequence[str]] = None,
    class_names: Sequence[str] = (),
) -> Uncertainty:
    """VOICE maps and GradTrust scores of a batch ``x`` from one ``Rather.all()`` pass of ``explainer``.

    threshold: VOICE's class probability threshold t, in (0, 1); k: GradTrust's number of
    classes, 2 to C (default: 5, or C when there are fewer). The explainer is not changed: a
    copy of it keeps the gradients its method is handed.
    """
    threshold = checked_threshold(threshold)
    if k is not None:
        checked_top_k(k)
    recording = copy.copy(explainer)
    recording.method = _Recording(explainer.method)
    result = recording(x, Rather.all(), ids=ids, class_names=class_names)
    probs = result.probs
    classes = probs.shape[1]
    k = checked_top_k(k if k is not None else min(DEFAULT_TOP_K, classes), classes)
    contrasts = voice_contrasts(probs, result.p[:, 0], threshold)
    gradients = torch.cat(recording.method.weights, dim=1)
    trust, top = gradtrust(gradients, probs, k)
    voice = voice_maps(result.maps, contrasts)
    notes = tuple(
        f"input {result.ids[n]}: {int(count)} class(es) other than P above probability {threshold:g}: the VOICE map "
        "needs two or more contrasts and is zero; lower the threshold to see one"
        for n, count in enumerate(contrasts.sum(dim=1).tolist()) if count < 2
    )
    return Uncertainty(result=result, voice=voice, contrasts=contrasts.cpu(), gradients=gradients, top=top.cpu(),
                       trust=trust.cpu(), threshold=threshold, k=k, notes=notes)


class _Recording(Method):
    """A method that answers as ``inner`` does and keeps, chunk by chunk in question order, the
    channel weights GAP(dJ/dA) (N, q, K) of the gradients it is handed."""

    def __init__(self, inner: Method):
        self.inner, self.name, self.source = inner, inner.name, inner.source
        self.weights: list[torch.Tensor] = []

    def raw_maps(self, grads: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        self.weights.append(grads.mean(dim=tuple(range(3, grads.dim()))))  # no copy of a broadcast view
        return self.inner.raw_maps(grads, source)
