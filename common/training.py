"""Reproducible training of small classifiers on a CPU (the demo's and the domains' checkpoints)."""
from __future__ import annotations

from dataclasses import dataclass
from statistics import fmean
from typing import Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .progress import SILENT, Progress


@dataclass(frozen=True)
class TrainingLog:
    """Mean training loss and accuracy per epoch (with several streams: the mean over the streams), and the
    learning rate of every optimiser step (the schedule as it ran)."""

    loss: tuple[float, ...]
    accuracy: tuple[float, ...]
    learning_rates: tuple[float, ...] = ()


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
    The one-stream case of ``train_streams``.
    """
    return train_streams(model, [(images, labels)], epochs=epochs, batch_size=batch_size,
                         learning_rate=learning_rate, weight_decay=weight_decay, seed=seed,
                         class_weights=class_weights, progress=progress)


def train_streams(
    model: nn.Module,
    streams: Sequence[tuple[np.ndarray, np.ndarray]],
    *,
    epochs: int = 5,
    batch_size: int = 64,
    learning_rate: float = 3e-3,
    weight_decay: float = 1e-4,
    seed: int = 0,
    class_weights: np.ndarray | None = None,
    progress: Progress = SILENT,
) -> TrainingLog:
    """Train on several streams of (images, labels) at once: one Adam and one one-cycle schedule for the run.

    The streams hold the same classes in inputs of different sizes (e.g. 99 x 99 patches and 45 x 45
    windows), which cannot share a tensor. Every step takes one batch of every stream and descends on
    the mean of their mean cross-entropies, so each stream weighs the same in every step, and no
    stream is ever trained on alone (separate passes with their own optimiser and schedule end each
    pass annealed on that stream, and the network drifts away from the others).

    The first stream sets the pace: batches of ``batch_size``, ceil(N0 / batch_size) steps per
    epoch; every other stream is cut into as many batches (ceil(Ni / steps) each), so an epoch is
    one pass over every stream, each in its own random order. Each stream is as ``train_classifier``
    takes it; ``class_weights`` applies to all. With one stream this is ``train_classifier``.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    data = [(torch.as_tensor(images, dtype=torch.float32), torch.as_tensor(labels, dtype=torch.long))
            for images, labels in streams]
    weight = None if class_weights is None else torch.as_tensor(class_weights, dtype=torch.float32)
    steps_per_epoch = -(-len(data[0][0]) // batch_size)
    sizes = [batch_size] + [-(-len(inputs) // steps_per_epoch) for inputs, _ in data[1:]]
    optimiser = torch.optim.Adam(model.parameters(), lr=learning_rate, weight_decay=weight_decay)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=learning_rate,
                                                   total_steps=epochs * steps_per_epoch)
    losses, accuracies, rates = [], [], []
    model.train()
    bar = progress.bar(range(epochs), desc="training", unit="epoch")
    for _ in bar:
        orders = [torch.randperm(len(inputs), generator=generator) for inputs, _ in data]
        total_loss, correct = [0.0] * len(data), [0.0] * len(data)
        for step in range(steps_per_epoch):
            parts = []
            for index, ((inputs, targets), order, size) in enumerate(zip(data, orders, sizes)):
                batch = order[step * size:(step + 1) * size]
                if not len(batch):  # a stream cut into fewer batches than the first has run out
                    continue
                logits = model(inputs[batch])
                loss = F.cross_entropy(logits, targets[batch], weight=weight)
                parts.append(loss)
                total_loss[index] += float(loss.detach()) * len(batch)
                hits = (logits.argmax(1) == targets[batch]).reshape(len(batch), -1).double()
                correct[index] += float(hits.mean(1).sum())  # per input: right or wrong, or the share of right pixels
            rates.append(optimiser.param_groups[0]["lr"])
            optimiser.zero_grad()
            torch.stack(parts).mean().backward()
            optimiser.step()
            schedule.step()
        losses.append(fmean([total / len(inputs) for total, (inputs, _) in zip(total_loss, data)]))
        accuracies.append(fmean([hits / len(inputs) for hits, (inputs, _) in zip(correct, data)]))
        bar.set_postfix(loss=f"{losses[-1]:.4f}", accuracy=f"{accuracies[-1]:.3f}")
    model.eval()
    return TrainingLog(loss=tuple(losses), accuracy=tuple(accuracies), learning_rates=tuple(rates))


@torch.no_grad()
def predict(model: nn.Module, images: np.ndarray, batch_size: int = 256) -> torch.Tensor:
    """Logits (N, C) of ``model`` in eval mode, in batches."""
    model.eval()
    inputs = torch.as_tensor(images, dtype=torch.float32)
    return torch.cat([model(inputs[start:start + batch_size]) for start in range(0, len(inputs), batch_size)])
