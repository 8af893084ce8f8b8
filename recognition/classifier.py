"""The default bird classifier: a small CNN trained on every class of the synthetic set.

``train`` renders ``images`` birds of all ``len(CLASS_NAMES)`` classes (seed
``seed``), trains ``SmallCNN`` on them with ``rather.common.training`` and
returns the model; the same seed gives the same bytes, so ``rather recognition
train`` reproduces the committed checkpoint ``models/birds.pt``. Held-out birds
are rendered from ``seed + HELD_OUT_OFFSET`` and never overlap the training scenes'
seeds in practice (64-bit scene seeds).
"""
from __future__ import annotations

import torch
from torch import nn

from rather.common import load_model
from rather.common.progress import SILENT, Progress
from rather.common.networks import SmallCNN
from rather.common.training import TrainingLog, train_classifier

from .options import DEFAULT_CHECKPOINT, EPOCHS, TRAIN_IMAGES
from .synthetic import CLASS_NAMES, make_set

FACTORY = "rather.common.networks:SmallCNN"
ARCHITECTURE = {"num_classes": len(CLASS_NAMES), "width": 16, "pools": 2}
LAYER = "features"
SIZE = 64
HELD_OUT_OFFSET = 10_000


def train(*, seed: int = 0, images: int = TRAIN_IMAGES, epochs: int = EPOCHS,
          progress: Progress = SILENT) -> tuple[nn.Module, TrainingLog, dict]:
    """Train the classifier on ``images`` synthetic birds of every class (a bar over the epochs);
    returns (model, log, checkpoint meta)."""
    data = make_set(images, seed=seed, size=SIZE)
    torch.manual_seed(seed)
    model = SmallCNN(**ARCHITECTURE)
    log = train_classifier(model, data.images, data.labels, epochs=epochs, seed=seed, progress=progress)
    meta = {"class_names": list(CLASS_NAMES), "layer": LAYER, "seed": seed, "images": images, "epochs": epochs,
            "final_training_accuracy": log.accuracy[-1],
            "preprocess": {"size": [SIZE, SIZE], "channels": 3}}
    return model, log, meta


def load_default() -> tuple[nn.Module, dict]:
    """The committed classifier and its meta (class names, layer, preprocessing)."""
    return load_model(weights=DEFAULT_CHECKPOINT)
