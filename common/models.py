"""Loading models without running code from checkpoints, and naming them by checksum.

A model is an architecture given as ``module:factory`` (any importable callable
returning an ``nn.Module``) plus a state dict read with ``weights_only=True``.
rather's own checkpoints are dicts ``{"state_dict", "factory", "kwargs", "meta"}``
of tensors and plain values (``save_checkpoint``), so they load the same way.

A name read from a file is never code to run: the factory a checkpoint names is
called only if it is one of rather's own architectures
(``rather.common.checkpoints.ARCHITECTURES``). Any other factory must be named by
the user, who thereby trusts it: ``load_model("module:factory", path)``, or
``--model module:factory`` on the command line; a name typed by the user wins over
the file's. Every field of the file is checked before use (``rather.common.checkpoints``).
"""
from __future__ import annotations

import hashlib
import importlib
from typing import Any, Callable, Optional

import torch
from torch import nn

from .checkpoints import (
    ARCHITECTURES, Checkpoint, is_factory_name, keyword_problem, meta_problem, plain_problem, read_checkpoint,
    shown, trusted_factory,
)
from .errors import BadInput, BadModel, RatherError
from .storage import PathLike, atomic_path


def model_checksum(model: nn.Module) -> str:
    """SHA-256 over the names, shapes, dtypes and bytes of the state dict, in order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def _failure(error: BaseException) -> str:
    """An exception from the user's code as one short line: its type and the first line of its message."""
    lines = str(error).strip().splitlines()
    return f"{type(error).__name__}: {lines[0][:200]}" if lines else type(error).__name__


def resolve_factory(spec: str) -> Callable[..., Any]:
    """The callable named by ``"package.module:factory"``: the module is imported, so call this with trusted names only.

    Whatever importing the module raises (a syntax error, an exception, ``sys.exit``) is
    BadModel; KeyboardInterrupt goes through.
    """
    if not is_factory_name(spec):
        raise BadModel(f"model must be given as module:factory (e.g. torchvision.models:resnet50); got {shown(spec)}")
    module_name, attribute = spec.split(":")
    try:
        factory: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            factory = getattr(factory, part, None)
            if factory is None:
                raise BadModel(f"'{module_name}' has no attribute '{attribute}' (model '{spec}'); check the name")
    except RatherError:
        raise
    except (Exception, SystemExit) as error:  # the module is the user's code: however it fails, it failed
        if isinstance(error, ModuleNotFoundError) and error.name and (module_name + ".").startswith(error.name + "."):
            raise BadModel(f"cannot import '{module_name}' for model '{spec}': no module named '{error.name}'; "
                           "is it installed (or on PYTHONPATH)?") from None
        raise BadModel(f"importing '{module_name}' for model '{spec}' failed: {_failure(error)}; "
                       "fix the module") from None
    if not callable(factory):
        raise BadModel(f"'{spec}' is not callable; give a function or class that returns an nn.Module")
    return factory


def torch_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device that can run a model here (cpu, cuda[:N], mps), else BadInput saying what to use.

    >>> torch_device("cpu")
    device(type='cpu')
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        raise BadInput(f"device {shown(device)} is not a torch device; use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"device '{device}': CUDA is not available on this machine; use --device cpu")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise BadInput(f"device '{device}': this machine has {torch.cuda.device_count()} CUDA device(s); "
                       f"use cuda:0 to cuda:{torch.cuda.device_count() - 1}")
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise BadInput(f"device '{device}': MPS is not available on this machine; use --device cpu")
    if resolved.type not in ("cpu", "cuda", "mps"):
        raise BadInput(f"device '{device}' cannot run a model; use cpu, cuda or cuda:N (mps on Apple silicon)")
    return resolved


