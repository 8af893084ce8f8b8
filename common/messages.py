"""Library messages said again in rather's words: one line, what happened, what to do.

A library's warning or error is never passed through as it is (DESIGN.md §4): its text may
span lines and speaks the library's jargon. Each rule below recognises one message that
rather's work can meet, by a pattern over its whole text, and says it again; the pattern's
groups (numbers, names) fill the new wording. A message no rule knows is cut to its first
line, which is still one line.
"""
from __future__ import annotations

import re

Rule = tuple["re.Pattern[str]", str]

WARNINGS: tuple[Rule, ...] = (
    # Pillow, for an image over its own guard (rather reads with that guard off and its own limit)
    (re.compile(r"Image size \((\d+) pixels\) exceeds limit of (\d+) pixels"),
     "an image of {0} pixels was decoded, more than Pillow's guard of {1} pixels expects; rather's own limit "
     "(RATHER_MAX_PIXELS) allowed it"),
    # numpy's ComplexWarning
    (re.compile(r"Casting complex values to real discards the imaginary part"),
     "complex numbers were made real, their imaginary parts dropped; give real numbers"),
    # numpy's floating-point RuntimeWarnings
    (re.compile(r"overflow encountered in (\w+)"),
     "a number too large for its type became infinite (in a {0}); check that the inputs' values are in range"),
    (re.compile(r"divide by zero encountered in (\w+)"),
     "a division by zero gave an infinite value (in a {0}); check for constant or empty inputs"),
    (re.compile(r"invalid value encountered in (\w+)"),
     "a computation gave NaN, not a number (in a {0}); check for constant, empty or NaN inputs"),
    # Dask distributed, when the dashboard's port is taken
    (re.compile(r"Port (\d+) is already in use.*?port (\d+) instead", re.S),
     "Dask's dashboard port {0} was in use, so the dashboard ran on port {1}"),
)
"""Warnings of the libraries rather uses, as notes."""

ERRORS: tuple[Rule, ...] = (
    # torch's convolution, for an input with another number of channels than its weights take
    (re.compile(r"expected input\[[^\]]*\] to have (\d+) channels, but got (\d+) channels"),
     "its first layer takes {0} channels but the input has {1}; give an input of {0} channels, or record "
     "preprocess.channels = {0} in the checkpoint (a grey image is then repeated, a colour one made grey)"),
)
"""Errors of the libraries rather uses, as the part of a message that says what is wrong."""


def warning_note(text: str) -> str:
    """A library warning's ``text`` as a one-line note."""
    return _rephrased(text, WARNINGS)


def error_reason(text: str) -> str:
    """A library error's ``text`` as one line saying what is wrong."""
    return _rephrased(text, ERRORS)


def _rephrased(text: str, rules: tuple[Rule, ...]) -> str:
    for pattern, wording in rules:
        found = pattern.search(text)
        if found:
            return wording.format(*found.groups())
    return (text.strip().splitlines() or [""])[0]
