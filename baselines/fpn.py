"""FPN (Lin et al., 2017): one top-down pathway, written as a fusion-graph spec.

The coarsest level's lateral gets FPN's 3×3 output conv alone (a block of one input); every
finer level merges its lateral with the upsampled map above and convolves the sum. FPN adds
its inputs plainly, so the blocks use the ``sum`` op (`archsearch.neck.ops.WeightedSum`),
with the paper's block as the conv. Over P3–P7: 5 blocks, 9 connections.
"""

from __future__ import annotations

from archsearch.graph import DEFAULT_LEVELS, FusionGraph, from_spec, input_name, register_graph


def top_down(levels: tuple[int, int], op: str = "sum") -> list[dict]:
    """FPN's pathway as spec blocks: ``P{hi}_td = f(P{hi}_in)``, then for ``l = hi-1 … lo``
    ``P{l}_td = f(P{l}_in, P{l+1}_td)``. PANet reuses it as its first column."""
    low, high = levels
    blocks = [{"name": f"P{high}_td", "level": high, "inputs": [input_name(high)], "op": op}]
    for level in range(high - 1, low - 1, -1):
        inputs = [input_name(level), f"P{level + 1}_td"]
        blocks.append({"name": f"P{level}_td", "level": level, "inputs": inputs, "op": op})
    return blocks


def spec(levels: tuple[int, int] = DEFAULT_LEVELS) -> dict:
    """FPN over ``levels`` in the `from_spec` format; outputs tap the top-down blocks."""
    return {"name": "fpn", "levels": list(levels), "blocks": top_down(levels)}


@register_graph("fpn")
def fpn(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """FPN's top-down pathway over ``levels``."""
    return from_spec(spec(levels))
