"""`archsearch strategies`: every pruning strategy, its origin and its hyper-parameters."""

from __future__ import annotations

import argparse

from archsearch import strategies


def register(subcommands: argparse._SubParsersAction) -> None:
    listing = subcommands.add_parser("strategies", help="list pruning strategies")
    listing.set_defaults(func=_list)


def _list(args: argparse.Namespace) -> None:
    for entry in strategies.strategy_entries():
        doc = (entry.obj.__doc__ or "").strip().splitlines()
        print(f"{entry.name} ({entry.origin}): {doc[0] if doc else ''}")
        for parameter in entry.obj.hyperparameters:
            print(f"    {parameter.describe()}")
    for name, reason in strategies.STRATEGIES.broken().items():
        print(f"{name} (broken): {reason}")
