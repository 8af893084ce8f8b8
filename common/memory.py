"""How much memory is free, refusing sizes that cannot fit, and recognising allocation failures.

A size the user asked for (an image resize, a synthetic survey's shape) is checked against
the memory available *before* allocating, so the refusal names the request. Allocations
that fail anyway (a model's activations, a library's buffers) raise ``MemoryError`` or
torch's allocator ``RuntimeError``; ``out_of_memory`` recognises both, so the command can
turn them into one line.
"""
from __future__ import annotations

import math
import os
import re
from pathlib import Path
from typing import Optional

from .errors import BadInput

# torch's CPU allocator ("DefaultCPUAllocator: can't allocate memory: you tried to allocate N bytes"),
# its "not enough memory" variant on Windows and the CUDA allocator ("CUDA out of memory. Tried to allocate ...").
_ALLOCATOR_FAILURES = ("can't allocate memory", "not enough memory", "out of memory")


def available_memory() -> Optional[int]:
    """Bytes this process can still allocate, or None where the system does not say.

    Linux's MemAvailable (elsewhere the free physical pages), lowered to what a cgroup
    (container) limit or an address-space limit (``ulimit -v``) still leaves.
    """
    candidates = [_meminfo_available(), _cgroup_headroom(), _address_space_headroom()]
    if candidates[0] is None:
        candidates.append(_free_pages())
    known = [value for value in candidates if value is not None]
    return min(known) if known else None


def _proc_bytes(path: str, key: str) -> Optional[int]:
    """The ``key:   N kB`` line of the /proc file ``path`` in bytes; None where the file or the line is absent."""
    try:
        text = Path(path).read_text()
    except OSError:
        return None
    found = re.search(rf"^{key}:\s+(\d+) kB", text, flags=re.MULTILINE)
    return int(found.group(1)) * 1024 if found else None


def _meminfo_available() -> Optional[int]:
    return _proc_bytes("/proc/meminfo", "MemAvailable")


def _cgroup_headroom() -> Optional[int]:
    """cgroup v2 ``memory.max`` minus ``memory.current``; None without a limit."""
    folder = Path("/sys/fs/cgroup")
    try:
        limit = (folder / "memory.max").read_text().strip()
        current = int((folder / "memory.current").read_text())
    except (OSError, ValueError):
        return None
    return None if limit == "max" else max(int(limit) - current, 0)


def _address_space_headroom() -> Optional[int]:
    """RLIMIT_AS minus this process's virtual size (Linux); None without a limit."""
    try:
        import resource

        limit = resource.getrlimit(resource.RLIMIT_AS)[0]
        if limit == resource.RLIM_INFINITY:
            return None
        pages = int(Path("/proc/self/statm").read_text().split()[0])
    except (ImportError, OSError, ValueError, IndexError):
        return None
    return max(limit - pages * os.sysconf("SC_PAGE_SIZE"), 0)


def _free_pages() -> Optional[int]:
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def size_text(count: float) -> str:
    """A byte count for people: '512 B', '3.2 MB', '74.5 GB'."""
    if count < 1000:
        return f"{int(count)} B"
    exponent = min(int(math.log(count, 1000)), 5)
    return f"{count / 1000 ** exponent:.1f} {'kMGTP'[exponent - 1]}B"


def require_memory(needed: int, what: str, advice: str) -> None:
    """Refuse (BadInput) when ``what`` needs more than the memory available now.

    ``what`` names the request ("resizing to 100000 x 100000"), ``advice`` what to do
    instead ("give a smaller --size"). Nothing is refused where the system does not say
    how much is free.
    """
    available = available_memory()
    if available is not None and needed > available:
        raise BadInput(f"{what} needs {size_text(needed)} of memory but {size_text(available)} is available; "
                       f"{advice}")


def out_of_memory(error: BaseException) -> bool:
    """True for a failed allocation: MemoryError, or torch's allocator RuntimeError (CPU or CUDA)."""
    if isinstance(error, MemoryError):
        return True
    return isinstance(error, RuntimeError) and any(text in str(error) for text in _ALLOCATOR_FAILURES)


def requested_bytes(error: BaseException) -> Optional[int]:
    """The size of the allocation that failed, when the error says it; else None.

    numpy's MemoryError carries the array's shape and dtype; torch's CPU allocator
    writes "allocate N bytes", its CUDA allocator "Tried to allocate 2.00 GiB".
    """
    shape, dtype = getattr(error, "shape", None), getattr(error, "dtype", None)
    if shape is not None and dtype is not None:
        return math.prod(shape) * dtype.itemsize
    text = str(error)
    found = re.search(r"allocate (\d+) bytes", text)
    if found:
        return int(found.group(1))
    found = re.search(r"[Tt]ried to allocate ([\d.]+) ([KMGT]i)B", text)
    if found:
        return int(float(found.group(1)) * 1024 ** ("KMGT".index(found.group(2)[0]) + 1))
    return None


def peak_resident() -> Optional[int]:
    """This process's peak resident size in bytes since it started (Linux's VmHWM), or None where unknown."""
    return _proc_bytes("/proc/self/status", "VmHWM")
