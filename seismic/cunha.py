"""The real data of Cunha et al. 2020 (SFD-CNN-TL): F3 fault patches, the F3 inline 244, GSB sections and faults.

Layout (``data/`` of the repository; see the SOURCE.txt shipped beside it):

- ``f3_inl_244.csv``: the full F3 inline 244, one row per trace (951), one column per
  sample (463), blank separated;
- ``gsb_{crl_2600..3000, inl_1791, inl_2011}.csv``: Great South Basin (New Zealand)
  sections, one tab-separated row per trace, 76 samples from 1000 to 1300 ms every 4 ms;
- ``gsb_*_mask.ascii``: hand-picked fault segments, one point per row (column 3: time
  in ms; column 7: the inline, column 8: the crossline), consecutive rows pairing into
  segments. The fault/non-fault patches (``dataset/{fault,nonfault}``) are a patch
  folder as ``labelled.load_patch_folder`` reads it.

Where a GSB point falls in its section: the files do not say which inline or crossline
their first trace is. Sections that cross share one trace exactly (the same 76 values),
which fixes it: along every crossline section trace i is inline 1565 + 2 i (trace 113 is
inline 1791, trace 223 inline 2011); along inline 1791 trace j is crossline 2574 + 2 j,
along inline 2011 crossline 2568 + 2 j (trace 13, resp. 16, is crossline 2600, 63 / 66 is
2700, ...). ``GSB_TRACES`` records these (first number, step) pairs.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from rather.common.errors import BadInput
from rather.common.storage import PathLike

GSB_SECTIONS = ("gsb_crl_2600", "gsb_crl_2700", "gsb_crl_2800", "gsb_crl_2900", "gsb_crl_3000", "gsb_inl_1791",
                "gsb_inl_2011")
GSB_TRACES = {**{name: ("inline", 1565, 2) for name in GSB_SECTIONS if "_crl_" in name},
              "gsb_inl_1791": ("crossline", 2574, 2), "gsb_inl_2011": ("crossline", 2568, 2)}
"""Per GSB section: what numbers its traces (the other kind of line), the number of trace 0 and the step."""
GSB_FIRST_MS, GSB_INTERVAL_MS = 1000.0, 4.0
GSB_CLASSES = ("background", "fault")


def read_trace_rows(path: PathLike) -> np.ndarray:
    """A CSV of one row per trace as a section (samples, traces) float32 (tabs or blanks separate the values)."""
    try:
        rows = np.loadtxt(path, dtype=np.float64, ndmin=2)
    except (OSError, ValueError):
        raise BadInput(f"{path}: is not a text matrix of one row of numbers per trace") from None
    if not np.isfinite(rows).all():
        raise BadInput(f"{path}: holds NaN or Inf samples")
    return np.ascontiguousarray(rows.T, dtype=np.float32)


def gsb_fault_mask(mask_path: PathLike, name: str, shape: tuple[int, int], width: int = 1) -> np.ndarray:
    """The hand-picked faults of GSB section ``name`` as a mask (samples, traces) uint8: 1 within ``width``
    samples (and traces) of a picked segment, else 0."""
    points = np.loadtxt(mask_path, dtype=np.float64, ndmin=2)
    key, first, step = GSB_TRACES[name]
    along = points[:, 6] if key == "inline" else points[:, 7]
    traces = (along - first) / step
    samples = (points[:, 2] - GSB_FIRST_MS) / GSB_INTERVAL_MS
    mask = np.zeros(shape, dtype=np.uint8)
    for start in range(0, len(points) - 1, 2):
        steps = int(np.ceil(max(abs(traces[start + 1] - traces[start]), abs(samples[start + 1] - samples[start])))) + 1
        rows = np.rint(np.linspace(samples[start], samples[start + 1], 2 * steps)).astype(int)
        cols = np.rint(np.linspace(traces[start], traces[start + 1], 2 * steps)).astype(int)
        for dr in range(-width, width + 1):
            for dc in range(-width, width + 1):
                r, c = rows + dr, cols + dc
                keep = (r >= 0) & (r < shape[0]) & (c >= 0) & (c < shape[1])
                mask[r[keep], c[keep]] = 1
    return mask


def write_gsb_sections(data: PathLike, out: PathLike) -> Path:
    """The GSB sections and their fault masks as a ``--sections`` folder (sections/NAME.npy,
    masks/NAME_mask.png, classes.txt: background, fault) under ``out``; returns ``out``."""
    data, out = Path(data), Path(out)
    (out / "sections").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(exist_ok=True)
    for name in GSB_SECTIONS:
        section = read_trace_rows(data / f"{name}.csv")
        np.save(out / "sections" / f"{name}.npy", section)
        Image.fromarray(gsb_fault_mask(data / f"{name}_mask.ascii", name, section.shape)).save(
            out / "masks" / f"{name}_mask.png")
    (out / "classes.txt").write_text("\n".join(GSB_CLASSES) + "\n")
    return out
