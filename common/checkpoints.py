"""What a checkpoint file may hold, checked field by field before anything in it is used.

A checkpoint is read with ``torch.load(weights_only=True)``: tensors and plain values, no
pickled code. It is a plain state dict (names -> tensors) or rather's dict
``{"state_dict", "factory", "kwargs", "meta"}`` (``save_checkpoint``). Everything in it
was written by whoever made the file, so nothing in it is trusted:

- ``factory`` is a name, never code to run. It is imported and called only if it is one
  of rather's own architectures (``ARCHITECTURES``), with only the keyword arguments that
  architecture declares, each within its bounds. Any other factory must be named by the
  user, who thereby trusts it: ``load_model("module:factory", path)`` in Python,
  ``--model module:factory`` on the command line.
- ``state_dict`` maps names to dense CPU tensors; whether they fit the architecture
  (names, shapes, dtypes) is checked when the model is built.
- ``kwargs`` and ``meta`` are dicts of plain JSON-like values (None, bool, int, float,
  str, lists and dicts of those with string keys), at most ``MAX_DEPTH`` deep and
  ``MAX_VALUES`` values in all.
- ``checksum``, if present, is ``model_checksum`` of the model that was saved (64 hex
  digits); ``load_model`` compares it with the model it built. Checkpoints written before
  this field existed (and plain state dicts) load unverified.
- The meta fields rather reads (``META_RULES``: class names, layer, call, patch,
  preprocessing) have the types and ranges rather needs; what only a domain knows (a
  patch that fits a survey) is checked where the domain uses it.

Before anything is unpickled, the file's bytes are checked: a checkpoint written by
``torch.save`` (PyTorch 1.6 and later) is a zip archive whose members each carry a CRC-32,
and every member is read and checked (``zipfile.ZipFile.testzip``), so flipped or missing
bytes are refused instead of loading as different weights. A legacy checkpoint (not a zip
archive, written with ``_use_new_zipfile_serialization=False``) carries no CRC: it is loaded
unverified, as torch reads it.
"""
from __future__ import annotations

import math
import re
import sys
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, NamedTuple, Optional

import torch

from .errors import BadInput, BadModel
from .storage import PathLike

MAX_DEPTH = 16  # lists and dicts inside kwargs or meta
MAX_VALUES = 1_000_000  # values in kwargs or meta, all levels together
MAX_SIDE = 2048  # a side of a model's input size, in pixels
MAX_PATCH = 1024  # a side of a patch, in pixels or samples
MAX_CLASSES = 10_000
MAX_CHANNELS = 64
RESAVE = "re-save the model with rather.common.save_checkpoint"


class Bound(NamedTuple):
    """What a keyword argument of an architecture may be: a number of ``kind`` in [low, high] (or None)."""

    kind: type  # int or float
    low: float
    high: float
    optional: bool = False

    def admits(self, value: Any) -> bool:
        if value is None:
            return self.optional
        if isinstance(value, bool) or not isinstance(value, int if self.kind is int else (int, float)):
            return False
        return (isinstance(value, int) or math.isfinite(value)) and self.low <= value <= self.high

    def __str__(self) -> str:
        what = "a whole number" if self.kind is int else "a number"
        return f"{what} in [{self.low}, {self.high}]{' or None' if self.optional else ''}"


_WADIQAM = {"width": Bound(int, 1, 64), "hidden": Bound(int, 1, 4096, optional=True), "dropout": Bound(float, 0, 1)}

ARCHITECTURES: dict[str, dict[str, Bound]] = {
    "rather.common.networks:SmallCNN": {
        "num_classes": Bound(int, 1, MAX_CLASSES), "in_channels": Bound(int, 1, MAX_CHANNELS),
        "width": Bound(int, 1, 512), "pools": Bound(int, 0, 4), "padding": Bound(int, 0, 8),
    },
    **{f"rather.iqa.networks:{name}": _WADIQAM for name in ("wadiqam_fr", "wadiqam_nr", "diqam_fr", "diqam_nr")},
    "rather.seismic.networks:SeismicUNet": {
        "num_classes": Bound(int, 1, MAX_CLASSES), "in_channels": Bound(int, 1, MAX_CHANNELS),
        "width": Bound(int, 1, 128), "depth": Bound(int, 1, 4),
    },
}
"""rather's own architectures: the only factories a checkpoint may name, with the keywords each takes.

Named as strings (rather.common imports no domain); bounded so that a file cannot ask for
a model larger or slower than the architecture was made for."""


