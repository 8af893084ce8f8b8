"""dJ/dA for many questions at once.

Every question is a direction v in output space (see ``questions``), and
``dJ/dA = v^T dy/dA`` is a vector-Jacobian product. All questions of a batch go
back through the head in one batched product (``is_grads_batched``: the backward
graph is vmapped over the directions), in chunks whose size bounds memory.

Heads of the form ``A -> global average pool -> linear(W, b)`` need no backward
pass: ``dy_c/dA_k(i, j) = W[c, k] / (h w)`` at every position, so
``dJ/dA_k(i, j) = (v^T W)_k / (h w)``. That closed form is used only after it is
verified on the very input being explained: one autograd product with a random
direction r must equal ``r^T W / (h w)`` at every position (a difference in the
Jacobian survives a random r with probability one).

Heads that flatten the activation into a first ``Linear`` (VGG: A -> max-pool ->
flatten -> z = W f + b -> the rest of the head) give Grad-CAM, which needs only
the mean of dJ/dA over positions, almost as cheaply. When every flattened cell f_km
of channel k is a pooling of channel k of A whose weights sum to one (identity,
an average pool without padding, a max-pool of any shape), ``sum_ij dJ/dA_kij = sum_m dJ/df_km``, hence
``alpha_k = (1 / hw) sum_u (dJ/dz_u) S[u, k]`` with ``S[u, k] = sum_m W[u, k M + m]``
(``ChannelSums``). The questions then go back from y to z only, through the rest of
the head, never through W or the pooling. The identity is verified like the closed
form above: on the very input, for a random r, the autograd mean of dJ/dA must equal
``(dJ/dz) S / (hw)``; otherwise the full autograd path is taken.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Optional

import torch

from .capture import LastLinearProbe
from .errors import BadModel

_UNUSED = "appears to not have been used in the graph"


@dataclass(frozen=True)
class AnalyticHead:
    """A head whose channel means of dJ/dA are ``back(v) @ weights``, with no backward pass down to A.

    name: the gradient path recorded in results; constant: dJ/dA is the same at every
    position (GAP + linear), so it is the whole gradient and every method may use it;
    otherwise only its mean over positions is known, enough for Grad-CAM's form
    (``Method.mean_gradient``). back: directions (N, q, C) -> (N, q, D), the questions where
    the closed form starts (the outputs themselves, or a Linear's output); weights: (D, K),
    1 / (h w) included.
    """

    name: str
    constant: bool
    back: Callable[[torch.Tensor], torch.Tensor]
    weights: torch.Tensor

    def channel_means(self, block: torch.Tensor) -> torch.Tensor:
        """(N, q, C) directions -> (N, q, K) means of dJ/dA over positions."""
        return self.back(block) @ self.weights

    def unit_maps(self, activation: torch.Tensor) -> torch.Tensor:
        """(N, K, *positions) -> (N, D, *positions): ``sum_k weights[d, k] A_k``, one map per unit d.

        Grad-CAM is linear in the channel means: ``sum_k alpha_k A_k = sum_d back(v)_d M_d``
        with these maps M (the class activation maps of CAM when D is the classes).
        """
        return (self.weights @ activation.flatten(2)).unflatten(-1, activation.shape[2:])

    def folding_pays(self, questions: int, activation: torch.Tensor) -> bool:
        """Whether the unit maps cost fewer products than the channel means for ``questions`` questions."""
        (units, channels), positions = self.weights.shape, activation[0, 0].numel()
        direct = questions * units * channels + questions * channels * positions
        return units * channels * positions + questions * units * positions < direct


class ChannelSums:
    """``S[u, k] = sum_m W[u, k M + m]`` of a Linear's weight W (U, K M): kept until the weight changes.

    One per explainer. The sums are made again when the weight is another tensor, is
    changed in place (its version counter), moves (device, dtype, storage) or when the
    activation has another number of channels K; a stale sum would still be caught by
    the check on the input.
    """

    def __init__(self) -> None:
        self._weight: Optional[torch.Tensor] = None
        self._key: tuple = ()
        self._sums: Optional[torch.Tensor] = None

    def __call__(self, weight: torch.Tensor, channels: int) -> torch.Tensor:
        key = (weight._version, weight.data_ptr(), weight.device, weight.dtype, channels)
        if weight is not self._weight or key != self._key:
            self._sums = weight.detach().reshape(weight.shape[0], channels, -1).sum(dim=-1)
            self._weight, self._key = weight, key
        return self._sums


def analytic_head(
    probe: LastLinearProbe, activation: torch.Tensor, outputs: torch.Tensor, sums: ChannelSums, mean_only: bool
) -> Optional[AnalyticHead]:
    """The cheapest analytic head that holds on this input, or None (full autograd).

    ``mean_only``: the method needs only the mean of dJ/dA over positions, so a head
    that gives no more (``first_linear_head``) is acceptable.
    """
    head = gap_linear_head(probe, activation, outputs)
    if head is None and mean_only:
        head = first_linear_head(probe, activation, outputs, sums)
    return head


def gap_linear_head(
    probe: LastLinearProbe, activation: torch.Tensor, outputs: torch.Tensor
) -> Optional[AnalyticHead]:
    """dJ/dA = v^T W / (h w) at every position when y = linear(GAP(A)) holds here, else None.

    activation: (N, K, h, w) leaf; outputs: (N, C) with a graph back to it.
    """
    if probe.last is None:
        return None
    linear, linear_output = probe.last
    k, positions = activation.shape[1], activation[0, 0].numel()
    if tuple(linear.weight.shape) != (outputs.shape[1], k) or linear_output.numel() != outputs.numel():
        return None
    jacobian = linear.weight.detach().to(outputs.dtype) / positions
    direction = _random_direction(outputs)
    try:
        (autograd_grad,) = torch.autograd.grad(outputs, activation, direction, retain_graph=True)
    except RuntimeError:
        return None
    closed_form = (direction @ jacobian).reshape(*autograd_grad.shape[:2], *[1] * (activation.dim() - 2))
    if not _agrees(autograd_grad, closed_form.expand_as(autograd_grad)):
        return None
    return AnalyticHead("analytic", True, lambda block: block, jacobian)


def first_linear_head(
    probe: LastLinearProbe, activation: torch.Tensor, outputs: torch.Tensor, sums: ChannelSums
) -> Optional[AnalyticHead]:
    """GAP(dJ/dA) = (dJ/dz) S / (h w) when the first Linear fed by A reads it flattened (and pooled), else None.

    z is that Linear's output (N, U); the questions go back from ``outputs`` to z only.
    """
    if probe.first is None:
        return None
    linear, linear_input, z = probe.first
    n, k = activation.shape[:2]
    positions = activation[0, 0].numel()
    if linear_input.shape != (n, linear.in_features) or linear.in_features % k:
        return None
    channel_sums = sums(linear.weight, k).to(z.dtype)
    direction = _random_direction(outputs)
    try:
        at_layer, at_linear = torch.autograd.grad(outputs, (activation, z), direction, retain_graph=True)
    except RuntimeError:  # z or A unused by the outputs
        return None
    if not _agrees(at_layer.flatten(2).mean(dim=-1), at_linear @ channel_sums / positions):
        return None

    def back(block: torch.Tensor) -> torch.Tensor:
        return _batched_vjp(outputs, z, block.transpose(0, 1), "the head's first linear layer").transpose(0, 1)

    return AnalyticHead("first-linear", False, back, channel_sums / positions)


def _random_direction(outputs: torch.Tensor) -> torch.Tensor:
    """A fixed random direction at the outputs, the same on every device."""
    generator = torch.Generator().manual_seed(20200800)
    return torch.randn(outputs.shape, generator=generator, dtype=torch.float64).to(outputs)


def _agrees(autograd_value: torch.Tensor, closed_form: torch.Tensor) -> bool:
    """Equal within float rounding, relative to the closed form's largest value."""
    scale = float(closed_form.abs().max()) if closed_form.numel() else 0.0
    return torch.allclose(autograd_value, closed_form, rtol=1e-4, atol=1e-5 * scale + 1e-30)


def _batched_vjp(
    outputs: torch.Tensor, source: torch.Tensor, directions: torch.Tensor, source_name: str
) -> torch.Tensor:
    """(q, N, *S) gradients of the q directions (q, N, C); vmapped, else one by one."""
    try:
        return torch.autograd.grad(outputs, source, directions, retain_graph=True, is_grads_batched=True)[0]
    except RuntimeError as error:
        if _UNUSED in str(error):
            raise BadModel(
                f"no gradient path from the model's output to {source_name}: the output does not depend on it; "
                "pick a layer the output is computed from"
            ) from None
        # Some operations (custom autograd Functions, say) have no batching rule.
        return torch.stack([
            torch.autograd.grad(outputs, source, direction, retain_graph=True)[0] for direction in directions
        ])


def gradient_chunks(
    outputs: torch.Tensor,
    source: torch.Tensor,
    v: torch.Tensor,
    chunk: int,
    source_name: str,
    head: Optional[AnalyticHead] = None,
    fold: bool = False,
) -> Iterator[tuple[int, torch.Tensor, torch.Tensor]]:
    """Yield ``(start, dJ/dsource, source)`` for questions ``start : start + chunk``, for ``Method.raw_maps``.

    outputs: (N, C); source: (N, K, *positions) leaf; v: (N, Q, C) directions.
    The gradients have shape (N, q, K, *positions). From an analytic ``head`` they are
    its channel means as a broadcast view, constant over positions: the gradient itself
    for a constant head, a stand-in with the right means (all a mean-only method reads)
    otherwise. ``fold``: the method is Grad-CAM's form, so where it pays the head's linear
    map is folded into the source (``AnalyticHead.unit_maps``): the pairs are then
    (back(v), unit maps), which give the same maps.
    """
    n_questions = v.shape[1]
    directions = v.transpose(0, 1)
    activation = source.detach()
    folded = head is not None and fold and head.folding_pays(n_questions, activation)
    if folded:
        activation = head.unit_maps(activation)
    for start in range(0, n_questions, chunk):
        block = v[:, start:start + chunk]
        if head is not None:
            means = head.back(block) if folded else head.channel_means(block)
            positions = activation.shape[2:]
            yield start, means.reshape(*means.shape, *[1] * len(positions)).expand(*means.shape, *positions), activation
        else:
            grads = _batched_vjp(outputs, source, directions[start:start + chunk], source_name)
            yield start, grads.transpose(0, 1), activation


def questions_per_chunk(source: torch.Tensor, memory_budget: int) -> int:
    """How many questions fit the budget: a gradient the size of ``source`` and a few temporaries each."""
    per_question = 4 * source.numel() * source.element_size()
    return max(1, int(memory_budget // max(per_question, 1)))
