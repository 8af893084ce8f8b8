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
"""
from __future__ import annotations

from typing import Iterator, Optional

import torch

from .capture import LastLinearProbe
from .errors import BadModel

_UNUSED = "appears to not have been used in the graph"


def linear_head_jacobian(
    probe: LastLinearProbe, activation: torch.Tensor, outputs: torch.Tensor
) -> Optional[torch.Tensor]:
    """G = W / (h w) of shape (C, K) when y = linear(GAP(A)) holds here, else None.

    activation: (N, K, h, w) leaf; outputs: (N, C) with a graph back to it.
    """
    if probe.last is None:
        return None
    linear, linear_output = probe.last
    n, k, h, w = activation.shape
    if tuple(linear.weight.shape) != (outputs.shape[1], k) or linear_output.numel() != outputs.numel():
        return None
    jacobian = linear.weight.detach().to(outputs.dtype) / (h * w)
    generator = torch.Generator().manual_seed(20200800)
    direction = torch.randn(outputs.shape, generator=generator, dtype=torch.float64).to(outputs)
    try:
        (autograd_grad,) = torch.autograd.grad(outputs, activation, direction, retain_graph=True)
    except RuntimeError:
        return None
    closed_form = (direction @ jacobian)[:, :, None, None].expand_as(autograd_grad)
    scale = closed_form.abs().max()
    if not torch.allclose(autograd_grad, closed_form, rtol=1e-4, atol=1e-5 * float(scale) + 1e-30):
        return None
    return jacobian


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
    linear_jacobian: Optional[torch.Tensor] = None,
) -> Iterator[tuple[int, torch.Tensor]]:
    """Yield ``(start, dJ/dsource)`` for questions ``start : start + chunk``.

    outputs: (N, C); source: (N, *S) leaf; v: (N, Q, C) directions.
    The gradients have shape (N, q, *S); from ``linear_jacobian`` (C, K) they are
    a broadcast view, constant over positions.
    """
    n_questions = v.shape[1]
    directions = v.transpose(0, 1)
    for start in range(0, n_questions, chunk):
        block = v[:, start:start + chunk]
        if linear_jacobian is not None:
            weights = block @ linear_jacobian
            yield start, weights[..., None, None].expand(*weights.shape, *source.shape[-2:])
        else:
            grads = _batched_vjp(outputs, source, directions[start:start + chunk], source_name)
            yield start, grads.transpose(0, 1)


def questions_per_chunk(source: torch.Tensor, memory_budget: int) -> int:
    """How many questions fit the budget: a gradient the size of ``source`` and a few temporaries each."""
    per_question = 4 * source.numel() * source.element_size()
    return max(1, int(memory_budget // max(per_question, 1)))
