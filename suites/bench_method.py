"""How every ``rather bench`` figure is measured: paired timings, their spread, and the machine's state.

Why pairs: a ratio of two times taken minutes apart on a shared machine measures the
machine's drift as much as the work (issue 20: one seismic benchmark reported 3.97x, then
92.8x, on the same commit). So the sides of a comparison run in rounds, in the same order
every round (A B A B ... for two sides, A B C A B C ... for more), after one warm-up round
that treats every side alike; each ratio is taken inside a round, where both sides met the
same machine, and is reported as the median over the rounds with its min and max (the
spread says how much the machine moved) and the number of rounds ("pairs"). A round that
takes under a second is repeated at least 5 times, a slower one at least 3 times.

A side timed on a subset of its work (k of the n iterations of a loop whose iterations all
cost the same) is scaled by n / k inside every round, and says so in its ``subset`` note.

The machine's state (CPU model, cores, threads, torch version, device, load average at the
start and the end) goes with every report; a run whose load average exceeded the core
count says so on its first line. Nothing here imports torch at module level: the command's
help needs none of it.
"""
from __future__ import annotations

import os
import platform
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

FAST_PAIRS = 5
"""Rounds when one round takes under :data:`SLOW_ROUND` seconds."""
SLOW_PAIRS = 3
"""Rounds when one round takes :data:`SLOW_ROUND` seconds or more."""
SLOW_ROUND = 1.0


@dataclass(frozen=True)
class Side:
    """One side of a comparison: ``work`` is timed; its time times ``scale`` is the figure reported.

    ``subset`` says what a scaled side times, e.g. "4 of 200 contrasts timed in every pair, scaled to 200".
    """

    work: Callable[[], Any]
    scale: float = 1.0
    subset: Optional[str] = None


@dataclass(frozen=True)
class Spread:
    """The median of one figure over the rounds, with its min and max and the number of rounds."""

    median: float
    min: float
    max: float
    pairs: int

    @classmethod
    def of(cls, values: list[float]) -> "Spread":
        return cls(statistics.median(values), min(values), max(values), len(values))

    def as_json(self) -> dict[str, float]:
        return {"median": self.median, "min": self.min, "max": self.max, "pairs": self.pairs}

    def text(self, digits: int = 2) -> str:
        """``"43.10 (40.20-47.00)"``: the median, then the min and max."""
        return f"{self.median:.{digits}f} ({self.min:.{digits}f}-{self.max:.{digits}f})"


@dataclass(frozen=True)
class Timings:
    """Seconds of every side in every round (scaled where the side is), in the order the sides ran."""

    seconds: dict[str, list[float]]
    subsets: dict[str, str] = field(default_factory=dict)

    @property
    def pairs(self) -> int:
        return len(next(iter(self.seconds.values())))

    def time(self, side: str) -> Spread:
        """The side's seconds over the rounds."""
        return Spread.of(self.seconds[side])

    def ratio(self, numerator: str, denominator: str, times: float = 1.0) -> Spread:
        """``times`` x numerator's seconds / denominator's seconds, round by round (``times``: e.g. the
        number of contrasts when the numerator is a loop's time per contrast)."""
        return Spread.of([times * a / b for a, b in zip(self.seconds[numerator], self.seconds[denominator])])


def interleave(sides: Mapping[str, Side], pairs: int = SLOW_PAIRS,
               clock: Callable[[], float] = time.perf_counter) -> Timings:
    """Time ``sides`` in rounds (one warm-up round, then at least ``pairs`` timed rounds: 5 if a round takes
    under a second, 3 otherwise), every side once per round in the given order.

    ``clock`` reads seconds; on a GPU it must wait for the device first (see :func:`clock_for`).
    """
    names = list(sides)
    seconds: dict[str, list[float]] = {name: [] for name in names}

    def one_round() -> float:
        total = 0.0
        for name in names:
            start = clock()
            sides[name].work()
            elapsed = clock() - start
            seconds[name].append(elapsed * sides[name].scale)
            total += elapsed
        return total

    one_round()  # warm-up: every side once, discarded
    for values in seconds.values():
        values.clear()
    rounds = max(pairs, FAST_PAIRS if one_round() < SLOW_ROUND else SLOW_PAIRS)
    for _ in range(rounds - 1):
        one_round()
    return Timings(seconds, {name: side.subset for name, side in sides.items() if side.subset})


def clock_for(device: str) -> Callable[[], float]:
    """``time.perf_counter``, after waiting for the GPU's queued work when ``device`` is one."""
    if not device.startswith("cuda"):
        return time.perf_counter
    import torch

    def synchronised() -> float:
        torch.cuda.synchronize(device)
        return time.perf_counter()

    return synchronised


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, or what the platform says where there is none."""
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown CPU"


def device_name(device: str) -> str:
    """``"cpu"``, or the GPU's own name, e.g. ``"cuda:0 (NVIDIA H200)"``."""
    if not device.startswith("cuda"):
        return "cpu"
    import torch

    return f"{device} ({torch.cuda.get_device_name(device)})"


def one_minute_load(load: Optional[Callable[[], tuple]] = None) -> float:
    """The 1-minute load average, from ``load`` (a stand-in for ``os.getloadavg``) when given."""
    return round((load or os.getloadavg)()[0], 2)


def machine_at_start(device: str = "cpu", load: Optional[Callable[[], tuple]] = None) -> dict[str, Any]:
    """The machine's state before a benchmark: its 1-minute load average is ``load_start``."""
    import torch

    return {"cpu": cpu_model(), "cores": os.cpu_count() or 1, "threads": torch.get_num_threads(),
            "torch": torch.__version__, "device": device_name(device), "load_start": one_minute_load(load)}


def machine_at_end(machine: dict[str, Any], load: Optional[Callable[[], tuple]] = None) -> dict[str, Any]:
    """``machine`` with the 1-minute load average at the end, ``load_end``, and ``overloaded``: whether
    either load average exceeded the core count."""
    end = one_minute_load(load)
    return {**machine, "load_end": end, "overloaded": max(machine["load_start"], end) > machine["cores"]}


def machine_lines(machine: dict[str, Any]) -> list[str]:
    """The machine as text: a warning first when it was overloaded, then one line of its state."""
    lines = []
    if machine["overloaded"]:
        lines.append(f"WARNING: the load average ({machine['load_start']} at the start, {machine['load_end']} at the "
                     f"end) exceeded the {machine['cores']} cores: other work shared the CPU; read the spreads, "
                     "and rerun on a quieter machine for figures to publish")
    lines.append(f"machine: {machine['cpu']}, {machine['cores']} cores, {machine['threads']} torch threads, "
                 f"torch {machine['torch']}, device {machine['device']}; load average {machine['load_start']} at the "
                 f"start, {machine['load_end']} at the end")
    return lines
