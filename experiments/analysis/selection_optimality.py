"""How often `select_top` misses the best valid neck of ``count`` connections.

Enumerates every subset of ``count`` connections of the dense graph over ``--levels``, keeps
those that are a valid neck on their own (pruning drops nothing), and compares, for random
scores, the total score of `select_top`'s choice with the best total. The reference for
any better selection (the issue notes propose an exact integer program).

    python -m experiments.analysis.selection_optimality --levels 3 5 --count 6 --draws 200

Measured (2026-11-24): greedy below the optimum in 80 of 200 draws for P3–P5, count 6.
"""

from __future__ import annotations

import argparse
import itertools
import random

from archsearch.errors import GraphError
from archsearch.graph import build_graph, select_top


def valid_subsets(graph, count: int) -> list[tuple[str, ...]]:
    """Every set of ``count`` connections that is a valid neck as it is."""
    found = []
    for subset in itertools.combinations(graph.connection_ids, count):
        try:
            kept = graph.prune(set(subset)).connection_ids
        except GraphError:
            continue
        if len(kept) == count:
            found.append(subset)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, nargs=2, default=[3, 5])
    parser.add_argument("--count", type=int, default=6)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    graph = build_graph("dense", tuple(args.levels))
    subsets = valid_subsets(graph, args.count)
    print(f"{len(graph.connection_ids)} connections, {len(subsets)} valid necks of {args.count}")
    rng = random.Random(args.seed)
    misses = 0
    for _ in range(args.draws):
        scores = {c: rng.random() for c in graph.connection_ids}
        best = max(sum(scores[c] for c in subset) for subset in subsets)
        chosen = sum(scores[c] for c in select_top(graph, scores, args.count))
        misses += chosen < best - 1e-9
    print(f"select_top below the optimum in {misses} of {args.draws} draws")


if __name__ == "__main__":
    main()