def load_model(
    spec: Optional[str] = None,
    weights: Optional[PathLike] = None,
    *,
    kwargs: Optional[dict[str, Any]] = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Build ``spec`` (``module:factory``), load ``weights``, return (model in eval mode, meta).

    ``spec`` is trusted: you name it, so it is imported and called. Left out, the factory
    recorded in a rather checkpoint is used only if it is one of rather's architectures
    (see the module docstring). ``kwargs`` add to (and override) the checkpoint's. ``meta``
    is the checkpoint's metadata (class names, preprocessing, ...), or {}.

    >>> model, meta = load_model("torchvision.models:resnet50", "resnet50.pth")
    """
    device = torch_device(device)
    checkpoint = read_checkpoint(weights) if weights is not None else None
    if spec is None:
        if checkpoint is None:
            raise BadModel("no architecture: give the model as module:factory")
        spec = trusted_factory(checkpoint)
    kwargs = kwargs or {}
    factory_kwargs = {**(checkpoint.kwargs if checkpoint else {}), **kwargs}
    for name, value in factory_kwargs.items() if spec in ARCHITECTURES else ():
        problem = keyword_problem(spec, name, value)
        if problem:
            where = "kwargs" if name in kwargs else f"the kwargs in '{weights}'"
            raise BadModel(f"{problem}; check {where}")
    model = build(spec, factory_kwargs)
    if checkpoint is not None:
        fit_weights(model, checkpoint, spec)
    return model.to(device).eval(), dict(checkpoint.meta) if checkpoint else {}


def build(spec: str, kwargs: dict[str, Any]) -> nn.Module:
    """``factory(**kwargs)`` for the factory named ``spec``: an nn.Module, or BadModel for whatever went wrong."""
    factory = resolve_factory(spec)
    try:
        model = factory(**kwargs)
    except (Exception, SystemExit) as error:  # the factory may be the user's code: however it fails, it failed
        raise BadModel(f"calling '{spec}' failed: {_failure(error)}; check the factory and its keyword arguments") \
            from None
    if not isinstance(model, nn.Module):
        raise BadModel(f"'{spec}' returned a {type(model).__name__}, not a torch.nn.Module")
    return model


def fit_weights(model: nn.Module, checkpoint: Checkpoint, spec: str) -> None:
    """Load the checkpoint's state dict into ``model`` after checking names, shapes and dtypes fit."""
    expected, state = model.state_dict(), checkpoint.state_dict
    missing, unexpected = sorted(set(expected) - set(state)), sorted(set(state) - set(expected))
    misfits = [f"{shown(name)} is {tuple(state[name].shape)} {state[name].dtype} in the file, "
               f"{tuple(expected[name].shape)} {expected[name].dtype} in the model"
               for name in expected if name in state and not _fits(state[name], expected[name])]
    where = f"weights '{checkpoint.path}' do not fit '{spec}'"
    if missing or unexpected:
        more = " ..." if len(missing) > 3 or len(unexpected) > 3 else ""
        raise BadModel(f"{where}: missing {_names(missing)}, unexpected {_names(unexpected)}{more}; "
                       "check the architecture")
    if misfits:
        raise BadModel(f"{where}: {'; '.join(misfits[:2])}{' ...' if len(misfits) > 2 else ''}; "
                       "check the architecture and its keyword arguments")
    model.load_state_dict(state)


def _names(names: list[str]) -> str:
    """The first three names, quoted on one line: ['a', 'b', 'c']."""
    return f"[{', '.join(shown(name) for name in names[:3])}]"


def _fits(given: torch.Tensor, expected: torch.Tensor) -> bool:
    """Same shape, and a dtype that copies without loss of meaning (same, or floating into floating)."""
    same_kind = given.dtype == expected.dtype or (given.is_floating_point() and expected.is_floating_point())
    return given.shape == expected.shape and same_kind


def save_checkpoint(path: PathLike, model: nn.Module, factory: str, kwargs: dict, meta: dict) -> None:
    """Write a rather checkpoint that ``load_model(weights=path)`` rebuilds (atomically).

    ``kwargs`` and ``meta`` must be what ``load_model`` accepts back: plain JSON-like values,
    the meta fields rather reads well formed. ``load_model(weights=path)`` calls ``factory``
    only if it is one of rather's architectures; otherwise ``load_model(factory, path)``.
    """
    if not is_factory_name(factory):
        raise BadInput(f"factory must be a name of the form module:factory; got {shown(factory)}")
    problem = plain_problem(kwargs, "kwargs") or plain_problem(meta, "meta") or meta_problem(meta)
    if problem:
        raise BadInput(f"cannot save '{path}': {problem}")
    checkpoint = {"state_dict": model.state_dict(), "factory": factory, "kwargs": kwargs, "meta": meta}
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        torch.save(checkpoint, file)  # a file object: the archive's inner name does not depend on the temporary name
