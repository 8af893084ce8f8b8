"""What the iqa pipelines are asked, and their defaults, in plain Python (no torch, numpy or matplotlib).

Each default is defined here once: the pipelines (``quality_model``, ``evaluation``,
``explanations``, ``contrasts``) read these names, and ``rather iqa`` builds its options
from them without loading the heavy modules (its help shows at once).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).with_name("models") / "wadiqam_fr.pt"
"""The committed slim WaDIQaM-FR: what ``rather iqa train`` writes with the defaults below, byte for byte."""
ARCHITECTURE = {"width": 4, "dropout": 0.1}
"""Arguments of ``networks.wadiqam_fr`` for the default model (the paper's width is 32)."""
EPOCHS = 10
CROPS_PER_PHOTO = 6
"""Reference crops per training photo in the synthetic training set."""
TEST_SEED = 1000
"""Seed of the held-out synthetic set (distortions and crops of the test photos)."""
FORMATS = ("tid2013", "kadid10k", "live", "csiq")
"""Layouts of the public data sets that ``datasets.load_rated_set`` reads."""
SYNTHETIC = "synthetic"
"""What ``evaluation`` evaluates on without a data set: the held-out synthetic set, made, not read."""
MODES = ("patchwise", "image")
"""How a score is explained (``contrasts``): window by window as the paper did, or as one image score."""
STRIDE = 4
"""Stride in pixels of the paper's 32 x 32 windows in patchwise mode."""


@dataclass(frozen=True)
class Contrast:
    """A score q for the question "Why s, rather than q?"; ``people``: q is people's score of the image."""

    score: float
    people: bool = False


@dataclass(frozen=True)
class ExplainOptions:
    """How ``explanations.explain_pair`` explains a pair.

    mode: one of ``MODES``; stride: patchwise window stride in pixels; model: a quality model
    checkpoint (WaDIQaM / DIQaM); device: the torch device the model runs on.
    """

    mode: str = MODES[0]
    stride: int = STRIDE
    model: str = str(DEFAULT_CHECKPOINT)
    device: str = "cpu"
