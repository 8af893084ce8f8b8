"""Loading models without running code from checkpoints, and naming them by checksum.

A model is an architecture given as ``module:factory`` (any importable callable
returning an ``nn.Module``) plus a state dict read with ``weights_only=True``.
rather's own checkpoints are dicts ``{"state_dict", "factory", "kwargs", "meta"}``
of tensors and plain values, so they load the same way and carry their factory.
"""
from __future__ import annotations

import hashlib
import importlib
import pickle
from pathlib import Path
from typing import Any, Optional

import torch
from torch import nn

from .errors import BadInput, BadModel
from .storage import PathLike, atomic_path


def model_checksum(model: nn.Module) -> str:
    """SHA-256 over the names, shapes, dtypes and bytes of the state dict, in order."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype};".encode())
        digest.update(tensor.view(torch.uint8).numpy().tobytes() if tensor.numel() else b"")
    return digest.hexdigest()


def resolve_factory(spec: str):
    """The callable named by ``"package.module:factory"``."""
    if not isinstance(spec, str) or spec.count(":") != 1 or not all(spec.split(":")):
        raise BadModel(f"model must be given as module:factory (e.g. torchvision.models:resnet50); got '{spec}'")
    module_name, attribute = spec.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise BadModel(f"cannot import '{module_name}' for model '{spec}': {error}; is it installed?") from None
    factory = module
    for part in attribute.split("."):
        factory = getattr(factory, part, None)
        if factory is None:
            raise BadModel(f"'{module_name}' has no attribute '{attribute}' (model '{spec}')")
    if not callable(factory):
        raise BadModel(f"'{spec}' is not callable; give a function or class that returns an nn.Module")
    return factory


def read_checkpoint(path: PathLike) -> dict[str, Any]:
    """A state dict (or rather checkpoint dict) read with ``weights_only=True``."""
    path = Path(path)
    if not path.is_file():
        raise BadInput(f"weights file '{path}' does not exist")
    try:
        content = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        if "Unsupported global" in str(error):
            raise BadModel(
                f"'{path}' needs arbitrary code to unpickle, which rather refuses (weights_only=True); "
                "save a plain state dict instead: torch.save(model.state_dict(), path)"
            ) from None
        raise BadModel(f"'{path}' is not a readable PyTorch checkpoint (unpickling failed)") from None
    except (RuntimeError, EOFError, OSError) as error:
        raise BadModel(f"'{path}' is not a readable PyTorch checkpoint: {str(error).splitlines()[0]}") from None
    if not isinstance(content, dict):
        raise BadModel(f"'{path}' holds a {type(content).__name__}, not a state dict")
    return content


def torch_device(device: str | torch.device) -> torch.device:
    """``device`` as a torch.device that exists here, else BadInput saying what to use.

    >>> torch_device("cpu")
    device(type='cpu')
    """
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError):
        raise BadInput(f"device '{device}' is not a torch device; use cpu, cuda or cuda:N") from None
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise BadInput(f"device '{device}': CUDA is not available on this machine; use --device cpu")
    if resolved.type == "cuda" and resolved.index is not None and resolved.index >= torch.cuda.device_count():
        raise BadInput(f"device '{device}': this machine has {torch.cuda.device_count()} CUDA device(s)")
    return resolved


def load_model(
    spec: Optional[str] = None,
    weights: Optional[PathLike] = None,
    *,
    kwargs: Optional[dict[str, Any]] = None,
    device: str | torch.device = "cpu",
) -> tuple[nn.Module, dict[str, Any]]:
    """Build ``spec`` (``module:factory``), load ``weights``, return (model in eval mode, meta).

    A rather checkpoint names its own factory, so ``spec`` may be left out for it.
    ``meta`` is the checkpoint's metadata (class names, preprocessing, ...), or {}.

    >>> model, meta = load_model("torchvision.models:resnet50", "resnet50.pth")
    """
    device = torch_device(device)
    checkpoint = read_checkpoint(weights) if weights is not None else None
    meta: dict[str, Any] = {}
    state = checkpoint
    factory_kwargs = dict(kwargs or {})
    if checkpoint is not None and "state_dict" in checkpoint:
        state = checkpoint["state_dict"]
        spec = spec or checkpoint.get("factory")
        factory_kwargs = {**checkpoint.get("kwargs", {}), **factory_kwargs}
        meta = dict(checkpoint.get("meta", {}))
    if spec is None:
        raise BadModel("no architecture: give the model as module:factory (the weights file does not name one)")
    try:
        model = resolve_factory(spec)(**factory_kwargs)
    except TypeError as error:
        raise BadModel(f"calling '{spec}' failed: {error}") from None
    if not isinstance(model, nn.Module):
        raise BadModel(f"'{spec}' returned a {type(model).__name__}, not a torch.nn.Module")
    if state is not None:
        missing, unexpected = _key_mismatch(model, state)
        if missing or unexpected:
            raise BadModel(
                f"weights '{weights}' do not fit '{spec}': missing {missing[:3]}, unexpected {unexpected[:3]}"
                f"{' ...' if len(missing) > 3 or len(unexpected) > 3 else ''}"
            )
        try:
            model.load_state_dict(state)
        except RuntimeError as error:
            detail = " ".join(line.strip() for line in str(error).splitlines()[1:3])
            raise BadModel(f"weights '{weights}' do not fit '{spec}': {detail}") from None
    return model.to(device).eval(), meta


def _key_mismatch(model: nn.Module, state: dict) -> tuple[list[str], list[str]]:
    expected = set(model.state_dict())
    given = set(state)
    return sorted(expected - given), sorted(given - expected)


def save_checkpoint(path: PathLike, model: nn.Module, factory: str, kwargs: dict, meta: dict) -> None:
    """Write a rather checkpoint that ``load_model(weights=path)`` rebuilds (atomically)."""
    checkpoint = {"state_dict": model.state_dict(), "factory": factory, "kwargs": kwargs, "meta": meta}
    with atomic_path(path) as temporary, open(temporary, "wb") as file:
        torch.save(checkpoint, file)  # a file object: the archive's inner name does not depend on the temporary name
