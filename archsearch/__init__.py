"""archsearch: learn the wiring of feature-fusion necks by pruning a dense fusion graph."""

from archsearch.errors import ArchsearchError, ConfigError, DataError, GraphError
from archsearch.graph import FusionGraph, build_graph, dense, from_spec

__version__ = "0.1.0"
__all__ = [
    "ArchsearchError",
    "ConfigError",
    "DataError",
    "FusionGraph",
    "GraphError",
    "build_graph",
    "dense",
    "from_spec",
]
