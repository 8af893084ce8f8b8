"""Reference architectures: ResNet-shaped (GAP + linear head), VGG-shaped (flatten + FC head), a small CNN.

Module names follow torchvision's (``layer4``, ``fc``; ``features``, ``classifier``)
so that layer names carry over. Used by the tests, the benchmark and the demo;
written here so that torchvision is never needed.
"""
from __future__ import annotations

from typing import Sequence

from torch import nn


def _conv_bn(in_channels: int, out_channels: int, kernel: int, stride: int = 1, padding: int | None = None
             ) -> list[nn.Module]:
    return [
        nn.Conv2d(in_channels, out_channels, kernel, stride=stride,
                  padding=kernel // 2 if padding is None else padding, bias=False),
        nn.BatchNorm2d(out_channels),
    ]


class ResidualBlock(nn.Module):
    """Basic (two 3x3) or bottleneck (1x1, 3x3, 1x1 with expansion 4) residual block."""

    def __init__(self, in_channels: int, width: int, stride: int, bottleneck: bool):
        super().__init__()
        out_channels = width * 4 if bottleneck else width
        if bottleneck:
            layers = [*_conv_bn(in_channels, width, 1), nn.ReLU(inplace=True), *_conv_bn(width, width, 3, stride),
                      nn.ReLU(inplace=True), *_conv_bn(width, out_channels, 1)]
        else:
            layers = [*_conv_bn(in_channels, width, 3, stride), nn.ReLU(inplace=True), *_conv_bn(width, width, 3)]
        self.body = nn.Sequential(*layers)
        self.shortcut = (
            nn.Identity() if stride == 1 and in_channels == out_channels
            else nn.Sequential(*_conv_bn(in_channels, out_channels, 1, stride))
        )
        self.relu = nn.ReLU(inplace=True)
        self.out_channels = out_channels

    def forward(self, x):
        return self.relu(self.body(x) + self.shortcut(x))


class ResNetLike(nn.Module):
    """Stem, stages ``layer1..layerS`` of residual blocks, global average pool, ``fc``."""

    def __init__(self, blocks: Sequence[int] = (3, 4, 6, 3), widths: Sequence[int] = (64, 128, 256, 512),
                 num_classes: int = 1000, bottleneck: bool = True, in_channels: int = 3, stem: int = 64):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, stem, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(stem)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = stem
        for index, (count, width) in enumerate(zip(blocks, widths)):
            stage = []
            for block in range(count):
                stride = 2 if block == 0 and index > 0 else 1
                stage.append(ResidualBlock(channels, width, stride, bottleneck))
                channels = stage[-1].out_channels
            setattr(self, f"layer{index + 1}", nn.Sequential(*stage))
        self.stages = len(blocks)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def forward(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        for index in range(self.stages):
            x = getattr(self, f"layer{index + 1}")(x)
        return self.fc(self.avgpool(x).flatten(1))


class VGGLike(nn.Module):
    """``features`` (3x3 convs, 'M' = max-pool), adaptive pool to ``pooled``, ``classifier`` FC stack."""

    def __init__(self, config: Sequence = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M",
                                            512, 512, 512, "M", 512, 512, 512, "M"),
                 num_classes: int = 1000, hidden: int = 4096, pooled: int = 7, in_channels: int = 3):
        super().__init__()
        layers: list[nn.Module] = []
        channels = in_channels
        for item in config:
            if item == "M":
                layers.append(nn.MaxPool2d(2))
            else:
                layers += [nn.Conv2d(channels, item, 3, padding=1), nn.ReLU(inplace=True)]
                channels = item
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(pooled)
        self.classifier = nn.Sequential(
            nn.Linear(channels * pooled * pooled, hidden), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(hidden, hidden), nn.ReLU(inplace=True), nn.Dropout(),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        return self.classifier(self.avgpool(self.features(x)).flatten(1))


def resnet50_like(num_classes: int = 1000) -> ResNetLike:
    """ResNet-50's shape: bottleneck blocks (3, 4, 6, 3), 2048 features at ``layer4``."""
    return ResNetLike(num_classes=num_classes)


def vgg16_like(num_classes: int = 1000) -> VGGLike:
    """VGG-16's shape: 13 convs in ``features``, FC 25088-4096-4096-C in ``classifier``."""
    return VGGLike(num_classes=num_classes)


class SmallCNN(nn.Module):
    """Four conv blocks (conv-BN-ReLU, 2x2 max-pool after each of the first ``pools``), GAP, linear ``fc``.

    The layer to explain is ``features``, the last block's output at 1 / 2**pools of the input size;
    ``forward(x) = classify(features(x))``. With ``padding=0`` (valid convolutions) the trunk
    ``features`` is shift-equivariant with step ``2**pools``: the features of a window starting at a
    multiple of the step are a crop of the features of the whole image (``rather.common.trunks``,
    ``rather.common.sliding``).
    A 99 x 99 input then gives 8 x 8 features (1 pixel lost per conv side, floor at each pool).
    """

    def __init__(self, num_classes: int, in_channels: int = 3, width: int = 16, pools: int = 3, padding: int = 1):
        super().__init__()
        widths = (width, 2 * width, 4 * width, 4 * width)
        layers: list[nn.Module] = []
        channels = in_channels
        for index, out_channels in enumerate(widths):
            layers += [*_conv_bn(channels, out_channels, 3, padding=padding), nn.ReLU(inplace=True)]
            if index < pools:
                layers.append(nn.MaxPool2d(2))
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(channels, num_classes)

    def classify(self, features):
        """Logits (N, classes) of the ``features`` activation (N, K, h, w)."""
        return self.fc(self.pool(features).flatten(1))

    def forward(self, x):
        return self.classify(self.features(x))
