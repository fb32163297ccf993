"""Validation and pruning of a `FusionGraph`: plain functions over networkx algorithms."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING

import networkx as nx

from archsearch.errors import GraphError

if TYPE_CHECKING:
    from archsearch.graph.fusion_graph import FusionGraph


def validate(graph: FusionGraph) -> None:
    """Raise `GraphError` naming the first node or edge that breaks a rule of a neck."""
    from archsearch.graph.fusion_graph import BLOCK, INPUT, KINDS, OUTPUT, input_name, output_name

    g = graph.nx
    if not nx.is_directed_acyclic_graph(g):
        cycle = " -> ".join(source for source, _ in nx.find_cycle(g))
        raise GraphError(f"graph {graph.name!r} has a cycle through {cycle}")
    low, high = graph.levels
    for node, data in g.nodes(data=True):
        kind = data.get("kind")
        if kind not in KINDS:
            raise GraphError(f"node {node!r} has kind {kind!r}; expected one of {KINDS}")
        for attribute in ("level", "layer"):
            if not isinstance(data.get(attribute), int):
                raise GraphError(f"node {node!r} has no integer {attribute!r}")
        if not low <= data["level"] <= high:
            raise GraphError(f"node {node!r} is at level P{data['level']}, outside P{low}–P{high}")
        if kind == INPUT and g.in_degree(node):
            raise GraphError(f"input {node!r} has incoming edges")
        if kind == OUTPUT and (g.in_degree(node) != 1 or g.out_degree(node)):
            raise GraphError(f"output {node!r} must have exactly one source and no successors")
        if kind == BLOCK and not isinstance(data.get("op"), str):
            raise GraphError(f"block {node!r} has no 'op'")
    for level in graph.level_range:
        for name, kind in ((input_name(level), INPUT), (output_name(level), OUTPUT)):
            if g.nodes.get(name, {}).get("kind") != kind:
                raise GraphError(f"graph {graph.name!r} has no {kind} node {name!r}")
    _check_blocks_live(graph)
    ids = Counter(data.get("id") for _, _, data in g.edges(data=True))
    duplicated = [i for i, count in ids.items() if count > 1 or i is None]
    if duplicated:
        raise GraphError(f"connection id {duplicated[0]!r} is missing or not unique")


def _check_blocks_live(graph: FusionGraph) -> None:
    from archsearch.graph.fusion_graph import BLOCK

    fed, feeding = _live_sets(graph)
    for block in graph.nodes(BLOCK):
        if block not in fed:
            raise GraphError(f"block {block!r} is not reachable from any input")
        if block not in feeding:
            raise GraphError(f"block {block!r} reaches no output")


def _live_sets(graph: FusionGraph) -> tuple[set[str], set[str]]:
    """(nodes reachable from an input, nodes with a path to an output)."""
    from archsearch.graph.fusion_graph import INPUT, OUTPUT

    g = graph.nx
    kinds = nx.get_node_attributes(g, "kind")
    fed = set().union(*(nx.descendants(g, n) for n, k in kinds.items() if k == INPUT))
    feeding = set().union(*(nx.ancestors(g, n) for n, k in kinds.items() if k == OUTPUT))
    return fed, feeding


def prune(graph: FusionGraph, keep: Iterable[str]) -> FusionGraph:
    """Keep the connections named in ``keep``; drop every block that is left dead.

    A block is live when it is reachable from an input *and* has a path to an output. Live
    blocks are exactly the fixed point of repeatedly removing blocks without inputs or without
    successors: every node on a path from an input to a live block is itself live, so one
    reachability pass is already stable.
    """
    from archsearch.graph.fusion_graph import BLOCK, OUTPUT

    keep = set(keep)
    by_id = {c.id: c for c in graph.connections()}
    unknown = sorted(keep - by_id.keys())
    if unknown:
        raise GraphError(f"cannot keep unknown connection(s) {unknown} of graph {graph.name!r}")
    pruned = graph.copy()
    g = pruned.nx
    g.remove_edges_from((c.source, c.target) for i, c in by_id.items() if i not in keep)
    fed, feeding = _live_sets(pruned)
    g.remove_nodes_from([b for b in graph.nodes(BLOCK) if b not in fed or b not in feeding])
    for output in graph.nodes(OUTPUT):
        if g.in_degree(output) != 1:
            source = graph.output_source(graph.nx.nodes[output]["level"])
            raise GraphError(
                f"pruning would leave output {output!r} without input: "
                f"its source {source!r} loses every path from an input"
            )
    return pruned
