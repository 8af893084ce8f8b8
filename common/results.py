"""The explanation result and its HDF5 store.

HDF5 layout (readable with plain h5py; schema 1)::

    /                     attrs: format="rather.explanations", schema=1, rather_version,
                                 task ("class"|"score"), layer, call, method, gradient_path,
                                 model_checksum, kinds (Q strings: why, whatifnot, rather,
                                 rather_margin, score_rather), notes (strings),
                                 class_names (strings, may be empty)
    /ids                  (N,) UTF-8 strings, the inputs in order
    /inputs/<id>/         one group per input
        maps              (Q, H, W) float32, each map in [0, 1]; (Q, D, H, W) over a volume
        raw               (Q, h, w) float32, ReLU(sum_k alpha_k A_k) before upsampling; (Q, d, h, w) likewise
        outputs           (C,) float32, the model's logits (or its score, C = 1); (C, *S) for dense logits
        attrs: index (position in /ids), p (Q,), q (Q,)  -- int64 classes (q = -1: no contrast)
                                                          or float64 scores (q = NaN: none)
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path
from typing import Optional, Union

import h5py
import numpy as np
import torch

from ._version import __version__
from .errors import BadInput
from .maps import FeatureGrid, normalise_, upsample
from .memory import require_memory
from .questions import Kind, Task, question_title
from .storage import PathLike, hdf5_output

FORMAT = "rather.explanations"
SCHEMA = 1
SAVE_BLOCK = 64 * 2**20
"""Bytes of full-size maps made at once while a result is saved."""


@dataclass(frozen=True)
class Upsampling:
    """How raw maps become maps over the input: bilinear to ``size`` (on ``grid``), then normalised per map."""

    size: tuple[int, ...]
    grid: Optional[FeatureGrid] = None

    def __call__(self, raw: torch.Tensor) -> torch.Tensor:
        """(..., h, w) raw maps -> (..., *size) maps in [0, 1], a new tensor on raw's device
        (``size`` of three: volumes (..., d, h, w))."""
        spatial = len(self.size)
        flat = raw.reshape(-1, 1, *raw.shape[-spatial:]).contiguous()  # normalise_ works in place on contiguous maps
        return normalise_(upsample(flat, self.size, self.grid), spatial).reshape(*raw.shape[:-spatial], *self.size)


class _MadeOnRead:
    """The ``maps`` field: a tensor, or an ``Upsampling`` of ``raw`` that becomes the tensor on first read.

    Data descriptor of a dataclass field: the generated ``__init__`` and ``replace`` set it
    like any field; reading it on the class raises AttributeError, so the field has no default.
    """

    def __set_name__(self, owner: type, name: str) -> None:
        self.slot = f"_{name}"

    def __get__(self, result, owner=None) -> torch.Tensor:
        if result is None:
            raise AttributeError("maps is a field of each result")
        value = result.__dict__[self.slot]
        if isinstance(value, Upsampling):
            value = result.__dict__[self.slot] = value(result.raw)
        return value

    def __set__(self, result, value: Union[torch.Tensor, Upsampling]) -> None:
        result.__dict__[self.slot] = value


@dataclass(eq=False)
class ExplanationResult:
    """Maps answering Q questions about each of N inputs.

    maps: (N, Q, H, W) float32 in [0, 1], each map normalised on its own ((N, Q, D, H, W) over
        volumes); given as an ``Upsampling`` (as the explainer does), they are made from ``raw``
        on first read of ``maps``, so that a result of many questions holds only its small raw
        maps until then (``maps_at`` makes some of them only, ``save`` a block at a time);
    raw: (N, Q, h, w) float32, non-negative, before upsampling and normalising ((N, Q, d, h, w) likewise);
    p, q: (N, Q) the prediction and contrast of each question (classes or scores);
    kinds: per question column, a ``Kind`` (plain strings are taken and checked);
    outputs: (N, C) logits, or (N, 1) scores for a regression, or dense logits (N, C, *S) (questions over
    a region); task: ``Task.CLASS`` or ``Task.SCORE``.
    """

    maps: torch.Tensor = _MadeOnRead()
    raw: torch.Tensor
    p: torch.Tensor
    q: torch.Tensor
    kinds: tuple[Kind, ...]
    outputs: torch.Tensor
    task: Task
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
        self.task = _member(Task, self.task, "task")
        self.kinds = tuple(_member(Kind, kind, "question kind") for kind in self.kinds)
        if not self.ids:
            self.ids = tuple(f"{i:06d}" for i in range(self.raw.shape[0]))
        self.notes = tuple(dict.fromkeys(tuple(self.notes) + _blank_notes(self)))

    def __repr__(self) -> str:
        made = "made" if self.maps_made else "made on first read"
        return (f"ExplanationResult({self.raw.shape[0]} inputs x {self.n_questions} questions, layer='{self.layer}', "
                f"method='{self.method}', gradient_path='{self.gradient_path}', maps {made})")

    @property
    def maps_made(self) -> bool:
        """Whether the full-size maps exist yet (they are made on the first read of ``maps``)."""
        return self._upsampling is None

    @property
    def _upsampling(self) -> Optional[Upsampling]:
        """How the maps are still to be made from ``raw``; None once they are made (or were given)."""
        value = self.__dict__["_maps"]
        return value if isinstance(value, Upsampling) else None

    def maps_at(self, index: Union[int, slice, tuple]) -> torch.Tensor:
        """``maps[index]`` for an index of the first two dimensions (inputs, questions), making only those maps.

        >>> res.maps_at((0, slice(0, 10)))   # input 0, questions 0..9: (10, H, W)
        """
        return self._upsampling(self.raw[index]) if self._upsampling else self.maps[index]

    @property
    def probs(self) -> Optional[torch.Tensor]:
        """(N, C) softmax of the logits; None for a regression."""
        return torch.softmax(self.outputs.float(), dim=1) if self.task == Task.CLASS else None

    @property
    def scores(self) -> Optional[torch.Tensor]:
        """(N,) the regression's scores; None for a classifier."""
        return None if self.task == Task.CLASS else self.outputs[:, 0]

    @property
    def n_questions(self) -> int:
        return self.raw.shape[1]

    def name_of(self, label) -> str:
        """A class index as its name when names are known."""
        label = int(label)
        return self.class_names[label] if 0 <= label < len(self.class_names) else str(label)

    def title(self, index: int, question: int) -> str:
        """The question in words (``question_title``): 'Why cat?', 'Why cat, rather than dog?',
        'Why cat, rather than dog? (margin)', 'Why 0.58, rather than 0.75?'."""
        p, q = self.p[index, question], self.q[index, question]
        if self.task == Task.CLASS:
            subject, contrast = self.name_of(p), self.name_of(q)
        else:
            subject, contrast = f"{float(p):.3g}", f"{float(q):.3g}"
        return question_title(self.kinds[question], subject, contrast)

    def blank(self) -> torch.Tensor:
        """(N, Q) bool on the CPU: True where a map is all zero after the ReLU (no positive evidence)."""
        return (self.raw.flatten(2).amax(dim=2) <= 0).cpu()

    def subset(self, index: slice) -> "ExplanationResult":
        """The answers about inputs ``index`` of the batch only (views, no copies; maps still to make stay so)."""
        return replace(self, maps=self._upsampling or self.maps[index], raw=self.raw[index], p=self.p[index],
                       q=self.q[index], outputs=self.outputs[index], ids=self.ids[index])

    def cpu(self) -> "ExplanationResult":
        """The same result with every tensor on the CPU (maps still to make are made there when read)."""
        return replace(self, maps=self._upsampling or self.maps.cpu(), raw=self.raw.cpu(), outputs=self.outputs.cpu())

    def save(self, path: PathLike) -> Path:
        """Write the HDF5 store atomically (temporary file in the same folder, then rename)."""
        ids = [str(i) for i in self.ids]
        if len(set(ids)) != len(ids) or any("/" in i or not i for i in ids):
            raise BadInput(f"input ids must be unique, non-empty and free of '/'; got {ids[:5]}...")
        result = self.cpu()
        strings = h5py.string_dtype()
        with hdf5_output(path) as store:  # a full disk: one BadInput, never a crash of the HDF5 library
            store.attrs.update({
                "format": FORMAT, "schema": SCHEMA, "rather_version": self.version, "task": self.task.value,
                "layer": self.layer, "call": self.call, "method": self.method,
                "gradient_path": self.gradient_path, "model_checksum": self.model_checksum,
            })
            for name in ("kinds", "notes", "class_names"):
                texts = [str(item) for item in getattr(self, name)]  # a Kind as its plain string
                store.attrs.create(name, np.array(texts, dtype=object), dtype=strings)
            store.create_dataset("ids", data=np.array(ids, dtype=object), dtype=strings)
            inputs = store.create_group("inputs")
            for index, name in enumerate(ids):
                group = inputs.create_group(name)
                result._write_maps(group, index)
                group.create_dataset("raw", data=result.raw[index].numpy())
                group.create_dataset("outputs", data=result.outputs[index].numpy())
                group.attrs.update({"index": index, "p": self.p[index].numpy(), "q": self.q[index].numpy()})
        return Path(path)

    def _write_maps(self, group: h5py.Group, index: int) -> None:
        """Dataset ``maps`` of input ``index``, made and written a block of questions at a time."""
        size = self._upsampling.size if self._upsampling else tuple(self.maps.shape[2:])
        block = max(1, SAVE_BLOCK // (4 * math.prod(size)))
        dataset = None
        for start in range(0, self.n_questions, block):
            part = self.maps_at((index, slice(start, start + block))).numpy()
            if dataset is None:
                dataset = group.create_dataset("maps", shape=(self.n_questions, *part.shape[1:]), dtype=part.dtype,
                                               compression="gzip", shuffle=True)
            dataset[start:start + len(part)] = part


def _blank_notes(result: ExplanationResult, shown: int = 3) -> tuple[str, ...]:
    """One note per input with blank maps (``blank``), naming the input and up to ``shown`` of its questions.

    A map that is all zero after the ReLU is an answer (nothing at this layer speaks for the
    question), not a failure; said here, it is not mistaken for a missing panel.
    """
    where = "at the input" if result.layer == "input" else f"at layer '{result.layer}'"
    notes = []
    for index, row in enumerate(result.blank().tolist()):
        questions = [column for column, empty in enumerate(row) if empty]
        if not questions:
            continue
        titles = ", ".join(f"'{result.title(index, column)}'" for column in questions[:shown])
        more = f" and {len(questions) - shown} more" if len(questions) > shown else ""
        maps = "its map is" if len(questions) == 1 else "their maps are"
        notes.append(f"input {result.ids[index]}: no positive evidence {where} for {titles}{more} "
                     f"({maps} all zero after the ReLU)")
    return tuple(notes)


def load(path: PathLike) -> ExplanationResult:
    """Read a result written by ``ExplanationResult.save``; tensors on the CPU.

    Every part of the file is checked against the layout in the module docstring before
    use; a file that is not such a store, or a damaged one, is refused (BadInput) with what
    is wrong and where, never with h5py's or numpy's own error.
    """
    path = Path(path)
    with _open_store(path) as store:
        try:
            return _StoreReader(store, path).result()
        except OSError:  # HDF5's own failure on a damaged part the checks below did not reach
            raise BadInput(f"cannot read '{path}': the HDF5 file is damaged; write the explanations again") from None


def _open_store(path: Path) -> h5py.File:
    if path.is_dir():
        raise BadInput(f"'{path}' is a folder; give an explanation store written by rather (explanations.h5)")
    if not path.is_file():
        raise BadInput(f"'{path}' does not exist; give an explanation store written by rather (explanations.h5)")
    if path.stat().st_size == 0:
        raise BadInput(f"cannot open '{path}': the file is empty (0 bytes); write the explanations again")
    try:
        return h5py.File(path, "r")
    except OSError:
        with path.open("rb") as file:
            signed = file.read(len(_HDF5_SIGNATURE)) == _HDF5_SIGNATURE
    if signed:
        raise BadInput(f"cannot open '{path}': the HDF5 file is truncated or damaged; write the explanations again")
    raise BadInput(f"cannot open '{path}': it is not an HDF5 file; give an explanation store written by rather "
                   "(explanations.h5)")


_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


class _StoreReader:
    """Reads one open store, checking each item before use; ``fail`` names the file and the item."""

    def __init__(self, store: h5py.File, path: Path):
        self.store, self.path = store, path

    def fail(self, where: str, what: str) -> BadInput:
        return BadInput(f"'{self.path}' is not a valid explanation store: {where} {what}; "
                        "write the explanations again with rather")

    def result(self) -> ExplanationResult:
        if self.store.attrs.get("format") != FORMAT:
            raise BadInput(f"'{self.path}' is not a rather explanation store (no format='{FORMAT}' attribute); "
                           "give a file written by ExplanationResult.save")
        schema = self.integer(self.store, "schema")
        if schema > SCHEMA:
            raise BadInput(f"'{self.path}' has store schema {schema}, newer than this rather ({__version__}, "
                           f"schema {SCHEMA}) reads; upgrade rather")
        task = self.text("task")
        if task not in _values(Task):
            raise self.fail("attribute 'task' of '/'", f"is '{task}', expected '{Task.CLASS}' or '{Task.SCORE}'")
        kinds = self.texts("kinds")
        unknown = [kind for kind in kinds if kind not in _values(Kind)]
        if unknown:
            raise self.fail("attribute 'kinds' of '/'", f"names the unknown question kind '{unknown[0]}', expected "
                                                        f"one of {', '.join(_values(Kind))}")
        ids = self.ids()
        inputs = [self.input(name, len(kinds), task) for name in ids]
        for index, name in enumerate(("maps", "raw", "outputs")):
            shapes = {tuple(item[index].shape) for item in inputs}
            if len(shapes) > 1:
                raise self.fail(f"'{name}'", f"differs in shape between inputs: {sorted(shapes)}")
        columns = list(zip(*inputs))
        maps, raw, outputs, p, q = (torch.from_numpy(np.stack(column)) for column in columns)
        if task == Task.SCORE and outputs.shape[1] != 1:
            raise self.fail("'outputs'", f"holds {outputs.shape[1]} values per input; a score task has one")
        call = self.integer(self.store, "call")
        if call < 0:
            raise self.fail("attribute 'call' of '/'", f"is {call}, expected a non-negative integer")
        return ExplanationResult(
            maps=maps, raw=raw, outputs=outputs, p=p, q=q, kinds=kinds, notes=self.texts("notes"),
            class_names=self.texts("class_names"), task=task, layer=self.text("layer"), call=call,
            method=self.text("method"), gradient_path=self.text("gradient_path"),
            model_checksum=self.text("model_checksum"), version=self.text("rather_version"), ids=ids,
        )

    def attribute(self, owner: h5py.HLObject, name: str):
        if name not in owner.attrs:
            raise self.fail(f"attribute '{name}' of '{owner.name}'", "is missing")
        try:
            return owner.attrs[name]
        except (OSError, TypeError, ValueError):  # a type h5py cannot map to numpy
            raise self.fail(f"attribute '{name}' of '{owner.name}'", "cannot be read") from None

    def text(self, name: str) -> str:
        value = self.attribute(self.store, name)
        if isinstance(value, bytes):
            value = value.decode("utf-8", errors="replace")
        if not isinstance(value, str):
            raise self.fail(f"attribute '{name}' of '/'", f"is {_described(value)}, expected text")
        return value

    def texts(self, name: str) -> tuple[str, ...]:
        value = self.attribute(self.store, name)
        items = value.tolist() if isinstance(value, np.ndarray) and value.ndim == 1 else None
        if items is None or not all(isinstance(item, (str, bytes)) for item in items):
            raise self.fail(f"attribute '{name}' of '/'", f"is {_described(value)}, expected a list of texts")
        return tuple(item.decode("utf-8", errors="replace") if isinstance(item, bytes) else item for item in items)

    def integer(self, owner: h5py.HLObject, name: str) -> int:
        value = self.attribute(owner, name)
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise self.fail(f"attribute '{name}' of '{owner.name}'", f"is {_described(value)}, expected an integer")
        return int(value)

    def node(self, where: str, kind: type) -> h5py.HLObject:
        try:
            node = self.store.get(where)
        except (OSError, KeyError, ValueError):
            raise self.fail(f"'{where}'", "cannot be read (the file is damaged)") from None
        if node is None:
            raise self.fail(f"'{where}'", "is missing")
        if not isinstance(node, kind):
            raise self.fail(f"'{where}'", f"is a {type(node).__name__}, expected a {kind.__name__}")
        return node

    def read(self, dataset: h5py.Dataset) -> np.ndarray:
        """The whole dataset, its size checked against the free memory first."""
        require_memory(dataset.size * dataset.dtype.itemsize, f"reading '{dataset.name}' of '{self.path}'",
                       "free memory")
        try:
            return dataset[()]
        except (OSError, TypeError, ValueError):
            raise self.fail(f"'{dataset.name}'", "cannot be read (the file is truncated or damaged)") from None

    def ids(self) -> tuple[str, ...]:
        dataset = self.node("/ids", h5py.Dataset)
        if dataset.ndim != 1 or h5py.check_string_dtype(dataset.dtype) is None:
            raise self.fail("'/ids'", f"is {_described(dataset)}, expected a list of texts")
        ids = tuple(item.decode("utf-8", errors="replace") if isinstance(item, bytes) else str(item)
                    for item in self.read(dataset))
        if not ids:
            raise self.fail("'/ids'", "is empty; a store holds at least one input")
        if len(set(ids)) != len(ids) or any("/" in name or not name for name in ids):
            raise self.fail("'/ids'", "repeats a name or holds an empty one or one with '/'")
        return ids

    def numbers(self, group: h5py.Group, name: str, ndims: tuple[int, ...], expected: str) -> np.ndarray:
        """A numeric dataset of ``group`` with one of ``ndims`` dimensions (``expected`` names them)."""
        dataset = self.node(f"{group.name}/{name}", h5py.Dataset)
        if dataset.dtype.kind != "f" or dataset.ndim not in ndims:
            raise self.fail(f"'{dataset.name}'", f"is {_described(dataset)}, expected a float array {expected}")
        if 0 in (dataset.shape[1:] if dataset.ndim > 1 else dataset.shape):  # pixels or classes; zero questions
            raise self.fail(f"'{dataset.name}'", f"is empty: shape {dataset.shape}, expected a float array "  # is
                                                 f"{expected} with at least one pixel (or class)")  # told by 'kinds'
        return self.read(dataset)

    def input(self, name: str, questions: int, task: str) -> tuple[np.ndarray, ...]:
        """maps, raw, outputs, p and q of one input, each checked."""
        group = self.node(f"/inputs/{name}", h5py.Group)
        maps = self.numbers(group, "maps", (3, 4), "(questions, H, W) or (questions, D, H, W)")
        raw = self.numbers(group, "raw", (maps.ndim,), "(questions, h, w)" if maps.ndim == 3 else
                           "(questions, d, h, w), as 'maps' is over volumes")
        outputs = self.numbers(group, "outputs", (1, 3, 4), "(classes,) or dense (classes, *pixels)")
        for label, array in (("maps", maps), ("raw", raw)):
            if array.shape[0] != questions:
                raise self.fail(f"'{group.name}/{label}'", f"has {array.shape[0]} questions but attribute 'kinds' "
                                                           f"names {questions}")
        for label, array in (("maps", maps), ("raw", raw), ("outputs", outputs)):
            if not np.isfinite(array).all():
                raise self.fail(f"'{group.name}/{label}'", "holds NaN or Inf")
        if maps.size and (maps.min() < 0 or maps.max() > 1):
            raise self.fail(f"'{group.name}/maps'", f"holds values outside [0, 1] (from {maps.min():g} to "
                                                    f"{maps.max():g}); maps are normalised")
        if raw.size and raw.min() < 0:
            raise self.fail(f"'{group.name}/raw'", "holds negative values; raw maps are ReLU outputs")
        p, q = (self.labels(group, label, questions, task, len(outputs)) for label in ("p", "q"))
        return maps, raw, outputs, p, q

    def labels(self, group: h5py.Group, name: str, questions: int, task: str, classes: int) -> np.ndarray:
        """Attribute p or q: (questions,) class indices below ``classes`` (int64; q = -1: no contrast)
        or finite scores (float64; q = NaN: no contrast)."""
        where = f"attribute '{name}' of '{group.name}'"
        value = np.asarray(self.attribute(group, name))
        kinds = "iu" if task == Task.CLASS else "f"
        if value.dtype.kind not in kinds or value.shape != (questions,):
            expected = "class indices" if task == Task.CLASS else "scores"
            raise self.fail(where, f"is {_described(value)}, expected {questions} {expected}")
        if task == Task.CLASS:
            lowest = -1 if name == "q" else 0
            if value.size and (value.min() < lowest or value.max() >= classes):
                raise self.fail(where, f"holds classes outside {lowest}..{classes - 1} ({classes} outputs)")
            return value.astype(np.int64)
        if not (np.isfinite(value) | (name == "q") & np.isnan(value)).all():
            raise self.fail(where, "holds NaN or Inf, expected finite scores" + (" (NaN: no contrast)" if name == "q"
                                                                                else ""))
        return value.astype(np.float64)


def _values(names: type[Enum]) -> tuple[str, ...]:
    """The plain strings of an enum of names (``Kind``, ``Task``), in order."""
    return tuple(member.value for member in names)


def _member(names: type[Enum], value, what: str):
    """``value`` (a member or its string) as a member of ``names``; BadInput naming the choices otherwise."""
    if value not in _values(names):
        raise BadInput(f"unknown {what} {value!r}: use one of {', '.join(_values(names))}")
    return names(value)


def _described(value) -> str:
    """A value's kind in a few words: "text", "an array of float64, shape (3,)", "the int64 value 5"."""
    if isinstance(value, (str, bytes)):
        return "text"
    if isinstance(value, (h5py.Dataset, np.ndarray)):
        kind = "texts" if value.dtype.kind in "OSU" else str(value.dtype)
        return f"an array of {kind}, shape {tuple(value.shape)}"
    return f"the {type(value).__name__} value {value}"
