"""Ways of turning dJ/dA into a map. The contrast is the loss, not the method.

Every method receives the gradients of one chunk of questions and the tensor
they were taken at, and returns non-negative raw maps:

    grads  (N, q, K, *S)   dJ/dA per question (K channels; for the input, K = colour channels)
    source (N, K, *S)      A, the layer's activation (or the input x)
    ->     (N, q, *S)

S is (h, w), or (d, h, w) for a volume (Conv3d): every method below sums or averages
over all positions, so each holds in 3-D as written (GAP over d, h and w).

Methods at a layer, with g = dJ/dA:

- ``gradcam``   Grad-CAM (Selvaraju et al., ICCV 2017): ReLU(sum_k GAP(g_k) A_k)
- ``gradcampp`` Grad-CAM++ (Chattopadhay et al., WACV 2018), closed form for exp(J):
                a = g^2 / (2 g^2 + sum_ij A_k g^3), w_k = sum_ij a ReLU(g_k), ReLU(sum_k w_k A_k)
- ``hirescam``  HiResCAM (Draelos & Carin, 2020), element-wise: ReLU(sum_k g_k * A_k)
- ``layercam``  LayerCAM (Jiang et al., TIP 2021): ReLU(sum_k ReLU(g_k) * A_k)

Methods at the input x:

- ``gradient``          saliency (Simonyan et al., 2014): max_c |dJ/dx_c|
- ``gradient_x_input``  ReLU(sum_c dJ/dx_c * x_c) (Shrikumar et al., 2016)
"""
from __future__ import annotations

import abc
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the maps are torch tensors; torch itself is not needed to name the methods
    import torch

LAYER = "layer"
INPUT = "input"


class Method(abc.ABC):
    """A map from gradients; ``source`` says where they are taken: at a layer or at the input."""

    name: str = ""
    source: str = LAYER
    mean_gradient: bool = False
    """True for Grad-CAM's form ReLU(sum_k GAP(g_k) A_k): the map reads dJ/dA only through its means
    over positions, and linearly. Heads that give those means alone (``gradients.first_linear_head``)
    serve it, and a head's linear map may be folded into the activation (``AnalyticHead.unit_maps``)."""

    @abc.abstractmethod
    def raw_maps(self, grads: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
        """(N, q, K, *S) gradients and (N, K, *S) source -> (N, q, *S), non-negative."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GradCAM(Method):
    """alpha_k = GAP(g_k); map = ReLU(sum_k alpha_k A_k)."""

    name = "gradcam"
    mean_gradient = True

    def raw_maps(self, grads, source):
        return _weighted_sum(_position_means(grads), source)


class GradCAMPlusPlus(Method):
    """Pixel-weighted channel weights, in the closed form for the exponential of J."""

    name = "gradcampp"

    def raw_maps(self, grads, source):
        squared = grads.pow(2)
        total = source.flatten(2).sum(dim=-1)  # (N, K): sum_ij A_k
        denominator = 2 * squared + total.reshape(len(total), 1, -1, *(1,) * (source.dim() - 2)) * squared * grads
        defined = denominator != 0
        alpha = (squared / denominator.where(defined, 1)).where(defined, 0)
        weights = (alpha * grads.clamp(min=0)).flatten(3).sum(dim=-1)
        return _weighted_sum(weights, source)


class HiResCAM(Method):
    """Element-wise gradient times activation, summed over channels."""

    name = "hirescam"

    def raw_maps(self, grads, source):
        return (grads * source.unsqueeze(1)).sum(dim=2).clamp(min=0)


class LayerCAM(Method):
    """Positive gradients times activation, summed over channels."""

    name = "layercam"

    def raw_maps(self, grads, source):
        return (grads.clamp(min=0) * source.unsqueeze(1)).sum(dim=2).clamp(min=0)


class InputGradient(Method):
    """Largest absolute input gradient over colour channels."""

    name = "gradient"
    source = INPUT

    def raw_maps(self, grads, source):
        return grads.abs().amax(dim=2)


class GradientTimesInput(Method):
    """Input gradient times input, summed over colour channels, positive part."""

    name = "gradient_x_input"
    source = INPUT

    def raw_maps(self, grads, source):
        return (grads * source.unsqueeze(1)).sum(dim=2).clamp(min=0)


def _position_means(grads: torch.Tensor) -> torch.Tensor:
    """(N, q, K, *S) -> (N, q, K) means over the positions S; a gradient broadcast over positions
    (an analytic head's, strides 0) is read at one position instead of averaged."""
    positions = grads.dim() - 3
    if all(stride == 0 for stride in grads.stride()[3:]):
        return grads[(...,) + (0,) * positions]
    return grads.flatten(3).mean(dim=-1)


def _weighted_sum(weights: torch.Tensor, source: torch.Tensor) -> torch.Tensor:
    """ReLU(sum_k w_k A_k): weights (N, q, K), source (N, K, *S) -> (N, q, *S), as one batched product."""
    return (weights @ source.flatten(2)).unflatten(-1, source.shape[2:]).clamp(min=0)


METHODS: dict[str, Method] = {
    method.name: method
    for method in (GradCAM(), GradCAMPlusPlus(), HiResCAM(), LayerCAM(), InputGradient(), GradientTimesInput())
}
