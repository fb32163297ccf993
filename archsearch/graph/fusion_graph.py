"""`FusionGraph`: the one representation of a fusion neck.

A thin, typed wrapper over `networkx.DiGraph`. The neck compiles it, a strategy prunes it, a
report draws it and a result stores it, all through the same stable connection ids.

Nodes have a ``kind``:

* ``input``: one per pyramid level, the lateral projection of the backbone (layer 0);
* ``block``: a fusion operation ``op`` at a ``(layer, level)`` position;
* ``output``: one per pyramid level, fed by exactly one node (its *tap*).

Edges into blocks are **connections**: each carries one fusion weight and a stable id,
``"<source>-><target>"`` by default. Edges into outputs are taps: they carry no weight, are
never pruned directly, and are not counted as connections (the paper's connection counts,
e.g. the 63 of Table 3, count fusion weights).

No torch here: graph logic is cheap to test and to use from reports.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import networkx as nx

from archsearch.errors import GraphError
from archsearch.io import atomic_write_text, read_json

INPUT, BLOCK, OUTPUT = "input", "block", "output"
KINDS = (INPUT, BLOCK, OUTPUT)
DEFAULT_OP = "fast_normalized"
DEFAULT_LEVELS = (3, 7)
# Bounds that keep a hostile file from exhausting memory or time: P12 has a stride of 4096
# pixels, and the largest hand-designed necks have a few dozen nodes.
MAX_LEVEL = 12
MAX_NODES = 1000
FORMAT_VERSION = 1


def input_name(level: int) -> str:
    """Name of the input node at ``level`` (e.g. ``P3_in``)."""
    return f"P{level}_in"


def output_name(level: int) -> str:
    """Name of the output node at ``level`` (e.g. ``P3_out``)."""
    return f"P{level}_out"


def connection_id(source: str, target: str) -> str:
    """The default stable id of the connection ``source -> target``."""
    return f"{source}->{target}"


@dataclass(frozen=True)
class Connection:
    """One weighted edge into a block."""

    id: str
    source: str
    target: str


@dataclass(frozen=True)
class GraphCounts:
    """What a graph is made of, for tables and `archsearch graph info`."""

    connections: int
    blocks: int
    blocks_per_level: dict[int, int]
    blocks_per_layer: dict[int, int]
    connections_per_level: dict[int, int]

    def lines(self) -> list[str]:
        """Human-readable lines, one fact each."""
        return [
            f"connections: {self.connections}",
            f"blocks: {self.blocks}",
            "blocks per level: " + _fmt(self.blocks_per_level, "P"),
            "blocks per layer: " + _fmt(self.blocks_per_layer, "L"),
            "connections per level (into): " + _fmt(self.connections_per_level, "P"),
        ]


def _fmt(counts: dict[int, int], prefix: str) -> str:
    return ", ".join(f"{prefix}{key}={value}" for key, value in sorted(counts.items())) or "-"


class FusionGraph:
    """A fusion neck as a DAG of inputs, fusion blocks and outputs over pyramid levels.

    Build one with the builders (`archsearch.graph.dense`, `from_spec`) or node by node::

        >>> g = FusionGraph(levels=(3, 4))
        >>> g.add_block("P3_td", level=3, inputs=["P3_in", "P4_in"])
        'P3_td'
        >>> g.set_output(3, "P3_td"); g.set_output(4, "P4_in")
        >>> g.validate().connection_ids
        ('P3_in->P3_td', 'P4_in->P3_td')
    """

    def __init__(self, levels: tuple[int, int] = DEFAULT_LEVELS, name: str = "graph") -> None:
        low, high = (int(levels[0]), int(levels[1]))
        if low > high:
            raise GraphError(f"level range {levels} is empty: the lowest level comes first")
        if not 0 <= low <= high <= MAX_LEVEL:
            raise GraphError(f"level range {levels}: levels run from 0 to {MAX_LEVEL}")
        self.nx = nx.DiGraph(levels=[low, high], name=name)
        for level in range(low, high + 1):
            self.nx.add_node(input_name(level), kind=INPUT, level=level, layer=0)

    # -- construction -----------------------------------------------------------------

    @property
    def levels(self) -> tuple[int, int]:
        """The inclusive level range, e.g. ``(3, 7)`` for P3–P7."""
        low, high = self.nx.graph["levels"]
        return int(low), int(high)

    @property
    def level_range(self) -> range:
        return range(self.levels[0], self.levels[1] + 1)

    @property
    def name(self) -> str:
        return str(self.nx.graph.get("name", "graph"))

    def add_block(
        self,
        name: str,
        level: int,
        inputs: Iterable[str],
        op: str = DEFAULT_OP,
        layer: int | None = None,
    ) -> str:
        """Add a fusion block fed by ``inputs`` (existing node names); return its name.

        ``layer`` defaults to one more than the deepest input, so chains lay out left to right.
        """
        if len(self.nx) >= MAX_NODES:
            raise GraphError(f"block {name!r}: a fusion graph holds at most {MAX_NODES} nodes")
        inputs = list(inputs)
        if name in self.nx:
            raise GraphError(f"node {name!r} already exists")
        missing = [source for source in inputs if source not in self.nx]
        if missing:
            raise GraphError(f"block {name!r} names unknown input node(s) {missing}")
        if not inputs:
            raise GraphError(f"block {name!r} has no inputs")
        if layer is None:
            layer = 1 + max(self.nx.nodes[source]["layer"] for source in inputs)
        self.nx.add_node(name, kind=BLOCK, level=int(level), layer=int(layer), op=op)
        for source in inputs:
            self.nx.add_edge(source, name, id=connection_id(source, name))
        return name

    def set_output(self, level: int, source: str) -> None:
        """Make ``source`` the node whose features leave the neck at ``level``."""
        if source not in self.nx:
            raise GraphError(f"output P{level} names unknown node {source!r}")
        name = output_name(level)
        if name in self.nx:
            self.nx.remove_node(name)
        self.nx.add_node(name, kind=OUTPUT, level=int(level), layer=-1)
        self.nx.add_edge(source, name, id=connection_id(source, name))
        self._place_outputs()

    def _place_outputs(self) -> None:
        """Outputs sit one column right of the deepest node, for diagrams."""
        deepest = max(
            (data["layer"] for _, data in self.nx.nodes(data=True) if data["kind"] != OUTPUT),
            default=0,
        )
        for _, data in self.nx.nodes(data=True):
            if data["kind"] == OUTPUT:
                data["layer"] = deepest + 1

    # -- queries --------------------------------------------------------------------

    def nodes(self, kind: str | None = None) -> list[str]:
        """Node names in a deterministic topological order, optionally of one kind."""
        order = nx.lexicographical_topological_sort(self.nx, key=self._sort_key)
        return [n for n in order if kind is None or self.nx.nodes[n]["kind"] == kind]

    def _sort_key(self, node: str) -> tuple:
        data = self.nx.nodes[node]
        return (data["kind"] == OUTPUT, data["layer"], data["level"], node)

    def node(self, name: str) -> dict:
        """The attributes of node ``name`` (kind, level, layer, op)."""
        if name not in self.nx:
            raise GraphError(f"no node {name!r} in graph {self.name!r}")
        return self.nx.nodes[name]

    def inputs_of(self, node: str) -> list[str]:
        """Sources feeding ``node``, in a deterministic order (layer, level, name)."""
        return sorted(self.nx.predecessors(node), key=self._sort_key)

    def connections(self) -> list[Connection]:
        """Every weighted connection, block by block in topological order.

        The inputs of one block are contiguous, so a weight vector indexed in this order
        gives each block one slice.
        """
        return [
            Connection(self.nx.edges[source, block]["id"], source, block)
            for block in self.nodes(BLOCK)
            for source in self.inputs_of(block)
        ]

    @property
    def connection_ids(self) -> tuple[str, ...]:
        """The stable ids of `connections()`, in the same order."""
        return tuple(c.id for c in self.connections())

    def connection(self, connection_id: str) -> Connection:
        """The connection with id ``connection_id``."""
        for conn in self.connections():
            if conn.id == connection_id:
                return conn
        raise GraphError(f"no connection {connection_id!r} in graph {self.name!r}")

    def output_source(self, level: int) -> str:
        """The node tapped by the output at ``level``."""
        (source,) = self.nx.predecessors(output_name(level))
        return source

    def counts(self) -> GraphCounts:
        """Connections and blocks, in total and per level and layer."""
        blocks = self.nodes(BLOCK)
        return GraphCounts(
            connections=len(self.connections()),
            blocks=len(blocks),
            blocks_per_level=dict(Counter(self.nx.nodes[b]["level"] for b in blocks)),
            blocks_per_layer=dict(Counter(self.nx.nodes[b]["layer"] for b in blocks)),
            connections_per_level=dict(
                Counter(self.nx.nodes[c.target]["level"] for c in self.connections())
            ),
        )

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, FusionGraph):
            return NotImplemented
        return to_dict(self) == to_dict(other)

    def __repr__(self) -> str:
        counts = self.counts()
        low, high = self.levels
        return (
            f"FusionGraph({self.name!r}, P{low}–P{high}, "
            f"{counts.connections} connections, {counts.blocks} blocks)"
        )

    # -- checks and transformations ----------------------------------------------------

    def validate(self) -> FusionGraph:
        """Check the graph is a well-formed neck; return it, or raise `GraphError`.

        Checks: acyclic; known node kinds; levels in range; one input and one output per
        level, outputs with exactly one source and no successors; every block fed, reachable
        from an input and reaching an output; connection ids unique.
        """
        from archsearch.graph.checks import validate

        validate(self)
        return self

    def prune(self, keep: Iterable[str]) -> FusionGraph:
        """A new graph holding only the connections in ``keep`` (ids).

        Blocks left without inputs, or without a path to an output, are removed, transitively.
        Raises `GraphError` for an unknown id or when an output would lose its source.
        """
        from archsearch.graph.checks import prune

        return prune(self, keep)

    def copy(self) -> FusionGraph:
        clone = FusionGraph.__new__(FusionGraph)
        clone.nx = self.nx.copy()
        return clone


# -- serialization ----------------------------------------------------------------------


def to_dict(graph: FusionGraph) -> dict:
    """Node-link data (networkx's JSON form) with a format version; ids and attributes kept."""
    data = nx.node_link_data(graph.nx, edges="edges")
    data["format"] = FORMAT_VERSION
    return data


def from_dict(data: dict, source: str = "<dict>") -> FusionGraph:
    """Inverse of `to_dict`; validates, naming ``source`` in any error."""
    if not isinstance(data, dict):
        raise GraphError(f"{source}: expected a JSON object, got {type(data).__name__}")
    nodes = data.get("nodes")
    if isinstance(nodes, list) and len(nodes) > MAX_NODES:
        raise GraphError(f"{source}: {len(nodes)} nodes, more than a fusion graph's {MAX_NODES}")
    if data.get("format") != FORMAT_VERSION:
        raise GraphError(f"{source}: unsupported graph format {data.get('format')!r}")
    try:
        g = nx.node_link_graph(data, directed=True, multigraph=False, edges="edges")
    except (AttributeError, KeyError, TypeError, ValueError, nx.NetworkXError) as error:
        raise GraphError(f"{source}: not a node-link graph ({error!r:.80})") from error
    ids = Counter(str(node.get("id")) for node in data["nodes"] if isinstance(node, dict))
    repeated = sorted(node for node, count in ids.items() if count > 1)
    if repeated:
        raise GraphError(f"{source}: node {repeated[0]!r} is listed more than once")
    graph = FusionGraph.__new__(FusionGraph)
    graph.nx = g
    if not isinstance(g.graph, dict) or "levels" not in g.graph:
        raise GraphError(f"{source}: graph has no 'levels' attribute")
    try:
        return graph.validate()
    except GraphError as error:
        raise GraphError(f"{source}: {error}") from error
    except (AttributeError, TypeError, ValueError, KeyError) as error:  # wrong types
        raise GraphError(f"{source}: not a valid fusion graph ({error!r})") from error


def save_json(graph: FusionGraph, path: str | Path) -> Path:
    """Write ``graph`` as node-link JSON, atomically."""
    return atomic_write_text(Path(path), json.dumps(to_dict(graph), indent=1))


def load_json(path: str | Path) -> FusionGraph:
    """Read a graph written by `save_json`."""
    return from_dict(read_json(Path(path), GraphError), source=str(path))


def save_graphml(graph: FusionGraph, path: str | Path) -> Path:
    """Export for other tools (yEd, Gephi, igraph). Levels become two scalar attributes."""
    g = graph.nx.copy()
    low, high = graph.levels
    g.graph.update(levels_low=low, levels_high=high)
    del g.graph["levels"]
    path = Path(path)
    nx.write_graphml(g, path)
    return path
