"""How section maps become attribute values: the "not asked" mask and the scaling of a run.

Every store of a seismic explanation (SEG-Y, HDF5, zarr, netCDF) writes the same values,
so the decisions live here, once:

- **Not asked.** "Why P, rather than Q?" is not asked where P = Q (every patch covering a
  sample predicted Q), nor outside a ``--time`` window. Such samples hold NaN in every float
  output, never 0: 0 means "asked, and no evidence". ``asked_mask`` says where a section's
  questions were asked.
- **Scaling** (``--normalise``), one of ``SCALINGS``:

  - ``volume`` (the default): every attribute of the run divided by one robust factor, the
    ``PERCENTILE`` th percentile of the positive raw values asked anywhere in the run (all
    lines, all questions), and clipped to 1. A time slice through many lines shows no
    line-by-line banding, and the questions' maps stay comparable with each other.
  - ``section``: each line's map of each question to [0, 1] on its own, (m - min) / (max - min)
    (``SectionExplanation.maps``): the most contrast per line, but lines are not comparable.
  - ``none``: the raw map values, ReLU(sum_k alpha_k A_k) stitched, in the model's units.

Why ``volume`` is the default, and how it stays exact on Dask: the factor is taken from a
histogram of the raw values (``RawHistogram``) whose bins are the top 16 bits of the float32
values (relative width 2**-7). Counts are integers, so adding sections in any order, in any
process, gives the same histogram and the same factor, bit for bit; memory is 32,768 counts
whatever the survey. The cost is one more pass over the sections before any value is written.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol

import numpy as np

from rather.common.errors import BadInput

SCALINGS = ("volume", "section", "none")
"""The values of ``--normalise``; the first is the default."""
DEFAULT_SCALING = SCALINGS[0]
PERCENTILE = 99.5
"""The percentile of the positive raw values that ``volume`` scales to 1."""
NAN_MEANS = "NaN = not asked (P = Q: every patch here predicted Q; or outside --time)"
"""What a NaN sample of an attribute means, in the words every output uses."""
_BINS = 1 << 15
"""Histogram bins: the top 16 bits of a positive float32 (sign 0, 8 exponent bits, 7 mantissa bits)."""


class Explained(Protocol):
    """What ``asked_mask`` reads of a ``sections.SectionExplanation``."""

    raw: np.ndarray
    predicted: np.ndarray


def asked_mask(section: Explained) -> np.ndarray:
    """Where each question of ``section`` was asked: (1 + C, H, W) bool, in the order of its maps.

    A section that records its mask (``asked``, the patch classifier's: False where every patch
    covering a sample predicted Q) gives it; otherwise (a segmentation network) "rather than Q"
    is not asked where the sample is predicted Q. "Why P?" is always asked.
    """
    recorded = getattr(section, "asked", None)
    if recorded is not None:
        return np.asarray(recorded, dtype=bool)
    classes = section.raw.shape[0] - 1
    asked = np.ones(section.raw.shape, dtype=bool)
    asked[1:] = section.predicted[None] != np.arange(classes)[:, None, None]
    return asked


class RawHistogram:
    """Counts of the positive raw values asked, in float32 bit-pattern bins: an order-independent percentile.

    >>> histogram = RawHistogram()
    >>> for section in sections:
    ...     histogram.add(section.raw, asked_mask(section))
    >>> factor = histogram.percentile(PERCENTILE)
    """

    def __init__(self, counts: Optional[np.ndarray] = None):
        self.counts = np.zeros(_BINS, dtype=np.int64) if counts is None else np.asarray(counts, dtype=np.int64)

    def add(self, raw: np.ndarray, asked: np.ndarray) -> None:
        """Count the values of ``raw`` that are asked and positive (finite)."""
        values = np.asarray(raw, dtype=np.float32)[np.asarray(asked, dtype=bool)]
        values = values[(values > 0) & np.isfinite(values)]
        self.counts += np.bincount(values.view(np.uint32) >> 16, minlength=_BINS)

    def merge(self, other: "RawHistogram") -> None:
        """Add the counts of ``other`` (a block's histogram, say)."""
        self.counts += other.counts

    def percentile(self, percent: float) -> float:
        """The upper edge of the bin holding the ``percent`` th percentile of the counted values; 0 if none."""
        total = int(self.counts.sum())
        if total == 0:
            return 0.0
        rank = max(1, int(np.ceil(total * percent / 100.0)))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        return float(np.array((index + 1) << 16, dtype=np.uint32).view(np.float32))


@dataclass(frozen=True)
class Scaling:
    """The scaling of a run: ``how`` (one of ``SCALINGS``) and, for ``volume``, its ``factor``."""

    how: str = DEFAULT_SCALING
    factor: Optional[float] = None

    def __post_init__(self) -> None:
        if self.how not in SCALINGS:
            raise BadInput(f"--normalise {self.how}: not a scaling; give one of {', '.join(SCALINGS)}")
        if (self.how == "volume") != (self.factor is not None):
            raise ValueError(f"a {self.how} scaling {'needs' if self.how == 'volume' else 'takes no'} factor")

    def apply(self, section) -> np.ndarray:
        """The values of ``section``'s questions as every output writes them: (1 + C, H, W) float32, NaN not asked.

        ``section`` is a ``SectionExplanation`` (its ``maps`` for ``section``, its ``raw`` otherwise).
        A factor of 0 (nothing positive was asked in the whole run) gives zeros, as a constant map
        normalises to zeros.
        """
        raw = np.asarray(section.raw, dtype=np.float32)
        if self.how == "section":
            values = np.array(section.maps, dtype=np.float32)
        elif self.how == "none":
            values = raw.copy()
        else:
            values = (np.minimum(raw / np.float32(self.factor), np.float32(1)) if self.factor > 0
                      else np.zeros_like(raw))
        values[~asked_mask(section)] = np.nan
        return values

    def describe(self) -> str:
        """One line saying what the values are (for textual headers and figures)."""
        if self.how == "volume":
            return f"volume: raw / {self.factor:.6g} (p{PERCENTILE:g} of the run), clipped to 1"
        if self.how == "section":
            return "section: (raw - min) / (max - min) per line and question"
        return "none: raw map values, ReLU(sum alpha_k A_k)"

    def record(self) -> dict:
        """The scaling as summary.json and the HDF5 attributes keep it."""
        return {"normalise": self.how, "factor": self.factor,
                "percentile": PERCENTILE if self.how == "volume" else None, "nan": NAN_MEANS}
