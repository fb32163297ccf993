"""`archsearch demo`: the main job on the embedded default (what `make demo` runs)."""

from __future__ import annotations

import argparse
import random
from pathlib import Path

from archsearch.graph import dense, save_json, select_top


def register(subcommands: argparse._SubParsersAction) -> None:
    demo = subcommands.add_parser("demo", help="run the main job on the embedded default")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    demo.add_argument("--connections", type=int, default=9, help="connections to keep")
    demo.add_argument("--seed", type=int, default=0)
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> None:
    graph = dense()
    rng = random.Random(args.seed)
    scores = {connection: rng.random() for connection in graph.connection_ids}
    pruned = graph.prune(select_top(graph, scores, args.connections))
    for name, g in (("dense", graph), ("pruned", pruned)):
        path = save_json(g, args.out / f"{name}.json")
        print(f"{path}: {g!r}")
        for line in g.counts().lines():
            print(f"  {line}")
