"""The options of every command that loads a classifier, in one place.

``rather explain``, ``rather recognition audit`` and ``rather suite recognition`` take the
same ``--model module:factory --weights W [--model-kwargs JSON] --layer L``, the same
preprocessing (``--size H W``, ``--mean``, ``--std``), ``--device`` and ``--batch-size``:
``add_model_arguments`` adds them to a command's parser, ``model_choice`` reads them back
as the typed ``ModelChoice`` the recognition pipeline takes, and ``model_kwargs`` and
``read_class_names`` read the two options that name text rather than numbers. Nothing
here imports torch: a command's help is built without it.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Optional

from rather.common.errors import BadInput
from rather.recognition.options import ModelChoice

BATCH_SIZE = 64
"""Images per forward pass when a command is not told (memory grows with it, not with the number of images)."""


def add_model_arguments(parser: argparse.ArgumentParser, *, weights_required: bool = False,
                        model_help: str = "architecture as module:factory (optional for rather's own checkpoints)",
                        with_model: bool = True, batch_size: int = BATCH_SIZE,
                        weights_help: str = "state dict or rather checkpoint (.pt/.pth), read with weights_only=True",
                        naming_only: bool = False) -> argparse._ArgumentGroup:
    """The classifier's options, in one argument group of ``parser``, returned for a command's own additions
    (``with_model=False`` leaves ``--model`` to a command that gives it another meaning for other domains;
    ``naming_only=True`` keeps only the options that name the model, ``--model``, ``--weights``,
    ``--model-kwargs``, ``--layer``, for a domain whose inputs are not images)."""
    group = parser.add_argument_group("the classifier")
    if with_model:
        group.add_argument("--model", metavar="MODULE:FACTORY", help=model_help)
    group.add_argument("--weights", required=weights_required, help=weights_help)
    group.add_argument("--model-kwargs", default="{}", metavar="JSON",
                       help="keyword arguments of the factory as a JSON object, e.g. '{\"num_classes\": 200}'")
    group.add_argument("--layer", help="dotted name of the layer to explain, e.g. layer4 (default: the checkpoint's)")
    if naming_only:
        return group
    group.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="resize inputs to H x W")
    group.add_argument("--mean", type=float, nargs="+", help="per-channel mean subtracted, inputs in [0, 1]")
    group.add_argument("--std", type=float, nargs="+", help="per-channel standard deviation divided by")
    group.add_argument("--device", default="cpu", help="torch device, e.g. cpu or cuda:0")
    group.add_argument("--batch-size", type=int, default=batch_size,
                       help=f"images per forward pass (default {batch_size}); memory grows with it, not with the "
                       "number of images")
    return group


def model_kwargs(text: str) -> dict:
    """``--model-kwargs``: a JSON object."""
    try:
        kwargs = json.loads(text)
    except json.JSONDecodeError as error:
        raise BadInput(f"--model-kwargs is not JSON ({error.msg}); give e.g. '{{\"num_classes\": 200}}'") from None
    if not isinstance(kwargs, dict):
        raise BadInput("--model-kwargs must be a JSON object, e.g. '{\"num_classes\": 200}'")
    return kwargs


def check_batch_size(args: argparse.Namespace) -> int:
    """``--batch-size``, refused below one."""
    if args.batch_size < 1:
        raise BadInput(f"--batch-size must be at least 1; got {args.batch_size}")
    return args.batch_size


def model_choice(args: argparse.Namespace) -> ModelChoice:
    """The classifier as the command was asked."""
    return ModelChoice(factory=args.model, weights=args.weights,
                       kwargs=model_kwargs(args.model_kwargs), layer=args.layer,
                       size=tuple(args.size) if args.size else None, mean=tuple(args.mean) if args.mean else None,
                       std=tuple(args.std) if args.std else None, device=args.device)


def read_class_names(path: Optional[str], option: str = "--classes") -> Optional[tuple[str, ...]]:
    """Class names from a text file, one a line (blank lines skipped); None when no file is given."""
    if path is None:
        return None
    file = Path(path)
    if not file.is_file():
        raise BadInput(f"{option} file '{path}' does not exist; give a text file with one class name a line")
    try:
        names = tuple(line.strip() for line in file.read_text(encoding="utf-8").splitlines() if line.strip())
    except UnicodeDecodeError:
        raise BadInput(f"{option} file '{path}' is not UTF-8 text; give one class name a line") from None
    if not names:
        raise BadInput(f"{option} file '{path}' names no class; give one class name a line")
    if len(set(names)) != len(names):
        twice = next(name for name in names if names.count(name) > 1)
        raise BadInput(f"{option} file '{path}' names '{twice}' twice; give each class once")
    return names
