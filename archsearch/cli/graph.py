"""`archsearch graph build|info`: build named graphs and inspect graph files."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.graph import available_graphs, build_graph, load_json, save_graphml, save_json


def register(subcommands: argparse._SubParsersAction) -> None:
    graph = subcommands.add_parser("graph", help="build, inspect and export fusion graphs")
    actions = graph.add_subparsers(dest="action", metavar="ACTION", required=True)

    build = actions.add_parser("build", help="build a named graph and write it as JSON")
    build.add_argument("name", help="graph name (see `archsearch graph list`)")
    build.add_argument("--out", type=Path, required=True, help="output file (.json or .graphml)")
    build.add_argument("--levels", type=_levels, default=(3, 7), help="level range, e.g. 3-7")
    build.set_defaults(func=_build)

    info = actions.add_parser("info", help="print the counts of a graph file")
    info.add_argument("path", type=Path)
    info.set_defaults(func=_info)

    listing = actions.add_parser("list", help="list the names `graph build` accepts")
    listing.set_defaults(func=lambda args: print("\n".join(available_graphs())))


def _levels(text: str) -> tuple[int, int]:
    try:
        low, high = (int(part) for part in text.replace("P", "").split("-"))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected a range like 3-7, got {text!r}") from error
    return low, high


def _build(args: argparse.Namespace) -> None:
    graph = build_graph(args.name, levels=args.levels)
    writer = save_graphml if args.out.suffix == ".graphml" else save_json
    writer(graph, args.out)
    print(f"wrote {args.out}: {graph!r}")


def _info(args: argparse.Namespace) -> None:
    graph = load_json(args.path)
    print(f"{args.path}: {graph!r}")
    for line in graph.counts().lines():
        print(f"  {line}")