@dataclass(frozen=True)
class Checkpoint:
    """The validated content of a weights file; ``factory`` is None for a plain state dict."""

    path: Path
    state_dict: dict[str, torch.Tensor]
    factory: Optional[str] = None
    kwargs: dict[str, Any] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)
    checksum: Optional[str] = None


def shown(value: Any, most: int = 60) -> str:
    """``value`` as one short line of ASCII, to quote something read from a file in a message."""
    text = ascii(value)
    return text if len(text) <= most else text[: most - 3] + "..."


def is_factory_name(spec: Any) -> bool:
    """Whether ``spec`` has the form ``package.module:factory`` (dotted identifiers on both sides)."""
    if not isinstance(spec, str) or spec.count(":") != 1 or len(spec) > 200:
        return False
    return all(part.isidentifier() for side in spec.split(":") for part in side.split("."))


def read_checkpoint(path: PathLike) -> Checkpoint:
    """The checkpoint at ``path``, every field checked (see the module docstring); BadModel if any is wrong."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"weights file '{path}' does not exist (or is not a file); give the path of a .pt/.pth file")
    content = _load(path)
    if not isinstance(content, dict):
        raise BadModel(f"'{path}' holds a {type(content).__name__}, not a state dict; save model.state_dict()")
    if "state_dict" not in content:
        return Checkpoint(path, _checked_state(content, path, "the file"))
    factory = content.get("factory")
    if factory is not None and not is_factory_name(factory):
        raise BadModel(f"'{path}': its factory {shown(factory)} is not a name of the form module:factory; {RESAVE}")
    kwargs, meta = content.get("kwargs", {}), content.get("meta", {})
    for name, value in (("kwargs", kwargs), ("meta", meta)):
        problem = plain_problem(value, name)
        if problem:
            raise BadModel(f"'{path}': {problem}; {RESAVE}")
    problem = meta_problem(meta)
    if problem:
        raise BadModel(f"'{path}': {problem}; {RESAVE}")
    checksum = content.get("checksum")
    if checksum is not None and not (isinstance(checksum, str) and re.fullmatch(r"[0-9a-f]{64}", checksum)):
        raise BadModel(f"'{path}': its checksum {shown(checksum)} is not 64 hexadecimal digits; {RESAVE}")
    state = _checked_state(content["state_dict"], path, "its state_dict")
    return Checkpoint(path, state, factory, kwargs, meta, checksum)


def verify_archive(path: Path) -> None:
    """BadModel unless every member of the zip archive at ``path`` has the CRC-32 it records.

    torch.save writes members stored as they are (no compression), so the check reads each
    byte of the file once. A file that is not a zip archive (a legacy checkpoint, or no
    checkpoint at all) is left to torch.load, which refuses what it cannot read.
    """
    if not zipfile.is_zipfile(path):
        return
    damaged = (f"'{path}' is damaged: {{}}, so its weights are not what torch.save wrote; copy the file again "
               "(or write it again with torch.save)")
    try:
        with zipfile.ZipFile(path) as archive:
            packed = [info.filename for info in archive.infolist() if info.compress_type != zipfile.ZIP_STORED]
            if packed:
                raise BadModel(f"'{path}' is a zip archive with compressed members ({shown(packed[0])}), which "
                               "torch.save never writes; give a checkpoint written by torch.save")
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError):
        raise BadModel(damaged.format("its zip archive cannot be read through")) from None
    if bad is not None:
        raise BadModel(damaged.format(f"the member {shown(bad)} fails its CRC-32 check"))


def _load(path: Path) -> Any:
    """``torch.load(weights_only=True)`` of an archive whose CRCs check, with every failure (and torch's warnings)
    as one BadModel line."""
    verify_archive(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # e.g. "Detected pickle protocol 4": our refusal says it all
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # however torch.load fails, one of three lines says it
        if path.stat().st_size == 0:
            raise BadModel(f"'{path}' is empty (0 bytes); give a checkpoint written by torch.save") from None
        named = re.search(r"GLOBAL ([\w.]+)", str(error))
        if named and not _cut_short(named.group(1)):
            raise BadModel(
                f"'{path}' needs arbitrary code to unpickle, which rather refuses (weights_only=True): it pickles "
                f"{shown(named.group(1), 80)}; save a plain state dict instead: torch.save(model.state_dict(), path)"
            ) from None
        raise BadModel(
            f"'{path}' is not a readable PyTorch checkpoint (truncated, damaged, or not written by torch.save "
            "of tensors and plain values); write it again with torch.save(model.state_dict(), path)"
        ) from None


def _cut_short(name: str) -> bool:
    """Whether a global that torch.load refused is a torch name cut short: a damaged file, not pickled code.

    Only modules already imported are looked at: a name read from a file is never imported.
    """
    module, _, attribute = name.rpartition(".")
    return name.startswith("torch.") and not hasattr(sys.modules.get(module), attribute)


def _checked_state(state: Any, path: Path, where: str) -> dict[str, torch.Tensor]:
    """``state`` if it maps names to dense CPU tensors, else BadModel saying which entry is not one."""
    advice = "a training checkpoint? save model.state_dict() alone" if where == "the file" else RESAVE
    if not isinstance(state, dict):
        raise BadModel(f"'{path}': {where} is a {type(state).__name__}, not a dict of tensors; {RESAVE}")
    for name, tensor in state.items():
        if not isinstance(name, str):
            raise BadModel(f"'{path}': {where} has the key {shown(name)}, not a parameter name; {advice}")
        if not isinstance(tensor, torch.Tensor):
            raise BadModel(f"'{path}': {where} holds {shown(name)} = a {type(tensor).__name__}, not a tensor; "
                           f"{advice}")
        if tensor.layout != torch.strided or tensor.device.type != "cpu":
            raise BadModel(f"'{path}': {where} holds {shown(name)} as a {tensor.layout} tensor on {tensor.device}, "
                           "not a dense tensor with values; save model.state_dict() of a model on the CPU")
    return state


def plain_problem(value: Any, where: str) -> Optional[str]:
    """None if ``value`` is a dict of plain JSON-like values (see the module docstring), else what is wrong."""
    if not isinstance(value, dict):
        return f"{where} is a {type(value).__name__}, not a dict"
    pending, count = [(value, where, 0)], 0
    while pending:  # iterative: depth and count are bounded, so a nested or cyclic structure ends here
        item, place, depth = pending.pop()
        count += 1
        if count > MAX_VALUES:
            return f"{where} holds more than {MAX_VALUES} values"
        if isinstance(item, (dict, list, tuple)) and depth >= MAX_DEPTH:
            return f"{place} is nested more than {MAX_DEPTH} levels deep"
        if isinstance(item, dict):
            for key, inner in item.items():
                if not isinstance(key, str):
                    return f"{place} has the key {shown(key)}, not a string"
                pending.append((inner, f"{place}[{shown(key, 40)}]", depth + 1))
        elif isinstance(item, (list, tuple)):
            pending.extend((inner, f"{place}[{index}]", depth + 1) for index, inner in enumerate(item))
        elif not (item is None or isinstance(item, (bool, int, float, str))):
            return f"{place} is a {type(item).__name__}, not a plain value (None, bool, number, text, list or dict)"
    return None


class Rule(NamedTuple):
    """A meta field rather reads: the test its value must pass, and what that means in words."""

    test: Callable[[Any], bool]
    expected: str


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _one_line(value: Any) -> bool:
    return isinstance(value, str) and 0 < len(value) <= 200 and value.isprintable()


def _list_of(value: Any, test: Callable[[Any], bool], least: int, most: int) -> bool:
    return isinstance(value, (list, tuple)) and least <= len(value) <= most and all(test(item) for item in value)


META_RULES: dict[str, Rule] = {
    "class_names": Rule(lambda value: _list_of(value, _one_line, 0, MAX_CLASSES),
                        f"a list of at most {MAX_CLASSES} class names (one line of text each)"),
    "layer": Rule(_one_line, "a layer's dotted name (one line of text)"),
    "call": Rule(lambda value: _whole(value, 0, 1000), "a whole number >= 0 (which call of the layer)"),
    "patch": Rule(lambda value: _whole(value, 1, MAX_PATCH), f"a whole number of samples in [1, {MAX_PATCH}]"),
    "preprocess": Rule(lambda value: isinstance(value, dict), "a dict (size, mean, std, channels)"),
    "preprocess.size": Rule(lambda value: _list_of(value, lambda side: _whole(side, 1, MAX_SIDE), 2, 2),
                            f"[H, W], two whole numbers of pixels in [1, {MAX_SIDE}]"),
    "preprocess.mean": Rule(lambda value: _list_of(value, _finite, 1, MAX_CHANNELS),
                            f"a list of 1 to {MAX_CHANNELS} finite numbers, one per channel"),
    "preprocess.std": Rule(lambda value: _list_of(value, lambda item: _finite(item) and item > 0, 1, MAX_CHANNELS),
                           f"a list of 1 to {MAX_CHANNELS} positive finite numbers, one per channel"),
    "preprocess.channels": Rule(lambda value: _whole(value, 1, MAX_CHANNELS), f"a whole number in [1, {MAX_CHANNELS}]"),
}
"""The meta fields any rather command reads, by dotted path; other fields are kept as they are."""


def meta_problem(meta: dict[str, Any]) -> Optional[str]:
    """None if every field of ``META_RULES`` present in ``meta`` passes its test, else what is wrong."""
    for path, rule in META_RULES.items():  # a parent ("preprocess") is tested before its fields
        value = _field(meta, path)
        if value is not _ABSENT and not rule.test(value):
            return f"meta field '{path}' is {shown(value)}; it must be {rule.expected}"
    return None


_ABSENT = object()


def _field(meta: dict[str, Any], path: str) -> Any:
    """``meta["a"]["b"]`` for the path "a.b", or _ABSENT."""
    value: Any = meta
    for name in path.split("."):
        if not isinstance(value, dict) or name not in value:
            return _ABSENT
        value = value[name]
    return value


def keyword_problem(spec: str, name: str, value: Any) -> Optional[str]:
    """None if ``name=value`` is a keyword the registered architecture ``spec`` declares, within its bounds."""
    declared = ARCHITECTURES[spec]
    if name not in declared:
        return f"{spec} takes no keyword {shown(name)} (it takes {', '.join(declared)})"
    if not declared[name].admits(value):
        return f"{spec} takes {name} as {declared[name]}; got {shown(value)}"
    return None


def trusted_factory(checkpoint: Checkpoint) -> str:
    """The factory ``checkpoint`` names, if it is one of rather's architectures; else BadModel saying how to trust it."""
    path, factory = checkpoint.path, checkpoint.factory
    if factory is None:
        raise BadModel(f"no architecture: '{path}' does not name one; give the model as module:factory "
                       "(--model module:factory, or load_model('module:factory', path) in Python)")
    if factory not in ARCHITECTURES:
        names = ", ".join(sorted(spec.split(":")[1] for spec in ARCHITECTURES))
        raise BadModel(
            f"'{path}' names the factory '{factory}', which is not one of rather's architectures ({names}); "
            f"a name read from a file is never run — if you trust it, name it yourself: --model {factory} "
            f"(rather explain, rather recognition audit) or load_model('{factory}', {str(path)!r}) in Python"
        )
    return factory
