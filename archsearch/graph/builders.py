"""Builders of fusion graphs: the paper's dense initial graph, and necks written as data.

Every named graph is registered here by a decorator, so the CLI (`archsearch graph build
NAME`), the experiments and the reports all build necks the same way. Hand-designed necks
(`baselines/`) register through the entry-point group ``archsearch.necks``, exactly as a
third-party package would.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from archsearch.errors import GraphError
from archsearch.graph.fusion_graph import (
    DEFAULT_LEVELS,
    DEFAULT_OP,
    FusionGraph,
    input_name,
)
from archsearch.registry import Registry

GraphBuilder = Callable[..., FusionGraph]
GRAPHS: Registry[GraphBuilder] = Registry("graph", "archsearch.necks", GraphError)
register_graph = GRAPHS.register


def list_graphs() -> list[str]:
    """Names of every buildable graph: built-ins, baselines and plugins."""
    return GRAPHS.available()


def build_graph(name: str, levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """Build the registered graph ``name`` over ``levels``, validated."""
    graph = GRAPHS.get(name)(levels=levels)
    graph.nx.graph["name"] = name
    return graph.validate()


@register_graph("dense")
def dense(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """The paper's initial graph: a "fully connected" PANet with skip connections (sec. 3.1).

    Two columns of blocks, one block per level in each:

    * top-down column ``P{l}_td`` (layer 1): every input level feeds every block (5 × 5 = 25
      over P3–P7), plus the top-down pathway ``P{l+1}_td -> P{l}_td`` (4);
    * bottom-up column ``P{l}_bu`` (layer 2): every top-down block feeds every block
      (25), plus the bottom-up pathway ``P{l-1}_bu -> P{l}_bu`` (4), plus the skip connection
      ``P{l}_in -> P{l}_bu`` at the same level (5), as BiFPN adds;
    * outputs tap the bottom-up column (``P{l}_bu -> P{l}_out``; taps carry no weight).

    With L levels that is ``2·L² + 2·(L-1) + L`` connections: 63 over P3–P7, the paper's
    "No Pruning" count (Table 3), with 10 blocks. Figure 1 is not reproduced in the text we
    have, so this is our reading of "fully connected PANet": consecutive columns densely
    connected, the PANet pathways kept inside each column, the same-level skip connections
    of BiFPN; it gives the paper's count exactly. The residual connections from each input
    to its output (sec. 4.1.1) belong to the neck, not the graph: they carry no weight.
    """
    graph = FusionGraph(levels=levels, name="dense")
    low, high = graph.levels
    inputs = [input_name(level) for level in graph.level_range]
    for level in reversed(graph.level_range):
        pathway = [f"P{level + 1}_td"] if level < high else []
        graph.add_block(f"P{level}_td", level, inputs + pathway, layer=1)
    top_down = [f"P{level}_td" for level in graph.level_range]
    for level in graph.level_range:
        pathway = [f"P{level - 1}_bu"] if level > low else []
        graph.add_block(f"P{level}_bu", level, top_down + pathway + [input_name(level)], layer=2)
        graph.set_output(level, f"P{level}_bu")
    return graph


def from_spec(spec: Mapping[str, Any], levels: tuple[int, int] | None = None) -> FusionGraph:
    """Build a graph from a compact node list, so that a hand-designed neck is data.

    ``spec`` has ``blocks``, a list of ``{"name", "level", "inputs", "op"?, "layer"?}`` in an
    order where every input is defined before use (input nodes are ``P{l}_in``), and
    optionally ``outputs``, ``{level: node}``; a level left out is tapped from its last block,
    or from its input when it has none. ``levels`` overrides ``spec["levels"]`` (default
    P3–P7). Errors name the block and the field at fault::

        >>> g = from_spec({"levels": [3, 4], "blocks": [
        ...     {"name": "P3_td", "level": 3, "inputs": ["P3_in", "P4_in"]}]})
        >>> g.connection_ids
        ('P3_in->P3_td', 'P4_in->P3_td')
    """
    levels = tuple(levels or spec.get("levels") or DEFAULT_LEVELS)
    graph = FusionGraph(levels=levels, name=str(spec.get("name", "spec")))
    last_at_level = {level: input_name(level) for level in graph.level_range}
    for index, block in enumerate(spec.get("blocks", [])):
        where = f"block {block.get('name', f'#{index}')!r}"
        missing = [key for key in ("name", "level", "inputs") if key not in block]
        if missing:
            raise GraphError(f"{where} of the spec has no {missing[0]!r}")
        unknown = set(block) - {"name", "level", "inputs", "op", "layer"}
        if unknown:
            raise GraphError(f"{where} of the spec has unknown field(s) {sorted(unknown)}")
        graph.add_block(
            block["name"],
            int(block["level"]),
            _as_names(block["inputs"], where),
            op=block.get("op", DEFAULT_OP),
            layer=block.get("layer"),
        )
        last_at_level[int(block["level"])] = block["name"]
    outputs = {int(level): node for level, node in dict(spec.get("outputs", {})).items()}
    for level in graph.level_range:
        graph.set_output(level, outputs.get(level, last_at_level[level]))
    return graph.validate()


def _as_names(inputs: Sequence[str] | str, where: str) -> list[str]:
    if isinstance(inputs, str) or not all(isinstance(name, str) for name in inputs):
        raise GraphError(f"{where}: 'inputs' must be a list of node names")
    return list(inputs)
