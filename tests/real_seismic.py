"""Where the shared real seismic data lie, for the tests that use it (skipped where it is absent).

The project's checkout sits beside ``shared/`` (``../shared/data/real/seismic``), or a
worktree one level further down; ``RATHER_REAL_DATA`` names another ``data/real`` folder.
"""
import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def real_seismic() -> Path:
    """The ``seismic`` folder of the shared real data (it may not exist)."""
    if os.environ.get("RATHER_REAL_DATA"):
        return Path(os.environ["RATHER_REAL_DATA"]) / "seismic"
    for base in (ROOT.parent, ROOT.parent.parent):
        folder = base / "shared/data/real/seismic"
        if folder.is_dir():
            return folder
    return ROOT.parent / "shared/data/real/seismic"


REAL_SEISMIC = real_seismic()
