"""The default quality model: a slim WaDIQaM-FR trained on the synthetic set; training and its evaluation.

Training follows Bosse et al. (2018) in its loss (L1 between image score and label)
and optimiser (Adam), on the ``synthetic`` training split (photos disjoint from the
test split), with a one-cycle learning-rate schedule and random left-right and
up-down flips of the pair (quality does not depend on orientation). Same seed, same
weights.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, save_checkpoint
from rather.common.checkpoints import ARCHITECTURES, Bound, shown
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike

from .metrics import agreement, agreement_by_kind
from .networks import WaDIQaM, wadiqam_fr
from .options import ARCHITECTURE, CROPS_PER_PHOTO, DEFAULT_CHECKPOINT, EPOCHS, TEST_SEED  # noqa: F401 (the
# checkpoint that train_checkpoint's defaults reproduce; callers read it here)
from .synthetic import SyntheticSet, make_synthetic

FACTORY = "rather.iqa.networks:wadiqam_fr"
SEED = Bound(int, 0, 2**32 - 1)
TRAINING = {"--epochs": Bound(int, 1, 1000), "--width": ARCHITECTURES[FACTORY]["width"],
            "--crops": Bound(int, 1, 100)}
"""What ``train_checkpoint`` accepts, by the option that sets it: a bad value is refused before any work."""


def check_option(name: str, value: object, bound: Bound) -> None:
    """BadInput naming the option ``name`` unless ``value`` is within ``bound``."""
    if not bound.admits(value):
        raise BadInput(f"{name} {shown(value)} is out of range; give {bound}")


LAYER = "features"
SIZE = 64
LEARNING_RATE = 3e-3
TEST_CROPS_PER_PHOTO = 4


def pairs(distorted: np.ndarray, references: np.ndarray) -> torch.Tensor:
    """(N, 3, H, W) distorted and (N, 3, H, W) references -> (N, 6, H, W), the model's input."""
    return torch.cat([torch.as_tensor(distorted), torch.as_tensor(references)], dim=1).float()


def train(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, *, epochs: int = EPOCHS,
          batch_size: int = 48, learning_rate: float = LEARNING_RATE, seed: int = 0,
          progress: Progress = SILENT) -> list[float]:
    """Train ``model`` in place on ``inputs`` (M, C, H, W) with labels ``targets`` (M,) (L1 loss); returns the
    mean loss of each epoch; the model ends in eval mode.

    ``inputs`` are floats in [0, 1], or 8-bit samples (uint8, scaled by 1/255 a batch at a time).
    ``progress`` shows a bar over the epochs and a note with each epoch's loss.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    steps = epochs * -(-len(inputs) // batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=steps)
    losses = []
    model.train()
    for epoch in progress.bar(range(epochs), desc="training", unit="epoch"):
        order = torch.randperm(len(inputs), generator=generator)
        total = 0.0
        for start in range(0, len(inputs), batch_size):
            batch = order[start:start + batch_size]
            x = inputs[batch]
            x = x.float() / 255 if x.dtype == torch.uint8 else x
            flips = torch.rand(2, generator=generator) < 0.5
            dims = [dim for dim, flip in zip((3, 2), flips) if flip]
            x = x.flip(dims) if dims else x
            loss = (model(x) - targets[batch]).abs().mean()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += float(loss.detach()) * len(batch)
        losses.append(total / len(inputs))
        progress.note(f"epoch {epoch + 1}/{epochs}: L1 loss {losses[-1]:.4f}")
    model.eval()
    return losses


def train_default(*, seed: int = 0, epochs: int = EPOCHS, architecture: dict = ARCHITECTURE,
                  crops_per_photo: int = CROPS_PER_PHOTO, progress: Progress = SILENT,
                  ) -> tuple[WaDIQaM, list[float], dict]:
    """``wadiqam_fr(**architecture)`` trained on the synthetic training split: (model, losses, meta)."""
    progress.note(f"making the synthetic training set ({crops_per_photo} crops of {SIZE} x {SIZE} per photo)")
    data = make_synthetic("train", size=SIZE, crops_per_photo=crops_per_photo, seed=seed)
    progress.note(f"{len(data.distorted)} distorted images of {len(data.references)} references")
    torch.manual_seed(seed)
    model = wadiqam_fr(**architecture)
    losses = train(model, pairs(data.distorted, data.references[data.reference_of]),
                   torch.as_tensor(data.labels, dtype=torch.float32), epochs=epochs, seed=seed, progress=progress)
    meta = {"layer": LAYER, "call": 0, "patch": 32, "seed": seed, "epochs": epochs, "size": SIZE,
            "crops_per_photo": crops_per_photo, "labels": "SSIM (mean over R, G, B) clipped to [0, 1]",
            "input": "(N, 6, H, W): distorted RGB then reference RGB, in [0, 1]", "final_loss": losses[-1]}
    return model, losses, meta


def train_checkpoint(out: PathLike, *, seed: int = 0, epochs: int = EPOCHS, width: int = ARCHITECTURE["width"],
                     crops_per_photo: int = CROPS_PER_PHOTO, progress: Progress = SILENT) -> list[float]:
    """``train_default`` with the default architecture at ``width``, written as a checkpoint to ``out``;
    the losses of each epoch. The defaults reproduce ``DEFAULT_CHECKPOINT`` byte for byte."""
    check_option("--seed", seed, SEED)
    for (name, bound), value in zip(TRAINING.items(), (epochs, width, crops_per_photo)):
        check_option(name, value, bound)
    architecture = {**ARCHITECTURE, "width": width}
    progress.note(f"training WaDIQaM-FR (width {width}) on the synthetic set (seed {seed}, {epochs} epochs)")
    model, losses, meta = train_default(seed=seed, epochs=epochs, architecture=architecture,
                                        crops_per_photo=crops_per_photo, progress=progress)
    save_checkpoint(out, model, FACTORY, architecture, meta)
    return losses


def test_set(seed: int = TEST_SEED) -> SyntheticSet:
    """The held-out synthetic references (test photos) under every distortion and level."""
    return make_synthetic("test", crops_per_photo=TEST_CROPS_PER_PHOTO, seed=seed)


def evaluate_synthetic(score: Callable[[np.ndarray, np.ndarray], np.ndarray], data: SyntheticSet) -> dict:
    """Overall and per-distortion agreement with the SSIM labels of ``score`` (distorted, references) -> (N,)."""
    predicted = score(data.distorted, data.references[data.reference_of])
    report = agreement(predicted, data.labels)
    report["per_distortion"] = agreement_by_kind(predicted, data.labels, data.kinds)
    return report
