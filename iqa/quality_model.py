"""The default quality model: a slim WaDIQaM-FR trained on the synthetic set; loading, scoring and evaluation.

Training follows Bosse et al. (2018) in its loss (L1 between image score and label)
and optimiser (Adam), on the ``synthetic`` training split (photos disjoint from the
test split), with a one-cycle learning-rate schedule and random left-right and
up-down flips of the pair (quality does not depend on orientation). Same seed, same
weights.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from rather.common import BadInput, load_model, save_checkpoint
from rather.common.images import read_image
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike

from .contrasts import check_pair
from .datasets import RatedSet
from .metrics import agreement, agreement_by_kind
from .networks import WaDIQaM, wadiqam_fr
from .options import ARCHITECTURE, CROPS_PER_PHOTO, DEFAULT_CHECKPOINT, EPOCHS, TEST_SEED
from .synthetic import SyntheticSet, make_synthetic

FACTORY = "rather.iqa.networks:wadiqam_fr"
LAYER = "features"
SIZE = 64
LEARNING_RATE = 3e-3
TEST_CROPS_PER_PHOTO = 4


def load_quality_model(path: PathLike = DEFAULT_CHECKPOINT, device: str = "cpu") -> tuple[WaDIQaM, dict]:
    """A WaDIQaM / DIQaM checkpoint (``rather.common.load_model``'s checks) and its meta; any other model refused."""
    model, meta = load_model(weights=path, device=device)
    if not isinstance(model, WaDIQaM):
        raise BadInput(f"'{path}' is not a WaDIQaM/DIQaM checkpoint (it builds a {type(model).__name__})")
    return model, meta


def pairs(distorted: np.ndarray, references: np.ndarray) -> torch.Tensor:
    """(N, 3, H, W) distorted and (N, 3, H, W) references -> (N, 6, H, W), the model's input."""
    return torch.cat([torch.as_tensor(distorted), torch.as_tensor(references)], dim=1).float()


def model_input(model: WaDIQaM, distorted: np.ndarray, reference: np.ndarray) -> torch.Tensor:
    """What the model reads: the pair (N, 6, H, W) for a full-reference model, the distorted image alone for NR."""
    if model.full_reference:
        return pairs(distorted, reference)
    return torch.as_tensor(distorted).float()


def train(model: nn.Module, data: SyntheticSet, *, epochs: int = EPOCHS, batch_size: int = 48,
          learning_rate: float = LEARNING_RATE, seed: int = 0, progress: Progress = SILENT) -> list[float]:
    """Train ``model`` in place on ``data`` (L1 loss); returns the mean loss of each epoch; model ends in eval mode.

    ``progress`` shows a bar over the epochs and a note with each epoch's loss.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    inputs = pairs(data.distorted, data.references[data.reference_of])
    targets = torch.as_tensor(data.labels, dtype=torch.float32)
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
    losses = train(model, data, epochs=epochs, seed=seed, progress=progress)
    meta = {"layer": LAYER, "call": 0, "patch": 32, "seed": seed, "epochs": epochs, "size": SIZE,
            "crops_per_photo": crops_per_photo, "labels": "SSIM (mean over R, G, B) clipped to [0, 1]",
            "input": "(N, 6, H, W): distorted RGB then reference RGB, in [0, 1]", "final_loss": losses[-1]}
    return model, losses, meta


def train_checkpoint(out: PathLike, *, seed: int = 0, epochs: int = EPOCHS, width: int = ARCHITECTURE["width"],
                     crops_per_photo: int = CROPS_PER_PHOTO, progress: Progress = SILENT) -> list[float]:
    """``train_default`` with the default architecture at ``width``, written as a checkpoint to ``out``;
    the losses of each epoch. The defaults reproduce ``DEFAULT_CHECKPOINT`` byte for byte."""
    architecture = {**ARCHITECTURE, "width": width}
    progress.note(f"training WaDIQaM-FR (width {width}) on the synthetic set (seed {seed}, {epochs} epochs)")
    model, losses, meta = train_default(seed=seed, epochs=epochs, architecture=architecture,
                                        crops_per_photo=crops_per_photo, progress=progress)
    save_checkpoint(out, model, FACTORY, architecture, meta)
    return losses


def read_pair(distorted: PathLike, reference: PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Both image files as (3, H, W) float32 in [0, 1] (grey as three equal channels); sizes checked."""
    images = []
    for path in (distorted, reference):
        image = read_image(path)
        images.append(np.repeat(image, 3, axis=0) if image.shape[0] == 1 else image)
    check_pair(torch.from_numpy(images[0]), torch.from_numpy(images[1]))
    return images[0], images[1]


@torch.no_grad()
def score_files(distorted: PathLike, reference: PathLike, *, model: PathLike = DEFAULT_CHECKPOINT,
                device: str = "cpu") -> float:
    """The score that the quality model in checkpoint ``model`` gives image file ``distorted`` against ``reference``."""
    network, _ = load_quality_model(model, device)
    pair = read_pair(distorted, reference)
    return float(network(model_input(network, *(image[None] for image in pair)).to(device))[0])


@torch.no_grad()
def score_rated(model: nn.Module, rated: RatedSet, progress: Progress = SILENT) -> np.ndarray:
    """The model's scores of a data set's pairs, one pair at a time (sizes may differ between pairs)."""
    model.eval()
    scores = [float(model(model_input(model, *(image[None] for image in read_pair(r.distorted, r.reference))))[0])
              for r in progress.bar(rated.ratings, desc="scoring", unit="image")]
    return np.array(scores, dtype=np.float64)


@torch.no_grad()
def score_pairs(model: nn.Module, distorted: np.ndarray, references: np.ndarray, batch_size: int = 64) -> np.ndarray:
    """(N,) scores of equally sized pairs (N, 3, H, W), in eval mode."""
    model.eval()
    return torch.cat([
        model(pairs(distorted[start:start + batch_size], references[start:start + batch_size]))
        for start in range(0, len(distorted), batch_size)
    ]).numpy()


def test_set(seed: int = TEST_SEED) -> SyntheticSet:
    """The held-out synthetic references (test photos) under every distortion and level."""
    return make_synthetic("test", crops_per_photo=TEST_CROPS_PER_PHOTO, seed=seed)


def evaluate_synthetic(model: nn.Module, data: SyntheticSet) -> dict:
    """Overall and per-distortion agreement of the model's scores with the SSIM labels."""
    predicted = score_pairs(model, data.distorted, data.references[data.reference_of])
    report = agreement(predicted, data.labels)
    report["per_distortion"] = agreement_by_kind(predicted, data.labels, data.kinds)
    return report
