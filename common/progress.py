"""Progress of long work: tqdm bars on stderr with rate and ETA, and short notes between them.

Library functions take a :class:`Progress` (default :data:`SILENT`) and never decide
themselves whether anything shows: the command does, with one rule
(:meth:`Progress.for_command`): shown when stderr is a terminal and the command's output
is not JSON, or whenever the user asks with ``--progress``. Bars and notes go to stderr,
so standard output carries only the command's results.

>>> progress = Progress.for_command(json=False, asked=False)
>>> for block in progress.bar(blocks, desc="blocks", unit="block"):
...     explain(block)
>>> progress.note("inline 112: fault 40, horizon 120")
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Iterable, Optional

from tqdm import tqdm


@dataclass(frozen=True)
class Progress:
    """Whether progress is shown; ``bar`` and ``note`` are no-ops when it is not."""

    shown: bool = False

    @classmethod
    def for_command(cls, *, json: bool, asked: bool) -> "Progress":
        """The command-line rule: ``asked`` (``--progress``) or (stderr is a terminal and not ``json``)."""
        return cls(asked or (not json and sys.stderr.isatty()))

    def bar(self, iterable: Optional[Iterable] = None, *, total: Optional[int] = None, desc: Optional[str] = None,
            unit: str = "it", initial: int = 0) -> tqdm:
        """A tqdm bar over ``iterable`` (or updated by hand up to ``total``) with rate and ETA on stderr."""
        return tqdm(iterable, total=total, desc=desc, unit=unit, initial=initial, disable=not self.shown,
                    file=sys.stderr, dynamic_ncols=True, mininterval=0.5)

    def note(self, message: str) -> None:
        """One line on stderr, printed above any open bar."""
        if self.shown:
            tqdm.write(message, file=sys.stderr)


SILENT = Progress(False)
"""Shows nothing: the default of every library function that reports progress."""
