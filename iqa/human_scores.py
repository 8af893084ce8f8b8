"""Training on people's scores (TID2013, KADID-10k, LIVE, CSIQ), split by reference image.

The IQA literature's protocol: the references of a data set are split at random (seeded)
into training and test references, and every distorted version of a reference goes where
its reference goes, so that no content seen in training is scored in the test. The model
learns the scores mapped to [0, 1], higher is better (``datasets.SCALES``: the same map
``--mos-scale`` and evaluation use), from ``crops`` random 64 x 64 crops of each pair
(WaDIQaM's 32 x 32 patches inside them), each crop labelled with its image's score, as
Bosse et al. trained on patches of the image labelled with the image's MOS.

The checkpoint's meta records the split (``trained_on``: the data set's name, the split
seed, the test references' file names), so that ``rather iqa evaluate`` on the same data
set scores only the held-out references, and on another data set scores all of it
(cross-data-set evaluation).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import torch

from rather.common import BadInput, BadModel, save_checkpoint
from rather.common.progress import SILENT, Progress
from rather.common.storage import PathLike

from .datasets import RatedSet, load_rated_set
from .networks import wadiqam_fr
from .options import ARCHITECTURE, CROPS_PER_PHOTO, EPOCHS
from .quality_model import FACTORY, LAYER, SEED, SIZE, TRAINING, check_option, train
from .scorers import read_stack

TEST_SHARE = 0.2
"""Share of a data set's references held out for its test split (at least one, and one left to train on)."""


def split_references(rated: RatedSet, seed: int) -> tuple[RatedSet, RatedSet, list[str]]:
    """(training ratings, test ratings, the test references' lower-case file names), split by reference image."""
    names = sorted({rating.reference.name.lower() for rating in rated.ratings})
    if len(names) < 2:
        raise BadInput(f"{rated.name} at {rated.root} has {len(names)} reference image(s); training splits by "
                       "reference and needs at least 2 (one to train on, one to test)")
    order = np.random.default_rng(seed).permutation(len(names))
    test_count = min(max(1, round(TEST_SHARE * len(names))), len(names) - 1)
    test = sorted(names[index] for index in order[:test_count])
    return held_out(rated, test, keep=False), held_out(rated, test, keep=True), test


def held_out(rated: RatedSet, references: list[str], *, keep: bool) -> RatedSet:
    """The ratings whose reference's file name is (``keep``) or is not among ``references``."""
    chosen = set(references)
    ratings = tuple(rating for rating in rated.ratings if (rating.reference.name.lower() in chosen) == keep)
    return replace(rated, ratings=ratings)


def random_crops(rated: RatedSet, crops: int, seed: int, progress: Progress = SILENT,
                 ) -> tuple[torch.Tensor, torch.Tensor]:
    """``crops`` random SIZE x SIZE crops of every pair, stacked (M, 6, SIZE, SIZE) as uint8, and their labels (M,).

    Crops are kept as 8-bit samples (the data sets' images are 8-bit) to hold a quarter of the memory.
    """
    generator = np.random.default_rng(seed)
    inputs, labels = [], []
    for rating in progress.bar(rated.ratings, desc="cropping", unit="image"):
        stacked, distorted, _ = read_stack(rating.distorted, rating.reference)
        height, width = distorted.shape[-2:]
        if min(height, width) < SIZE:
            raise BadInput(f"'{rating.distorted}' is {height} x {width} pixels; training cuts {SIZE} x {SIZE} crops, "
                           f"so give images of at least {SIZE} x {SIZE}")
        pair = np.rint(stacked[0].numpy() * 255).astype(np.uint8)
        for top, left in zip(generator.integers(0, height - SIZE + 1, crops),
                             generator.integers(0, width - SIZE + 1, crops)):
            inputs.append(pair[:, top:top + SIZE, left:left + SIZE])
            labels.append(rating.score)
    return torch.from_numpy(np.stack(inputs)), torch.tensor(labels, dtype=torch.float32)


def train_human(data: tuple[str, PathLike], out: PathLike, *, seed: int = 0, epochs: int = EPOCHS,
                width: int = ARCHITECTURE["width"], crops_per_photo: int = CROPS_PER_PHOTO,
                progress: Progress = SILENT) -> list[float]:
    """``rather iqa train --data NAME DIR``: the options checked as for the synthetic set, the data set read in its
    published layout, the model trained on its training references and written to ``out``; each epoch's loss."""
    check_option("--seed", seed, SEED)
    for (name, bound), value in zip(TRAINING.items(), (epochs, width, crops_per_photo)):
        check_option(name, value, bound)
    name, folder = data
    rated = load_rated_set(folder, name)
    progress.note(f"training WaDIQaM-FR (width {width}) on {rated.name} (seed {seed}, {epochs} epochs)")
    return train_on_rated(rated, name, out, seed=seed, epochs=epochs, width=width, crops=crops_per_photo,
                          progress=progress)[0]


def train_on_rated(rated: RatedSet, data_name: str, out: PathLike, *, seed: int, epochs: int, width: int,
                   crops: int, progress: Progress = SILENT) -> tuple[list[float], dict]:
    """WaDIQaM-FR (``width``) trained on the training references of ``rated``, written to ``out``: (losses, meta)."""
    training, test, test_references = split_references(rated, seed)
    progress.note(f"{rated.name}: {len(training.ratings)} training images, {len(test.ratings)} held out "
                  f"({len(test_references)} test references)")
    inputs, labels = random_crops(training, crops, seed, progress)
    architecture = {**ARCHITECTURE, "width": width}
    torch.manual_seed(seed)
    model = wadiqam_fr(**architecture)
    losses = train(model, inputs, labels, epochs=epochs, seed=seed, progress=progress)
    meta = {"layer": LAYER, "call": 0, "patch": 32, "seed": seed, "epochs": epochs, "size": SIZE,
            "crops_per_photo": crops, "labels": f"{rated.name} scores mapped to [0, 1]: {rated.original_scale}",
            "input": "(N, 6, H, W): distorted RGB then reference RGB, in [0, 1]", "final_loss": losses[-1],
            "trained_on": {"data": data_name, "split_seed": seed, "test_references": test_references}}
    save_checkpoint(out, model, FACTORY, architecture, meta)
    return losses, meta


def held_out_references(meta: dict, data_name: str, where: str) -> list[str] | None:
    """The test references a checkpoint trained on ``data_name`` recorded, or None if it trained on other data.

    The fields are read from a file, so they are checked: BadModel if they are not what training writes.
    """
    trained_on = meta.get("trained_on")
    if trained_on is None:
        return None
    names = trained_on.get("test_references") if isinstance(trained_on, dict) else None
    if not (isinstance(trained_on, dict) and isinstance(trained_on.get("data"), str) and isinstance(names, list)
            and names and all(isinstance(name, str) for name in names)):
        raise BadModel(f"'{where}': meta field 'trained_on' must hold 'data' (a name) and 'test_references' (a list "
                       "of file names), as rather iqa train --data writes it; train the model again")
    return names if trained_on["data"] == data_name else None


def trained_on_name(meta: dict) -> str | None:
    """The data set a checkpoint was trained on, by its ``--data`` name (None: the synthetic set or unknown)."""
    trained_on = meta.get("trained_on")
    return trained_on.get("data") if isinstance(trained_on, dict) else None

