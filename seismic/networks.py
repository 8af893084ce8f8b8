"""A small U-Net for seismic segmentation: per-sample class logits for a section window.

``SeismicUNet`` reads one-channel windows (N, 1, H, W), H and W multiples of
``2 ** depth``, and gives per-pixel logits (N, C, H, W). Encoder blocks of two 3 x 3
conv-BN-ReLU layers halve the grid ``depth`` times; decoder blocks upsample
(transposed 2 x 2 convs), join the encoder's features at that scale and convolve again.
The explained layer is ``features``, the last decoder block at full resolution: its
activation carries both the coarse context and the fine position of every sample, and
the head after it (a 1 x 1 conv, ``head``) is linear, so a region's contrast
(``Rather(q, region=R)``) weighs exactly the features inside that region.

Registered in ``rather.common.checkpoints.ARCHITECTURES``: a checkpoint that names
``rather.seismic.networks:SeismicUNet`` loads without ``--model``.
"""
from __future__ import annotations

import torch
from torch import nn

FACTORY = "rather.seismic.networks:SeismicUNet"


def _block(in_channels: int, out_channels: int) -> nn.Sequential:
    """Two 3 x 3 conv-BN-ReLU layers, same padding."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
        nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False), nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    )


class SeismicUNet(nn.Module):
    """U-Net of ``depth`` scales, ``width`` channels at full resolution (doubling per scale), ``num_classes`` out."""

    def __init__(self, num_classes: int = 2, in_channels: int = 1, width: int = 8, depth: int = 2):
        super().__init__()
        widths = [width * 2 ** level for level in range(depth + 1)]
        self.depth = depth
        self.encoder = nn.ModuleList([_block(in_channels, widths[0])]
                                     + [_block(widths[level - 1], widths[level]) for level in range(1, depth + 1)])
        self.pool = nn.MaxPool2d(2)
        self.upsample = nn.ModuleList([nn.ConvTranspose2d(widths[level + 1], widths[level], 2, stride=2)
                                       for level in reversed(range(depth))])
        self.decoder = nn.ModuleList([_block(2 * widths[level], widths[level]) for level in reversed(range(1, depth))])
        self.features = _block(2 * widths[0], widths[0])
        self.head = nn.Conv2d(widths[0], num_classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for level, block in enumerate(self.encoder):
            x = block(x if level == 0 else self.pool(x))
            skips.append(x)
        x = skips.pop()
        blocks = [*self.decoder, self.features]
        for upsample, block in zip(self.upsample, blocks):
            x = block(torch.cat([upsample(x), skips.pop()], dim=1))
        return self.head(x)
