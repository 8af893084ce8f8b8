"""What the iqa pipelines are asked, and their defaults, in plain Python (no torch, numpy or matplotlib).

Each default is defined here once: the pipelines (``quality_model``, ``evaluation``,
``explanations``, ``contrasts``) read these names, and ``rather iqa`` builds its options
from them without loading the heavy modules (its help shows at once).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

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
"""Layouts of the public data sets that ``datasets.load_rated_set`` reads (``--data NAME DIR``)."""
MOS_SCALES = FORMATS + ("unit",)
"""``--mos-scale`` names: a data set's published scale (``datasets.SCALES``), or ``unit`` (already [0, 1])."""
SYNTHETIC = "synthetic"
"""What ``evaluation`` evaluates on without a data set: the held-out synthetic set, made, not read."""
MODES = ("patchwise", "image", "fast")
"""How a score is explained (``contrasts``): window by window as the paper did, as one image score, or fast: the
patchwise question on a third of its windows (``FAST_STRIDE``), an approximation of the patchwise map."""
STRIDE = 4
"""Stride in pixels of the paper's 32 x 32 windows in patchwise mode."""
FAST_STRIDE = (4, 12)
"""Strides (down, across) of the windows in fast mode: every third column of the patchwise grid at stride 4, so a
third of its windows, each window's map exact and blended as patchwise blends it.

Why not fewer windows: the window maps are rough (the maps of two windows 4 pixels apart correlate only about
0.6-0.7: the trunk, with its four max-pools, is far from shift-invariant), so the exact map averages many unlike
windows, and an approximation is as good as the share of those windows it keeps. The image's edges are not the
cause (the error is as large inside as within 16 pixels of the border), nor the blend (each window's map is
bilinear and Gaussian-weighted in both modes; a wider Gaussian gains under 0.01).

How it was chosen (2026-11-30), on development pairs only (coffee with JPEG, chelsea with white noise, level 3,
resized to 512 x 384; never the benchmark's astronaut): the rule, set before the benchmark pair met any grid but
the earlier (4, 8), is the fewest windows (the time is the windows') with r >= 0.97 between the fast and the exact
map on both development pairs (r as ``rather bench iqa`` takes it: averaged over the questions whose maps vary).
The candidates, their share of the windows and r on coffee / chelsea: (4, 8) 0.50, 0.989 / 0.988; (8, 4) 0.51,
0.967 / 0.978; (6, 6) 0.45, 0.966 / 0.961; (4, 12) 0.34, 0.973 / 0.972; (12, 4) 0.35, 0.959 / 0.961; (6, 8) 0.34,
0.965 / 0.961; (8, 6) 0.34, 0.948 / 0.960; (4, 16) 0.26, 0.953 / 0.949; (8, 8) 0.25, 0.946 / 0.960. (4, 12)
passes, and nothing with fewer windows does. It was (4, 8) until the patchwise batches lost their waste: the
paper's loop then took 80 times as long as (4, 8) in one-thread CPU time, short of the 100x goal.
``rather bench iqa`` reports fast mode's speed-up over the paper's loop and its correlation with the exact map."""

SCORE_SCALE = (0.0, 1.0)
"""The default quality model's scale (and any model's that declares none): SSIM or people's scores mapped to
[0, 1], higher is better. A contrast q may lie within the scale widened by its width on each side (a pristine pair
may earn 1.02), people's score within the scale itself (``explanations.model_scores``)."""


@dataclass(frozen=True)
class Contrast:
    """A score q for the question "Why s, rather than q?"; ``people``: q is people's score of the image;
    ``scale``: the published scale (a ``MOS_SCALES`` name) ``score`` is on, None: the model's own."""

    score: float
    people: bool = False
    scale: Optional[str] = None


@dataclass(frozen=True)
class ModelChoice:
    """Which quality model, as ``--model``, ``--weights``, ``--model-kwargs``, ``--layer`` ... name it.

    factory: ``module:factory`` (None: the factory a rather checkpoint records); weights: the
    checkpoint or state dict; kwargs: the factory's keyword arguments; layer: the layer to
    explain (None: a rather checkpoint's own); call: which call of a layer that runs more than
    once (a shared trunk runs on the distorted image first); no_reference: the model reads the
    distorted image alone, ``model(dist)``, instead of ``model(dist, ref)``; lower_better: the
    score is a distance (lower is better); score_range: the scores the model gives, (low, high)
    (None: the checkpoint's ``score_range``, else ``SCORE_SCALE``); device: the torch device.
    """

    factory: Optional[str] = None
    weights: str = str(DEFAULT_CHECKPOINT)
    kwargs: dict = field(default_factory=dict)
    layer: Optional[str] = None
    call: int = 0
    no_reference: bool = False
    lower_better: bool = False
    score_range: Optional[tuple[float, float]] = None
    device: str = "cpu"


@dataclass(frozen=True)
class ExplainOptions:
    """How ``explanations.explain_pair`` explains a pair.

    mode: one of ``MODES``; stride: patchwise window stride in pixels (None: ``STRIDE``; fast mode takes none, it
    has its own ``FAST_STRIDE``); model: the quality model.
    """

    mode: str = MODES[0]
    stride: Optional[int] = None
    model: ModelChoice = ModelChoice()
