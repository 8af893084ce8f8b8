"""Reproducible training of small classifiers on a CPU (the demo's and the domains' checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .progress import SILENT, Progress


@dataclass(frozen=True)
class TrainingLog:
    """Mean training loss and accuracy per epoch."""

    loss: tuple[float, ...]
    accuracy: tuple[float, ...]


def train_classifier(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    *,
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    class_weights: np.ndarray | None = None,
    progress: Progress = SILENT,
) -> TrainingLog:
    """Adam on cross-entropy with a one-cycle cosine schedule; same seed, same weights.

    images: (N, C, H, W) float32; labels: (N,) int64, or (N, H, W) for a segmentation network
    (logits (N, classes, H, W); its accuracy is the share of right pixels). The model ends in eval mode.
    ``class_weights`` (classes,): cross-entropy's weight per class (None: all 1), for rare classes.
    ``progress`` shows a bar over the epochs with the last epoch's loss and accuracy.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.as_tensor(images, dtype=torch.float32)
    targets = torch.as_tensor(labels, dtype=torch.long)
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
    steps = epochs * -(-len(inputs) // batch_size)
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate, total_steps=steps)
    losses, accuracies = [], []
    model.train()
    bar = progress.bar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        order = torch.randperm(len(inputs), generator=generator)
        total_loss, correct = 0.0, 0
        for start in range(0, len(inputs), batch_size):
            batch = order[start:start + batch_size]
            logits = model(inputs[batch])
            loss = F.cross_entropy(logits, targets[batch], weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total_loss += float(loss.detach()) * len(batch)
            hits = (logits.argmax(1) == targets[batch]).reshape(len(batch), -1).double()
            correct += float(hits.mean(1).sum())  # per input: right or wrong, or the share of right pixels
        losses.append(total_loss / len(inputs))
        accuracies.append(correct / len(inputs))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", accuracy=f"{accuracies[-1]:.3f}")
    model.eval()
    return TrainingLog(loss=tuple(losses), accuracy=tuple(accuracies))


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Logits (N, C) of ``model`` in eval mode, in batches."""
    model.eval()
    inputs = torch.as_tensor(images, dtype=torch.float32)
    return torch.cat([model(inputs[start:start + batch_size]) for start in range(0, len(inputs), batch_size)])
