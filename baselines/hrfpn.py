"""HRFPN, the neck of HRNet for detection (Sun et al., 2019), as a fusion graph.

HRFPN upsamples every level to the finest one, concatenates them, reduces the channels with
a 1×1 conv, pools the result back to every level and convolves each. Here that is one
``concat`` block at the finest level fed by every input (the neck's bilinear resize does the
upsampling; `archsearch.neck.ops.ConcatFusion` the concatenation, the 1×1 conv and a block),
then one single-input block per level fed by it, the neck's resize doing the pooling.

Two departures, both from compiling it as a graph: the shared map gets the paper's block
after the 1×1 conv (every block ends in one), and the pooling is bilinear resizing, which
equals 2×2 average pooling for one octave on even sizes but subsamples for more. Over P3–P7:
6 blocks, 5 + 5 = 10 connections.
"""

from __future__ import annotations

from archsearch.graph import DEFAULT_LEVELS, FusionGraph, from_spec, input_name, register_graph


def spec(levels: tuple[int, int] = DEFAULT_LEVELS) -> dict:
    """HRFPN over ``levels`` in the `from_spec` format."""
    low, high = levels
    shared = f"P{low}_cat"
    blocks = [
        {
            "name": shared,
            "level": low,
            "op": "concat",
            "inputs": [input_name(level) for level in range(low, high + 1)],
        }
    ]
    blocks += [
        {"name": f"P{level}_hr", "level": level, "op": "sum", "inputs": [shared]}
        for level in range(low, high + 1)
    ]
    return {"name": "hrfpn", "levels": [low, high], "blocks": blocks}


@register_graph("hrfpn")
def hrfpn(levels: tuple[int, int] = DEFAULT_LEVELS) -> FusionGraph:
    """HRFPN over ``levels``."""
    return from_spec(spec(levels))
