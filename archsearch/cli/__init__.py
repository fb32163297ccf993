"""The `archsearch` command.

Each module of this package that defines ``register(subcommands)`` adds its subcommands; a
new module is picked up without touching this file, and imported only when one of its
commands runs. Errors of our own types, a flag's bad value and a file the system cannot
read or write (a full disk) print as one line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import ast
import importlib
import math
import pkgutil
import sys
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
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


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the subcommand that ``argv`` names registered in full and every
    other one by name and help alone.

    A subcommand's module is imported only when that command runs: ``archsearch --help`` or
    ``archsearch graph info`` do not wait for torch to load. Names and help come from the
    modules' ``register`` source (`_commands`), so a new module is still picked up without
    touching this file.
    """
    parser = OneLineParser(
        prog="archsearch",
        description="Learn the wiring of feature-fusion necks by pruning a dense fusion graph.",
    )
    parser.add_argument("--version", action="version", version=f"archsearch {__version__}")
    subcommands = parser.add_subparsers(dest="command", metavar="COMMAND")
    wanted = next((word for word in argv or () if not word.startswith("-")), None)
    for module_name, commands in _commands().items():
        if wanted in commands:
            importlib.import_module(f"{__name__}.{module_name}").register(subcommands)
        else:
            for name, help_text in commands.items():
                subcommands.add_parser(name, help=help_text, add_help=False)
    return parser


def _commands() -> dict[str, dict[str, str]]:
    """Per module of this package that defines ``register(subcommands)``, the commands it
    adds and their help, read from its source: every ``subcommands.add_parser(NAME,
    help=TEXT)`` call in ``register`` (help that is no literal string reads as empty)."""
    found: dict[str, dict[str, str]] = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        source = Path(__path__[0], f"{info.name}.py").read_text(encoding="utf-8")
        for function in ast.parse(source).body:
            if isinstance(function, ast.FunctionDef) and function.name == "register":
                receiver = function.args.args[0].arg
                found[info.name] = dict(_added_parsers(function, receiver))
    return found


def _added_parsers(function: ast.FunctionDef, receiver: str) -> Iterator[tuple[str, str]]:
    for node in ast.walk(function):
        call = node if isinstance(node, ast.Call) else None
        if (
            call is not None
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "add_parser"
            and isinstance(call.func.value, ast.Name)
            and call.func.value.id == receiver
            and call.args
            and isinstance(call.args[0], ast.Constant)
        ):
            help_node = next((k.value for k in call.keywords if k.arg == "help"), None)
            help_text = help_node.value if isinstance(help_node, ast.Constant) else ""
            yield call.args[0].value, help_text


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
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
