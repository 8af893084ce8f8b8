"""The ``rather`` command.

Exit status: 0 success, 1 failure (an unexpected error; ``--debug`` shows the
traceback), 2 bad input (one line on stderr saying what, where and what to do).
"""
from __future__ import annotations

import argparse
import sys
from typing import Optional, Sequence

from rather.common import RatherError, __version__
from rather.common.storage import output_claims

from . import bench, data_cmd, demo, explain, iqa_cmd, recognition_cmd, seismic_cmd, suite_cmd

COMMANDS = (explain, demo, seismic_cmd, iqa_cmd, recognition_cmd, suite_cmd, data_cmd, bench)


class OneLineParser(argparse.ArgumentParser):
    """argparse whose usage errors are one line and exit with status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="rather",
        description="Why P, rather than Q? Contrastive explanations of neural networks as maps over the input.",
        epilog="Example: rather demo --out demo-out",
    )
    parser.add_argument("--version", action="version", version=f"rather {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True, parser_class=OneLineParser)
    for command in COMMANDS:
        sub = commands.add_parser(
            command.NAME, help=command.HELP, description=command.HELP, epilog=f"Example: {command.EXAMPLE}",
            formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        )
        command.add_arguments(sub)
        finish(sub, getattr(command, "SUB_EXAMPLES", {}))
        sub.set_defaults(run=command.run)
    return parser


def finish(parser: argparse.ArgumentParser, examples: dict[str, str], nested: bool = False) -> None:
    """``--debug`` on a command and on each of its sub-commands (so it may follow either), and
    each sub-command's example (``SUB_EXAMPLES`` of its module) at the end of its help.

    A sub-command's ``--debug`` defaults to SUPPRESS: it sets ``debug`` only when given there,
    leaving one given before the sub-command in place.
    """
    parser.add_argument("--debug", action="store_true", help="show the traceback of any error",
                        **({"default": argparse.SUPPRESS} if nested else {}))
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                sub.epilog = f"Example: {examples[name]}"
                sub.formatter_class = argparse.ArgumentDefaultsHelpFormatter
                finish(sub, examples, nested=True)


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with output_claims():  # outputs a command claims are released when it ends, however it ends
            return args.run(args) or 0
    except RatherError as error:
        if args.debug:
            raise
        print(f"rather {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"rather {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:  # anything unexpected: one line unless --debug
        if args.debug:
            raise
        first_line = (str(error).strip().splitlines() or [""])[0]
        print(f"rather {args.command}: failed: {type(error).__name__}: {first_line} (rerun with --debug)",
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
