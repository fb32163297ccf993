"""The context analysis: how coarse a level the finest output's paths pass through."""

from archsearch.graph import build_graph
from archsearch.graph.builders import from_spec
from experiments.analysis.finest_reach import finest_reach


def _graph(blocks):
    return from_spec({"levels": [3, 5], "blocks": blocks})


def test_a_finest_level_fed_by_its_own_input_reaches_no_further():
    graph = _graph([{"name": "P4_td", "level": 4, "inputs": ["P4_in", "P5_in"]}])
    assert finest_reach(graph) == 3


def test_a_coarser_input_or_a_block_at_a_coarser_level_counts():
    direct = _graph([{"name": "P3_td", "level": 3, "inputs": ["P3_in", "P5_in"]}])
    assert finest_reach(direct) == 5
    # the finest input itself, resampled to P4 and back: the block at P4 sees further
    detour = _graph(
        [
            {"name": "P4_td", "level": 4, "inputs": ["P3_in"]},
            {"name": "P3_td", "level": 3, "inputs": ["P4_td"]},
        ]
    )
    assert finest_reach(detour) == 4


def test_the_dense_graph_reaches_its_top_level():
    graph = build_graph("dense", levels=(2, 6))
    assert finest_reach(graph) == 6
