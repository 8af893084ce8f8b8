"""The ``rather`` command.

Exit status: 0 success, 1 failure (an unexpected error; ``--debug`` shows the
traceback), 2 bad input, a request too big for the memory or the disk (one line on
stderr saying what, where and what to do), 141 when the reader of the output went away
(``rather seismic info FILE | head -1``: the run ends quietly, as a program stopped by
SIGPIPE would). Library warnings become one-line notes after a success and are dropped
after an error. Characters that a terminal would act on (escapes, line breaks) are shown
escaped in every line rather prints on stderr.
"""
from __future__ import annotations

import argparse
import io
import os
import select
import signal
import sys
import warnings
from contextlib import contextmanager
from typing import Iterator, Optional, Sequence

from rather.common import RatherError, __version__
from rather.common.messages import warning_note
from rather.common.memory import available_memory, out_of_memory, requested_bytes, size_text
from rather.common.storage import disk_full, no_space_from, output_claims

from . import bench, data_cmd, demo, explain, iqa_cmd, recognition_cmd, seismic_cmd, suite_cmd

COMMANDS = (explain, demo, seismic_cmd, iqa_cmd, recognition_cmd, suite_cmd, data_cmd, bench)
# Warnings meant for developers, which Python itself hides by default: never printed as notes.
DEVELOPER_WARNINGS = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


