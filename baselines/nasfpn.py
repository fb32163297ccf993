"""NAS-FPN (Ghiasi et al., 2019): the published P3–P7 cell, one repeat.

The cell is the final searched architecture of the paper's Figure 7, as released by the
authors (tensorflow/models ``official/vision/modeling/decoders/nasfpn.py``,
``NASFPN_BLOCK_SPECS``) and re-implemented by mmdetection (``mmdet/models/necks/nas_fpn.py``).
With ``gp(a, b)`` the global-pooling merge whose attention comes from the coarser map ``b``::

    P4_1    = gp(P4_in, P6_in)                    (intermediate)
    P4_2    = sum(P4_1, P4_in)                    (intermediate)
    P3_cell = sum(P4_2, P3_in)                    -> P3
    P4_cell = sum(P3_cell, P4_2)                  -> P4
    P5_cell = sum(P5_in, gp(P3_cell, P4_cell))    -> P5
    P7_cell = sum(P7_in, gp(P4_2, P5_cell))       -> P7
    P6_cell = gp(P5_cell, P7_cell)                -> P6

An output cell adds its level's input when nothing else used it (P5, P7): the reference
sums it in before the conv, so ``sum(P_in, gp(a, b))`` is one block of three connections,
`archsearch.neck.ops.GlobalPoolFusion`, which takes the *last* input in the graph's input
order as the attention source. That order (layer, then level) puts the coarser map last in
every gp block of this cell; the tests check it. 7 blocks, 16 connections.

The cell is defined over five consecutive levels; ``levels`` may shift it (P2–P6), not
stretch it. The paper's block replaces NAS-FPN's ReLU-conv-BN, and the neck's bilinear
resize its max-pool and nearest upsampling.
"""

from __future__ import annotations

from archsearch.errors import GraphError
from archsearch.graph import DEFAULT_LEVELS, FusionGraph, from_spec, input_name, register_graph

NUM_LEVELS = 5


def spec(levels: tuple[int, int] = DEFAULT_LEVELS) -> dict:
    """The NAS-FPN cell over five consecutive ``levels`` in the `from_spec` format."""
    low, high = levels
    if high - low + 1 != NUM_LEVELS:
        raise GraphError(f"NAS-FPN's cell spans {NUM_LEVELS} levels, not P{low}–P{high}")
    p3, p4, p5, p6, p7 = range(low, high + 1)

    def block(name: str, level: int, op: str, *inputs: str) -> dict:
        return {"name": name, "level": level, "op": op, "inputs": list(inputs)}

    blocks = [
        block(f"P{p4}_1", p4, "global_pool", input_name(p4), input_name(p6)),
        block(f"P{p4}_2", p4, "sum", f"P{p4}_1", input_name(p4)),
        block(f"P{p3}_cell", p3, "sum", f"P{p4}_2", input_name(p3)),
        block(f"P{p4}_cell", p4, "sum", f"P{p3}_cell", f"P{p4}_2"),
        block(f"P{p5}_cell", p5, "global_pool", input_name(p5), f"P{p3}_cell", f"P{p4}_cell"),
        block(f"P{p7}_cell", p7, "global_pool", input_name(p7), f"P{p4}_2", f"P{p5}_cell"),
        block(f"P{p6}_cell", p6, "global_pool", f"P{p5}_cell", f"P{p7}_cell"),
    ]
    return {"name": "nasfpn", "levels": [low, high], "blocks": blocks}


@register_graph("nasfpn")
def nasfpn(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """One NAS-FPN cell over five consecutive ``levels``."""
    return from_spec(spec(levels))
