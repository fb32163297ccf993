"""Fusion graphs: the one representation behind necks, pruning, diagrams and counts."""

from archsearch.graph.builders import (
    build_graph,
    dense,
    from_spec,
    list_graphs,
    register_graph,
)
from archsearch.graph.fusion_graph import (
    DEFAULT_LEVELS,
    Connection,
    FusionGraph,
    GraphCounts,
    from_dict,
    input_name,
    load_json,
    output_name,
    save_graphml,
    save_json,
    to_dict,
)
from archsearch.graph.selection import select_top, smallest_neck

__all__ = [
    "DEFAULT_LEVELS",
    "Connection",
    "FusionGraph",
    "GraphCounts",
    "build_graph",
    "dense",
    "from_dict",
    "from_spec",
    "input_name",
    "list_graphs",
    "load_json",
    "output_name",
    "register_graph",
    "save_graphml",
    "save_json",
    "select_top",
    "smallest_neck",
    "to_dict",
]
