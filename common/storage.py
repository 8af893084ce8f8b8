"""Writing without partial outputs: a temporary name in the same folder, renamed on success."""
from __future__ import annotations

import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Union

PathLike = Union[str, os.PathLike]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextmanager
def atomic_path(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; it becomes ``path`` only if the block succeeds.

    >>> with atomic_path("out/result.h5") as tmp:
    ...     write_file(tmp)
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(handle)
    temporary = Path(name)
    temporary.chmod(0o666 & ~_umask())  # mkstemp makes 0600; the result gets an ordinary file's mode
    try:
        yield temporary
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)


@contextmanager
def staged_folder(folder: PathLike) -> Iterator[Path]:
    """Yield an empty staging folder; on success its files move into ``folder``.

    Either every output of a command lands in ``folder`` or none does; files
    already in ``folder`` with other names are left alone, same names are replaced.
    """
    target = Path(folder)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".staging", dir=target.parent))
    try:
        yield staging
        target.mkdir(exist_ok=True)
        for item in sorted(staging.rglob("*")):
            destination = target / item.relative_to(staging)
            if item.is_dir():
                destination.mkdir(exist_ok=True)
            else:
                os.replace(item, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
