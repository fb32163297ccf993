"""Choosing which connections to keep, given a score per connection.

Every pruning strategy that has a target ends in the same question: keep the best-scored
connections while keeping a valid neck (every output still fed). `select_top` answers it
once, for every strategy, through the graph alone.
"""

from __future__ import annotations

from collections.abc import Mapping

from archsearch.errors import GraphError
from archsearch.graph.fusion_graph import FusionGraph


def select_top(graph: FusionGraph, scores: Mapping[str, float], count: int) -> set[str]:
    """Keep about ``count`` connections, removing the lowest-scored first.

    Connections are removed one at a time in increasing score order (ties by id, so the
    choice is deterministic). A removal is skipped when it would leave an output unfed, or
    when the blocks it kills would take the count below ``count``. The result is valid and
    never holds fewer than ``count`` connections. It is greedy: near the smallest neck the
    graph allows (5 connections for the dense P3–P7 graph: one skip per level) it can stop
    a few above ``count``; from about twice that minimum up it reaches ``count`` exactly.

    >>> from archsearch.graph import dense
    >>> g = dense()
    >>> keep = select_top(g, {c: i for i, c in enumerate(g.connection_ids)}, 9)
    >>> len(g.prune(keep).connection_ids)
    9
    """
    missing = [c for c in graph.connection_ids if c not in scores]
    if missing:
        raise GraphError(f"no score for connection {missing[0]!r}")
    if count < 0:
        raise GraphError(f"cannot keep a negative number of connections ({count})")
    keep = set(graph.connection_ids)
    for candidate in sorted(keep, key=lambda c: (scores[c], c)):
        if len(keep) <= count:
            break
        if candidate not in keep:
            continue  # already dropped with a dead block
        try:
            survivors = set(graph.prune(keep - {candidate}).connection_ids)
        except GraphError:
            continue  # an output would lose its source
        if len(survivors) >= count:
            keep = survivors
    return keep
