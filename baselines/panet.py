"""PANet (Liu et al., 2018): FPN's top-down pathway plus a bottom-up path augmentation.

The bottom-up path starts from FPN's finest map unchanged (PANet's ``N2 = P2``) and, going
up, merges each level's top-down map with the map below, downsampled (here by the neck's
bilinear resize rather than PANet's stride-2 conv, as for every graph neck). Merges are
sums (`WeightedSum`), convs the paper's block. Over P3–P7: 5 + 4 = 9 blocks, 9 + 8 = 17
connections; the finest output taps its top-down block.
"""

from __future__ import annotations

from archsearch.graph import DEFAULT_LEVELS, FusionGraph, from_spec, register_graph
from baselines.fpn import top_down


def bottom_up(levels: tuple[int, int], op: str = "sum") -> list[dict]:
    """PANet's path augmentation: ``P{l}_bu = f(P{l}_td, below)`` for ``l = lo+1 … hi``, where
    ``below`` is ``P{lo}_td`` for the first block and ``P{l-1}_bu`` after it."""
    low, high = levels
    blocks = []
    below = f"P{low}_td"
    for level in range(low + 1, high + 1):
        name = f"P{level}_bu"
        blocks.append({"name": name, "level": level, "inputs": [f"P{level}_td", below], "op": op})
        below = name
    return blocks


def spec(levels: tuple[int, int] = DEFAULT_LEVELS) -> dict:
    """PANet over ``levels`` in the `from_spec` format."""
    return {"name": "panet", "levels": list(levels), "blocks": top_down(levels) + bottom_up(levels)}


@register_graph("panet")
def panet(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """PANet's two pathways over ``levels``."""
    return from_spec(spec(levels))