class DefaultsOnceFormatter(argparse.HelpFormatter):
    """Help that states an option's default once: appended as "(default: X)" only where the
    help does not already speak of its default, and never for a default of None, False or
    SUPPRESS (an option not given, a flag not set)."""

    def _get_help_string(self, action: argparse.Action) -> str:  # argparse's hook for default texts
        text = action.help or ""
        unset = any(action.default is value for value in (None, False, argparse.SUPPRESS))  # 0 is a default
        if unset or "default" in text or not action.option_strings:
            return text
        return f"{text} (default: %(default)s)"


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit with status 2, whose help states each default
    once, and which keeps the sub-commands it is given (``commands``) so they can be finished alike."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", DefaultsOnceFormatter)
        super().__init__(*args, **kwargs)
        self.commands: Optional[argparse.Action] = None

    def add_subparsers(self, **kwargs) -> argparse.Action:
        kwargs.setdefault("parser_class", OneLineParser)
        self.commands = super().add_subparsers(**kwargs)
        return self.commands

    def error(self, message: str):
        """One line; the argument as typed shown escaped where it is not plain ASCII (a superscript '²' that looks
        like a digit, a terminal escape)."""
        self.exit(2, f"{self.prog}: error: {escaped(message, ascii_only=True)} (see {self.prog} --help)\n")


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="rather",
        description="Why P, rather than Q? Contrastive explanations of neural networks as maps over the input.",
        epilog="Example: rather demo --out demo-out",
    )
    parser.add_argument("--version", action="version", version=f"rather {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True)
    for command in COMMANDS:
        sub = commands.add_parser(command.NAME, help=command.HELP, description=command.HELP,
                                  epilog=f"Example: {command.EXAMPLE}")
        command.add_arguments(sub)
        finish(sub, getattr(command, "SUB_EXAMPLES", {}))
        sub.set_defaults(run=command.run)
    return parser


def finish(parser: OneLineParser, examples: dict[str, str], nested: bool = False) -> None:
    """``--debug`` and ``--progress`` on a command and on each of its sub-commands (so they may
    follow either), and each sub-command's example (``SUB_EXAMPLES`` of its module) at the end of
    its help.

    A sub-command's flags default to SUPPRESS: they are set only when given there, leaving one
    given before the sub-command in place.
    """
    unset = {"default": argparse.SUPPRESS} if nested else {}
    parser.add_argument("--debug", action="store_true", help="show the traceback of any error", **unset)
    parser.add_argument("--progress", action="store_true", help="show progress bars on stderr even when it is "
                        "not a terminal or the output is JSON", **unset)
    if parser.commands is not None:
        for name, sub in parser.commands.choices.items():
            sub.epilog = f"Example: {examples[name]}"
            finish(sub, examples, nested=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run one command; every error ends in one line on stderr (``--debug``: the traceback); return the exit status.

    Warnings that libraries raise during the run are held back: after a success each
    distinct one is printed once as ``rather CMD: note: ...``; after an error only the
    error line is printed. SIGTERM and SIGHUP (``timeout``, batch schedulers, container stops,
    a closed terminal) end a run as Ctrl-C does: staged outputs removed, exit 128 + N. A usage
    error, ``--help`` and ``--version`` return argparse's status (2, 0, 0) instead of exiting.
    """
    try:
        status = _main(argv)
        sys.stdout.flush()  # a reader gone is found here, not at exit (where Python would print a traceback)
        return status
    except BrokenPipeError:
        if not stdout_closed():
            raise
        return output_closed()


def _main(argv: Optional[Sequence[str]]) -> int:
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as ended:  # argparse exits by itself, its line printed: a usage error, --help, --version
        return ended.code if isinstance(ended.code, int) else 2
    name = f"rather {args.command}"
    with held_warnings(not args.debug) as notes, stopped_by_signals():
        try:
            with output_claims():  # outputs a command claims are released when it ends, however it ends
                status = args.run(args) or 0
        except Stopped as stop:
            print(f"{name}: stopped by {signal.Signals(stop.signum).name}", file=sys.stderr)
            return 128 + stop.signum
        except KeyboardInterrupt:
            print(f"{name}: interrupted", file=sys.stderr)
            return 130
        except Exception as error:
            if args.debug or (isinstance(error, BrokenPipeError) and stdout_closed()):
                raise
            line, status = refusal(error)
            print(f"{name}: {escaped(line)}", file=sys.stderr)
            return status
    for note in notes:
        print(f"{name}: note: {escaped(note)}", file=sys.stderr)
    return status


SIGPIPE_STATUS = 128 + 13
"""The status of a program that SIGPIPE stopped: what a shell reports for ``yes | head -1``."""


def stdout_closed() -> bool:
    """Whether standard output is a pipe (or socket) whose reader has gone away."""
    try:
        descriptor = sys.stdout.fileno()
    except (AttributeError, ValueError, io.UnsupportedOperation):  # replaced by an object, or closed
        return False
    poller = select.poll()
    poller.register(descriptor, 0)  # POLLERR is always reported: set on a pipe with no reader
    return any(events & select.POLLERR for _, events in poller.poll(0))


def output_closed() -> int:
    """End quietly after the reader of standard output went away (``| head -1``): nothing more is written there
    (Python's flush at exit would fail too), exit status ``SIGPIPE_STATUS``."""
    nowhere = os.open(os.devnull, os.O_WRONLY)
    os.dup2(nowhere, sys.stdout.fileno())
    os.close(nowhere)
    return SIGPIPE_STATUS


def escaped(text: str, ascii_only: bool = False) -> str:
    """``text`` with every character a terminal would act on (escape sequences, line breaks, other controls)
    written as a Python escape (``\\x1b``), and with ``ascii_only`` every non-ASCII one too (``\\xb2`` for '²')."""
    return "".join(character if character.isprintable() and (character.isascii() or not ascii_only)
                   else ascii(character)[1:-1] for character in text)


class Stopped(KeyboardInterrupt):
    """A run ended by a signal: it unwinds like Ctrl-C (every ``finally`` runs, staging is removed)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


STOPPING_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


@contextmanager
def stopped_by_signals() -> Iterator[None]:
    """Inside the block, ``STOPPING_SIGNALS`` raise ``Stopped``; the previous handlers come back after it.

    Signal handlers can only be set from the main thread; elsewhere (a command run from a
    worker thread) the block runs with the handlers as they are.
    """
    def stop(signum, frame) -> None:
        raise Stopped(signum)

    try:
        previous = {number: signal.signal(number, stop) for number in STOPPING_SIGNALS}
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def refusal(error: Exception) -> tuple[str, int]:
    """The one line (after ``rather CMD: ``) and the exit status for an error that ended a run.

    Our own refusals, failed allocations and full disks are the user's to fix (status 2); anything
    else is a bug of ours (status 1).
    """
    if isinstance(error, RatherError):
        return f"error: {one_line(str(error))}", 2
    if disk_full(error):  # a write outside rather's own writers (which refuse it themselves)
        return f"error: {no_space_from(error)}", 2
    if out_of_memory(error):
        return f"error: {memory_message(error)}", 2
    return f"failed: {type(error).__name__}: {first_line(str(error))} (rerun with --debug)", 1


def memory_message(error: BaseException) -> str:
    """What a failed allocation asked for, what was free, and what to do."""
    asked, free = requested_bytes(error), available_memory()
    what = f": an allocation of {size_text(asked)} failed" if asked is not None else ""
    free_text = f" ({size_text(free)} is available)" if free is not None else ""
    return (f"not enough memory{what}{free_text}; ask for less (a smaller size, fewer lines, samples or images) "
            "or free memory")


def one_line(text: str) -> str:
    """``text`` with its line breaks folded into spaces: a message is one line, always."""
    return " ".join(part.strip() for part in text.splitlines() if part.strip())


def first_line(text: str) -> str:
    """The first non-blank line of ``text`` (a library's message, shortened for a one-line report)."""
    return (text.strip().splitlines() or [""])[0]


@contextmanager
def held_warnings(hold: bool = True) -> Iterator[list[str]]:
    """Hold back the warnings raised inside the block; yields the list of their distinct notes: each
    warning in rather's words (``rather.common.messages``), or the first line of one it does not know.

    Every warning is caught ("always": no per-module registry hides a repeat in a later run),
    and this handler takes precedence over any outer recorder (pytest's included), so a test
    in this process sees what a user's terminal would. Developer warnings keep the filters
    from outside (Python hides them by default; the test suite turns rather's own into
    errors) and are never printed as notes. With ``hold`` false, warnings go their usual way.
    """
    notes: list[str] = []
    if not hold:
        yield notes
        return

    def keep(message, category, filename, lineno, file=None, line=None) -> None:
        text = warning_note(str(message))
        if not issubclass(category, DEVELOPER_WARNINGS) and text not in notes:
            notes.append(text)

    outside = [rule for rule in warnings.filters if issubclass(rule[2], DEVELOPER_WARNINGS)]
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        for action, message, category, module, lineno in reversed(outside):  # each goes to the front
            warnings.filterwarnings(action, getattr(message, "pattern", message) or "", category,
                                    getattr(module, "pattern", module) or "", lineno)
        warnings.showwarning = keep
        yield notes


if __name__ == "__main__":
    sys.exit(main())
