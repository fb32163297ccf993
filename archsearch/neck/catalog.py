"""Every neck by name, graph or module, built one way: `build_neck`.

Most necks are fusion graphs (`archsearch.graph.list_graphs`) compiled by `FusionNeck`. A neck
that is not a graph of fusion blocks (PConv's pyramid convolution) is a module with the same
interface (``forward(backbone maps) -> {"P3": ...}``, ``in_channels``, ``levels``,
``out_channels``), registered in `NECK_MODULES` with ``__init__(in_channels, channels,
levels)``. Experiments, the CLI and reports name necks, never classes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from archsearch.errors import GraphError
from archsearch.graph import DEFAULT_LEVELS, build_graph, list_graphs
from archsearch.neck.cost import neck_cost
from archsearch.neck.fusion_neck import FusionNeck
from archsearch.registry import Registry
from archsearch.weights import ConnectionWeights

NECK_MODULES: Registry[type[nn.Module]] = Registry(
    "neck module", "archsearch.neck_modules", GraphError
)
register_neck_module = NECK_MODULES.register
GRAPH, MODULE = "graph", "module"


def neck_kind(name: str) -> str:
    """``"graph"`` or ``"module"``; `GraphError` naming every known neck otherwise.

    Graph plugins load first: a package such as `baselines` registers its module necks when
    its entry point in ``archsearch.necks`` is imported.
    """
    if name in list_graphs():
        return GRAPH
    if name in NECK_MODULES.available():
        return MODULE
    raise GraphError(f"unknown neck {name!r}; known: {', '.join(list_necks())}")


def list_necks() -> list[str]:
    """Names `build_neck` accepts: every fusion graph and every module neck, sorted."""
    return sorted({*list_graphs(), *NECK_MODULES.available()})


def build_neck(
    name: str,
    in_channels: Sequence[int],
    channels: int,
    levels: tuple[int, int] = DEFAULT_LEVELS,
    weights: ConnectionWeights | None = None,
) -> nn.Module:
    """The neck ``name`` over ``levels``, fed by backbone maps of ``in_channels``.

    A graph neck compiles to `FusionNeck` (``weights`` indexed like its connections); a
    module neck has no connection weights, so passing ``weights`` to one is an error.
    """
    if neck_kind(name) == GRAPH:
        return FusionNeck(build_graph(name, levels), in_channels, channels, weights)
    if weights is not None:
        raise GraphError(f"neck {name!r} is a module, not a fusion graph: it takes no weights")
    return NECK_MODULES.get(name)(list(in_channels), channels, levels=tuple(levels))


@dataclass(frozen=True)
class NeckSummary:
    """One row of `archsearch necks`: what a neck is made of and what it costs."""

    name: str
    kind: str
    connections: int | None
    blocks: int | None
    params: int
    flops: int


def summarize(
    name: str,
    in_channels: Sequence[int],
    channels: int,
    levels: tuple[int, int] = DEFAULT_LEVELS,
    image_size: tuple[int, int] = (512, 512),
) -> NeckSummary:
    """Counts (graph necks only), parameters and forward FLOPs of neck ``name``."""
    neck = build_neck(name, in_channels, channels, levels)
    cost = neck_cost(neck, image_size)
    if isinstance(neck, FusionNeck):
        counts = neck.graph.counts()
        return NeckSummary(name, GRAPH, counts.connections, counts.blocks, cost.params, cost.flops)
    return NeckSummary(name, MODULE, None, None, cost.params, cost.flops)
