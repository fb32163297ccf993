"""The `archsearch` command.

Each module of this package that defines ``register(subcommands)`` adds its subcommands; a
new module is picked up without touching this file. Errors of our own types print as one
line on stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

from archsearch import __version__
from archsearch.errors import ArchsearchError


def build_parser() -> argparse.ArgumentParser:
    """The full parser, with every subcommand module registered."""
    parser = argparse.ArgumentParser(
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
