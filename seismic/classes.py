"""The four seismic classes, in the order of every label, logit, probability and map.

LANDMASS's classes (Alaudah and AlRegib): the synthetic surveys label their samples
with these indices, the LANDMASS loaders map their class folders onto them, and the
classifier's logits follow them.
"""
from __future__ import annotations

CLASS_NAMES: tuple[str, ...] = ("horizon", "chaotic", "fault", "salt_dome")
"""Class indices 0, 1, 2, 3, in this order."""

HORIZON, CHAOTIC, FAULT, SALT_DOME = range(len(CLASS_NAMES))
