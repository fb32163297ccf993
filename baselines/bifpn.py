"""BiFPN (Tan et al., 2020): EfficientDet's cell, one repeat, with fast normalized fusion.

The node list is EfficientDet's published one, generated for any level range exactly as the
reference implementations generate it (google/automl ``fpn_configs.bifpn_config``, mirrored
by effdet's ``bifpn_config``). Over P3–P7, with our node names::

    P6_td = f(P6_in, P7_in)        P4_bu = f(P4_in, P4_td, P3_td)
    P5_td = f(P5_in, P6_td)        P5_bu = f(P5_in, P5_td, P4_bu)
    P4_td = f(P4_in, P5_td)        P6_bu = f(P6_in, P6_td, P5_bu)
    P3_td = f(P3_in, P4_td)        P7_bu = f(P7_in, P6_bu)

8 blocks and 19 connections: the top level has no top-down node and the bottom level no
bottom-up one (BiFPN drops nodes of a single input), and every middle bottom-up node also
takes its level's input (the extra same-level edge). ``P3_td`` is EfficientDet's ``P3_out``;
``_out`` names the graph's output nodes here. Each node is ``fast_normalized`` (eq. 1).
"""

from __future__ import annotations

from archsearch.graph import DEFAULT_LEVELS, FusionGraph, from_spec, input_name, register_graph


def spec(levels: tuple[int, int] = DEFAULT_LEVELS) -> dict:
    """BiFPN over ``levels`` (at least two) in the `from_spec` format."""
    low, high = levels
    blocks = []
    above = input_name(high)
    for level in range(high - 1, low - 1, -1):
        name = f"P{level}_td"
        blocks.append({"name": name, "level": level, "inputs": [input_name(level), above]})
        above = name
    below = f"P{low}_td"
    for level in range(low + 1, high + 1):
        same_level = [f"P{level}_td"] if level < high else []
        inputs = [input_name(level), *same_level, below]
        below = f"P{level}_bu"
        blocks.append({"name": below, "level": level, "inputs": inputs})
    return {"name": "bifpn", "levels": list(levels), "blocks": blocks}


@register_graph("bifpn")
def bifpn(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """One BiFPN cell over ``levels``."""
    return from_spec(spec(levels))
