"""Free memory, refusing sizes that cannot fit, and recognising failed allocations."""
import numpy as np
import pytest
import torch

import rather.common.memory as memory
from rather.common import BadInput
from rather.common.memory import available_memory, out_of_memory, require_memory, requested_bytes, size_text


def test_available_memory_is_a_positive_byte_count_here():
    free = available_memory()
    assert isinstance(free, int) and 0 < free < 2**60


def test_require_memory_names_the_request_and_what_to_do(monkeypatch):
    monkeypatch.setattr(memory, "available_memory", lambda: 2_000_000_000)
    require_memory(2_000_000_000, "a thing", "do less")
    with pytest.raises(BadInput, match=r"^a survey of 9 x 9 x 9 samples needs 2.5 GB of memory but 2.0 GB is "
                                       r"available; ask for fewer$"):
        require_memory(2_500_000_000, "a survey of 9 x 9 x 9 samples", "ask for fewer")
    monkeypatch.setattr(memory, "available_memory", lambda: None)
    require_memory(10**30, "anything", "")  # a system that does not say refuses nothing


@pytest.mark.parametrize("count, text", [(0, "0 B"), (999, "999 B"), (1000, "1.0 kB"), (6_400_000_000, "6.4 GB"),
                                         (1.4e15, "1.4 PB"), (3e18, "3000.0 PB")])
def test_size_text(count, text):
    assert size_text(count) == text


class ArrayMemoryError(MemoryError):
    """What numpy raises: a MemoryError carrying the array's shape and dtype."""
    shape = (100_000, 100_000)
    dtype = np.dtype(np.float64)


@pytest.mark.parametrize("error, asked", [
    (ArrayMemoryError(), 80_000_000_000),
    (MemoryError(), None),
    (RuntimeError("[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate memory: you "
                  "tried to allocate 6400000000 bytes. Error code 12 (Cannot allocate memory)"), 6_400_000_000),
    (RuntimeError("DefaultCPUAllocator: not enough memory: you tried to allocate 1024 bytes."), 1024),
    (torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB (GPU 0; 79.1 GiB total)"), 2 * 2**30),
])
def test_failed_allocations_are_recognised_with_their_size(error, asked):
    assert out_of_memory(error) and requested_bytes(error) == asked


@pytest.mark.parametrize("error", [RuntimeError("mat1 and mat2 shapes cannot be multiplied"), ValueError("memory"),
                                   OSError("disk full")])
def test_other_errors_are_not_allocation_failures(error):
    assert not out_of_memory(error)
