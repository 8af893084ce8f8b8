"""WaDIQaM and DIQaM (Bosse, Maniry, Mueller, Wiegand, Samek, IEEE TIP 2018), full-reference and no-reference.

A pair (distorted, reference) is cut into 32 x 32 patches. Each patch goes through a
shared trunk of ten 3 x 3 convolutions (channels w (1, 1, 2, 2, 4, 4, 8, 8, 16, 16),
w = 32 in the paper; ReLU after each, 2 x 2 max-pool after every second), once for
the distorted patch (h) and once for the reference patch (h_ref): the trunk
``features`` runs twice per forward, distorted branch first. The fused feature
``concat(h - h_ref, h, h_ref)`` (no-reference: h) feeds a quality head q and, for
WaDIQaM, a weight head a = ReLU(.) + 1e-6; the image score is the weighted average
``sum_i a_i q_i / sum_i a_i`` over the patches (DIQaM: the plain mean).

The input is one tensor: (N, 6, H, W), distorted channels first (full reference),
or (N, 3, H, W) (no reference), with H, W >= 32. Patches tile the image without
overlap, the last row and column aligned with the far edges (``WaDIQaM.tiles``,
``rather.common.windows.window_grid`` with stride 32); a 32 x 32 input is one patch,
and its score is that patch's q.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rather.common import BadInput
from rather.common.windows import extract_windows, window_grid

PATCH = 32
CHANNEL_MULTIPLIERS = (1, 1, 2, 2, 4, 4, 8, 8, 16, 16)


def _head(features: int, hidden: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(features, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1))


class WaDIQaM(nn.Module):
    """Weighted-average deep image quality measure; ``weighted=False`` gives DIQaM.

    Args:
        width: channels of the first convolution (32 in the paper); the trunk scales with it.
        full_reference: FR (input of 6 channels) or NR (3 channels).
        weighted: patch weights from a weight head (WaDIQaM) or a plain mean (DIQaM).
        hidden: width of the heads' hidden layer (512 in the paper; default 16 * width).
        dropout: dropout before the heads' last layer (0.5 in the paper).
    """

    def __init__(self, width: int = 32, full_reference: bool = True, weighted: bool = True,
                 hidden: int | None = None, dropout: float = 0.5):
        super().__init__()
        layers: list[nn.Module] = []
        channels = 3
        for index, multiplier in enumerate(CHANNEL_MULTIPLIERS):
            layers += [nn.Conv2d(channels, width * multiplier, 3, padding=1), nn.ReLU()]
            if index % 2 == 1 and index < len(CHANNEL_MULTIPLIERS) - 1:
                layers.append(nn.MaxPool2d(2))
            channels = width * multiplier
        self.features = nn.Sequential(*layers)  # conv10 + ReLU: (K, 2, 2) for a 32 x 32 patch
        self.pool = nn.MaxPool2d(2)
        self.full_reference = full_reference
        self.weighted = weighted
        fused = 3 * channels if full_reference else channels
        hidden = hidden or 16 * width
        self.quality = _head(fused, hidden, dropout)
        self.weight = _head(fused, hidden, dropout) if weighted else None
        for module in self.modules():  # He initialisation: the signal keeps its scale through ten ReLU layers
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(module.weight, nonlinearity="relu")
                nn.init.zeros_(module.bias)

    @property
    def in_channels(self) -> int:
        return 6 if self.full_reference else 3

    def patch_outputs(self, patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(P, C, 32, 32) patches -> (quality (P,), weight (P,)); weights are ones for DIQaM."""
        h = self.pool(self.features(patches[:, :3])).flatten(1)
        if self.full_reference:
            h_ref = self.pool(self.features(patches[:, 3:])).flatten(1)
            h = torch.cat([h - h_ref, h, h_ref], dim=1)
        quality = self.quality(h)[:, 0]
        if self.weight is None:
            return quality, torch.ones_like(quality)
        return quality, torch.relu(self.weight(h)[:, 0]) + 1e-6

    def tiles(self, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and columns of the patches an image of height x width is cut into: 0, 32, 64, ... and
        one flush with the far edge."""
        if min(height, width) < PATCH:
            raise BadInput(f"an image of {height} x {width} pixels is smaller than the {PATCH} x {PATCH} patch; "
                           f"give at least {PATCH} x {PATCH}")
        return window_grid(height, width, PATCH, PATCH)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N,) image scores, the weighted average of the patch scores."""
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            kind = "a (distorted, reference) pair stacked as 6" if self.full_reference else "an image of 3"
            raise BadInput(f"{type(self).__name__} takes {kind} channels, (N, {self.in_channels}, H, W); "
                           f"got {tuple(x.shape)}")
        rows, cols = self.tiles(*x.shape[-2:])
        whole = x.shape[-2:] == (PATCH, PATCH)  # one patch: the input itself, not a copy (patchwise windows)
        quality, weight = self.patch_outputs(x if whole else extract_windows(x, rows, cols, PATCH))
        quality, weight = quality.view(x.shape[0], -1), weight.view(x.shape[0], -1)
        return (weight * quality).sum(dim=1) / weight.sum(dim=1)


def wadiqam_fr(width: int = 32, **kwargs) -> WaDIQaM:
    """WaDIQaM-FR: full reference, weighted average."""
    return WaDIQaM(width, full_reference=True, weighted=True, **kwargs)


def diqam_fr(width: int = 32, **kwargs) -> WaDIQaM:
    """DIQaM-FR: full reference, mean over patches."""
    return WaDIQaM(width, full_reference=True, weighted=False, **kwargs)


def wadiqam_nr(width: int = 32, **kwargs) -> WaDIQaM:
    """WaDIQaM-NR: no reference, weighted average."""
    return WaDIQaM(width, full_reference=False, weighted=True, **kwargs)


def diqam_nr(width: int = 32, **kwargs) -> WaDIQaM:
    """DIQaM-NR: no reference, mean over patches."""
    return WaDIQaM(width, full_reference=False, weighted=False, **kwargs)
