"""What a recognition job is asked to do: the data, the classifier, how much the audit looks at.

Plain frozen dataclasses and constants, with no torch or numpy: the ``rather recognition``
command shows these defaults in its help and builds these options from its arguments, and
the suite builds them directly; ``rather.recognition.pipeline.audit`` takes them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional

from rather.common.storage import PathLike

DEFAULT_CHECKPOINT = Path(__file__).with_name("models") / "birds.pt"
"""The committed bird classifier (``rather recognition train`` reproduces it)."""
TRAIN_IMAGES = 5000
EPOCHS = 10

FORMATS = ("synthetic", "cub200", "stanford-cars", "fgvc-aircraft", "imagenet-val", "imagefolder", "csv")
"""Layouts of audit data: the synthetic birds, then the loaders of ``rather.recognition.loaders``."""
SPLITS = ("test", "train", "all")


@dataclass(frozen=True)
class AuditOptions:
    """How much the audit looks at: ``pairs`` top pairs, ``per_pair`` images each, ``truth_images`` for the
    ground-truth metrics, ``steps`` of the deletion curves, ``top_k``, ``bins`` of the calibration error,
    ``sanity_images`` and at most ``sanity_steps`` steps (groups of layers) of the randomisation checks,
    ``trust_ranked`` images in each list of the trust ranking."""

    pairs: int = 3
    per_pair: int = 6
    truth_images: int = 200
    steps: int = 16
    top_k: int = 5
    bins: int = 15
    batch_size: int = 128
    sanity_images: int = 32
    sanity_steps: int = 12
    trust_ranked: int = 10
    seed: int = 0


@dataclass(frozen=True)
class DataChoice:
    """The images an audit reads: ``format`` one of FORMATS; ``folder`` the data set's folder (None for
    synthetic birds); its ``split``; for synthetic birds, ``images`` rendered per split from ``seed``
    (the training split's seed; the held-out split adds ``classifier.HELD_OUT_OFFSET``); for an image folder
    or a CSV file (``folder`` is then the file), ``classes`` the class names in the model's order (None:
    sorted as found)."""

    format: str
    folder: Optional[PathLike] = None
    split: str = "test"
    images: int = 600
    seed: int = 0
    classes: Optional[tuple[str, ...]] = None


@dataclass(frozen=True)
class ModelChoice:
    """The classifier an audit explains: ``factory`` (``module:factory``) with its ``kwargs`` and the state
    dict ``weights``, or, with no factory, a rather checkpoint (default: the committed bird classifier),
    which names its own factory, layer and preprocessing. ``layer``, ``size`` (H, W), ``mean`` and
    ``std`` (per channel, inputs in [0, 1]) override what the checkpoint says; ``device`` runs it."""

    factory: Optional[str] = None
    weights: Optional[PathLike] = None
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    layer: Optional[str] = None
    size: Optional[tuple[int, int]] = None
    mean: Optional[tuple[float, ...]] = None
    std: Optional[tuple[float, ...]] = None
    device: str = "cpu"
