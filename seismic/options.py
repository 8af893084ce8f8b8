"""What the seismic pipelines are asked to do: frozen options, checked when made.

``rather seismic`` builds these from its arguments and hands them to one pipeline
function each (``survey_explanation.explain_survey``, ``classifier.train_checkpoint``,
``classifier.evaluation``); a suite or a notebook builds the same. This module
imports nothing heavy, so the command can show its defaults without loading torch.
Messages name the command's options (``--stride`` ...), which these fields mirror.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

from rather.common.errors import BadInput

DEFAULT_CHECKPOINT = Path(__file__).with_name("models") / "classifier.pt"
"""The committed four-class classifier (``rather seismic train`` makes it)."""
DEFAULT_TIMEOUT = 30.0
"""Seconds a wait on the Dask cluster may go without an answer or any progress (``--timeout``)."""


@dataclass(frozen=True)
class ExplainOptions:
    """Which lines of a survey to explain, with which model, and where.

    kind: "inline" or "crossline"; number: that line (None: the middle one), or
    every_line: all lines of ``kind``. model: a classifier checkpoint; stride: of the
    patch grid, in samples; device: torch's. iline, xline: byte locations of the line
    numbers. With workers (a local Dask cluster of that many processes) or scheduler
    (an existing cluster's address), every line is explained in resumable blocks of
    block_lines lines, each wait on the cluster bounded by timeout seconds.
    """

    kind: str = "inline"
    number: Optional[int] = None
    every_line: bool = False
    model: str = str(DEFAULT_CHECKPOINT)
    stride: int = 10
    device: str = "cpu"
    iline: int = 189
    xline: int = 193
    workers: Optional[int] = None
    scheduler: Optional[str] = None
    block_lines: int = 8
    timeout: float = DEFAULT_TIMEOUT

    def __post_init__(self) -> None:
        if self.kind not in ("inline", "crossline"):
            raise BadInput(f"lines are inlines or crosslines, not {self.kind!r}")
        if self.stride < 1:
            raise BadInput(f"--stride must be a positive number of samples; got {self.stride}")
        if self.in_blocks and not self.every_line:
            raise BadInput("--workers and --scheduler explain a whole survey in blocks of inlines; add --all")
        if self.workers is not None and self.workers < 1:
            raise BadInput(f"--workers must be a positive number of worker processes; got {self.workers}")
        if self.block_lines < 1:
            raise BadInput(f"--block-lines must be a positive number of inlines; got {self.block_lines}")
        if not 0 < self.timeout < math.inf:
            raise BadInput(f"--timeout must be a positive number of seconds; got {self.timeout:g}")

    @property
    def in_blocks(self) -> bool:
        """Whether the lines are explained in blocks on Dask."""
        return self.workers is not None or self.scheduler is not None


@dataclass(frozen=True)
class TrainOptions:
    """How the classifier is trained.

    On the clear patches of ``surveys`` synthetic surveys from seed ``seed`` on,
    ``per_class`` patches of every class, for ``epochs`` epochs.
    """

    seed: int = 0
    surveys: int = 36
    per_class: int = 5000
    epochs: int = 10

    def __post_init__(self) -> None:
        for name in ("surveys", "per_class", "epochs"):
            if getattr(self, name) < 1:
                raise BadInput(f"--{name.replace('_', '-')} must be a positive number; got {getattr(self, name)}")
