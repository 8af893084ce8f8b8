"""One exception family for everything rather refuses.

Library code raises these; the ``rather`` command prints the message as one line
and exits with status 2. Every message says what was wrong, where, and what to do.
"""


class RatherError(Exception):
    """Base of every error rather raises on purpose."""


class BadInput(RatherError, ValueError):
    """The data handed in (tensor, image, file) cannot be explained as it is."""


class BadModel(RatherError):
    """The model, its layer, its output or its checkpoint is unusable for the question."""


class BadQuestion(RatherError, ValueError):
    """The question cannot be asked of this output (class out of range, wrong task)."""
