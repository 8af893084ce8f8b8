"""The real Z3 salt patches (VRGeo ml-tutorials) as a ``--patches`` folder.

The data set holds 28 x 28 uint8 patches of the Z3 survey (Dutch offshore) labelled 1 =
salt, 0 = background, as ``patches_{train,test}.npy`` and ``labels_{train,test}.npy``.
``write_z3_patches`` writes one split as ``OUT/background/pN.npy`` and
``OUT/salt_dome/pN.npy`` (N: the patch's index in the split), each the patch's grey
levels minus 127.5, so that mid-grey is zero amplitude; the folder names are the
four-class classifier's, so ``rather seismic evaluate --patches OUT --binary salt_dome``
scores salt against the rest.

>>> write_z3_patches("../shared/data/real/seismic/z3-salt-patches", "z3-test", "test")
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from rather.common.errors import BadInput
from rather.common.storage import PathLike

Z3_CLASSES = ("background", "salt_dome")
"""The folder of each Z3 label (0, 1)."""
Z3_SPLITS = ("train", "test")


def write_z3_patches(data: PathLike, out: PathLike, split: str = "test") -> Path:
    """The Z3 patches of ``split`` under ``data`` as a ``--patches`` folder ``out`` (see the module); returns
    ``out``. Refused: an unknown split, missing files, labels other than 0 and 1."""
    if split not in Z3_SPLITS:
        raise BadInput(f"Z3 split {split!r}: give one of {', '.join(Z3_SPLITS)}")
    data, out = Path(data), Path(out)
    try:
        patches = np.load(data / f"patches_{split}.npy")
        labels = np.load(data / f"labels_{split}.npy")
    except OSError:
        raise BadInput(f"{data}: needs patches_{split}.npy and labels_{split}.npy of the Z3 salt data") from None
    if patches.ndim != 3 or labels.shape != patches.shape[:1] or not np.isin(labels, (0, 1)).all():
        raise BadInput(f"{data}: patches_{split}.npy must be (N, H, W) with labels_{split}.npy holding N labels "
                       "of 0 (background) or 1 (salt)")
    for label, name in enumerate(Z3_CLASSES):
        folder = out / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in np.flatnonzero(labels == label):
            np.save(folder / f"p{index}.npy", patches[index].astype(np.float32) - 127.5)
    return out
