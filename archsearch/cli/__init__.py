"""The `archsearch` command.

Each module of this package that defines ``register(subcommands)`` adds its subcommands; a
new module is picked up without touching this file. Errors of our own types, a flag's bad
value and a file the system cannot read or write (a full disk) print as one line on stderr
and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import math
import pkgutil
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from archsearch import __version__
from archsearch.errors import ArchsearchError


class OneLineParser(argparse.ArgumentParser):
    """argparse with its errors on one line (the usage is one ``--help`` away); subcommand
    parsers are of the same class (``add_subparsers`` makes them so)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def whole(minimum: int) -> Callable[[str], int]:
    """An argparse type: a whole number of at least ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r:.40} is not a whole number") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{value} is below {minimum}")
        return value

    return parse


def positive(text: str) -> float:
    """An argparse type: a finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a number") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r:.40} is not a finite number above 0")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand module registered."""
    parser = OneLineParser(
        prog="archsearch",
        description="Learn the wiring of feature-fusion necks by pruning a dense fusion graph.",
    )
    parser.add_argument("--version", action="version", version=f"archsearch {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{module_info.name}")
        register = getattr(module, "register", None)
        if register is not None:
            register(subcommands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "func", None) is None:
        parser.print_help()
        return 0
    try:
        return int(args.func(args) or 0)
    except ArchsearchError as error:
        print(f"archsearch: error: {error}", file=sys.stderr)
        return 2
    except OSError as error:  # the system's refusal: a full disk, a file without permission
        where = f"{error.filename}: " if error.filename else ""
        print(f"archsearch: error: {where}{error.strerror or error}", file=sys.stderr)
        return 2
