"""Fusion graphs: the one representation behind necks, pruning, diagrams and counts."""

from archsearch.graph.builders import (
    GRAPHS,
    available_graphs,
    build_graph,
    dense,
    from_spec,
    register_graph,
)
from archsearch.graph.fusion_graph import (
    BLOCK,
    DEFAULT_LEVELS,
    DEFAULT_OP,
    INPUT,
    OUTPUT,
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

__all__ = [
    "BLOCK",
    "DEFAULT_LEVELS",
    "DEFAULT_OP",
    "GRAPHS",
    "INPUT",
    "OUTPUT",
    "Connection",
    "FusionGraph",
    "GraphCounts",
    "available_graphs",
    "build_graph",
    "dense",
    "from_dict",
    "from_spec",
    "input_name",
    "load_json",
    "output_name",
    "register_graph",
    "save_graphml",
    "save_json",
    "to_dict",
]

from archsearch.graph.selection import select_top, smallest_neck

__all__ += ["select_top", "smallest_neck"]
