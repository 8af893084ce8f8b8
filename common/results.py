"""The explanation result and its HDF5 store.

HDF5 layout (readable with plain h5py; schema 1)::

    /                     attrs: format="rather.explanations", schema=1, rather_version,
                                 task ("class"|"score"), layer, call, method, gradient_path,
                                 model_checksum, kinds (Q strings), notes (strings),
                                 class_names (strings, may be empty)
    /ids                  (N,) UTF-8 strings, the inputs in order
    /inputs/<id>/         one group per input
        maps              (Q, H, W) float32, each map in [0, 1]
        raw               (Q, h, w) float32, ReLU(sum_k alpha_k A_k) before upsampling
        outputs           (C,) float32, the model's logits (or its score, C = 1)
        attrs: index (position in /ids), p (Q,), q (Q,)  -- int64 classes (q = -1: no contrast)
                                                          or float64 scores (q = NaN: none)
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Optional

import h5py
import numpy as np
import torch

from ._version import __version__
from .errors import BadInput
from .questions import CLASS_TASK
from .storage import PathLike, atomic_path

FORMAT = "rather.explanations"
SCHEMA = 1


@dataclass(eq=False)
class ExplanationResult:
    """Maps answering Q questions about each of N inputs.

    maps: (N, Q, H, W) float32 in [0, 1], each map normalised on its own;
    raw: (N, Q, h, w) float32, non-negative, before upsampling and normalising;
    p, q: (N, Q) the prediction and contrast of each question (classes or scores);
    kinds: per question column, "why", "whatifnot", "rather", "rather_margin", "score_rather";
    outputs: (N, C) logits, or (N, 1) scores for a regression.
    """

    maps: torch.Tensor
    raw: torch.Tensor
    p: torch.Tensor
    q: torch.Tensor
    kinds: tuple[str, ...]
    outputs: torch.Tensor
    task: str
    layer: str
    method: str
    call: int = 0
    gradient_path: str = "autograd"
    ids: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    class_names: tuple[str, ...] = ()
    model_checksum: str = ""
    version: str = field(default=__version__)

    def __post_init__(self):
        if not self.ids:
            self.ids = tuple(f"{i:06d}" for i in range(self.maps.shape[0]))

    @property
    def probs(self) -> Optional[torch.Tensor]:
        """(N, C) softmax of the logits; None for a regression."""
        return torch.softmax(self.outputs.float(), dim=1) if self.task == CLASS_TASK else None

    @property
    def scores(self) -> Optional[torch.Tensor]:
        """(N,) the regression's scores; None for a classifier."""
        return None if self.task == CLASS_TASK else self.outputs[:, 0]

    @property
    def n_questions(self) -> int:
        return self.maps.shape[1]

    def name_of(self, label) -> str:
        """A class index as its name when names are known."""
        label = int(label)
        return self.class_names[label] if 0 <= label < len(self.class_names) else str(label)

    def title(self, index: int, question: int) -> str:
        """The question in words: 'Why cat?', 'Why cat, rather than dog?', 'Why 0.58, rather than 0.75?'."""
        kind = self.kinds[question]
        p, q = self.p[index, question], self.q[index, question]
        if self.task == CLASS_TASK:
            subject, contrast = self.name_of(p), self.name_of(q)
        else:
            subject, contrast = f"{float(p):.3g}", f"{float(q):.3g}"
        if kind == "why":
            return f"Why {subject}?"
        if kind == "whatifnot":
            return f"What if not {subject}?"
        return f"Why {subject}, rather than {contrast}?"

    def subset(self, index: slice) -> "ExplanationResult":
        """The answers about inputs ``index`` of the batch only (views, no copies)."""
        return replace(self, maps=self.maps[index], raw=self.raw[index], p=self.p[index], q=self.q[index],
                       outputs=self.outputs[index], ids=self.ids[index])

    def cpu(self) -> "ExplanationResult":
        """The same result with every tensor on the CPU."""
        return replace(self, maps=self.maps.cpu(), raw=self.raw.cpu(), outputs=self.outputs.cpu())

    def save(self, path: PathLike) -> Path:
        """Write the HDF5 store atomically (temporary file in the same folder, then rename)."""
        ids = [str(i) for i in self.ids]
        if len(set(ids)) != len(ids) or any("/" in i or not i for i in ids):
            raise BadInput(f"input ids must be unique, non-empty and free of '/'; got {ids[:5]}...")
        result = self.cpu()
        strings = h5py.string_dtype()
        with atomic_path(path) as temporary:
            with h5py.File(temporary, "w") as store:
                store.attrs.update({
                    "format": FORMAT, "schema": SCHEMA, "rather_version": self.version, "task": self.task,
                    "layer": self.layer, "call": self.call, "method": self.method,
                    "gradient_path": self.gradient_path, "model_checksum": self.model_checksum,
                })
                for name in ("kinds", "notes", "class_names"):
                    store.attrs.create(name, np.array(getattr(self, name), dtype=object), dtype=strings)
                store.create_dataset("ids", data=np.array(ids, dtype=object), dtype=strings)
                inputs = store.create_group("inputs")
                for index, name in enumerate(ids):
                    group = inputs.create_group(name)
                    group.create_dataset("maps", data=result.maps[index].numpy(), compression="gzip", shuffle=True)
                    group.create_dataset("raw", data=result.raw[index].numpy())
                    group.create_dataset("outputs", data=result.outputs[index].numpy())
                    group.attrs.update({"index": index, "p": self.p[index].numpy(), "q": self.q[index].numpy()})
        return Path(path)


def load(path: PathLike) -> ExplanationResult:
    """Read a result written by ``ExplanationResult.save``; tensors on the CPU."""
    try:
        store = h5py.File(path, "r")
    except (OSError, FileNotFoundError) as error:
        raise BadInput(f"cannot open '{path}' as HDF5 ({error}); give a file written by rather") from None
    with store:
        if store.attrs.get("format") != FORMAT:
            raise BadInput(f"'{path}' is not a rather explanation store (no format='{FORMAT}' attribute)")
        ids = tuple(item.decode() for item in store["ids"][()])
        groups = [store["inputs"][name] for name in ids]

        def stacked(name: str) -> torch.Tensor:
            return torch.from_numpy(np.stack([group[name][()] for group in groups]))

        def texts(name: str) -> tuple[str, ...]:
            return tuple(str(item) for item in store.attrs[name])

        return ExplanationResult(
            maps=stacked("maps"), raw=stacked("raw"), outputs=stacked("outputs"),
            p=torch.from_numpy(np.stack([group.attrs["p"] for group in groups])),
            q=torch.from_numpy(np.stack([group.attrs["q"] for group in groups])),
            kinds=texts("kinds"), notes=texts("notes"), class_names=texts("class_names"),
            task=str(store.attrs["task"]), layer=str(store.attrs["layer"]), call=int(store.attrs["call"]),
            method=str(store.attrs["method"]), gradient_path=str(store.attrs["gradient_path"]),
            model_checksum=str(store.attrs["model_checksum"]), version=str(store.attrs["rather_version"]),
            ids=ids,
        )
