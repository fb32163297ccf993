"""`archsearch graph build|info|draw`: build named graphs, inspect and draw graph files."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.errors import ConfigError
from archsearch.graph import build_graph, list_graphs, load_json, save_graphml, save_json


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

    draw = actions.add_parser("draw", help="draw a graph file (PNG, SVG or PDF by --out suffix)")
    draw.add_argument("path", type=Path, help="graph JSON")
    draw.add_argument("--out", type=Path, required=True, help="e.g. g.png or g.svg")
    draw.add_argument(
        "--weights",
        type=Path,
        help="run record or history JSON: widths follow each connection's last finite mean; "
        "a record's initial graph is drawn faded behind",
    )
    draw.set_defaults(func=_draw)

    listing = actions.add_parser("list", help="list the names `graph build` accepts")
    listing.set_defaults(func=lambda args: print("\n".join(list_graphs())))


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


def _draw(args: argparse.Namespace) -> None:
    # imported here: matplotlib is slow to load and only this action needs it
    from matplotlib.figure import Figure

    from archsearch.reporting import architecture_figure, load_weights, save_figure

    out = args.out if args.out.suffix else args.out.with_suffix(".png")
    formats = Figure().canvas.get_supported_filetypes()
    if out.suffix[1:] not in formats:
        raise ConfigError(
            f"{out}: matplotlib writes no {out.suffix!r} files; use {sorted(formats)}"
        )
    graph = load_json(args.path)
    weights, reference = load_weights(args.weights) if args.weights else (None, None)
    figure = architecture_figure(reference, graph, weights, title=args.path.stem)
    save_figure(figure, out, formats=[out.suffix[1:]])
    print(f"wrote {out}: {graph!r}")
