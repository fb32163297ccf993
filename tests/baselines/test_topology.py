"""Baseline graphs: published topologies, documented counts, any level range."""

import pytest

from archsearch.errors import GraphError
from archsearch.graph import build_graph

# name: (connections, blocks) over P3–P7, as each module's docstring documents.
COUNTS = {
    "fpn": (9, 5),
    "panet": (17, 9),
    "bifpn": (19, 8),
    "nasfpn": (16, 7),
    "hrfpn": (10, 6),
    "dense": (63, 10),
}

# EfficientDet's P3–P7 cell (Tan et al., 2020, Figure 2d; google/automl `bifpn_config`),
# written out by hand: node -> (level, inputs). P3_td is EfficientDet's P3_out.
BIFPN_P3_P7 = {
    "P6_td": (6, {"P6_in", "P7_in"}),
    "P5_td": (5, {"P5_in", "P6_td"}),
    "P4_td": (4, {"P4_in", "P5_td"}),
    "P3_td": (3, {"P3_in", "P4_td"}),
    "P4_bu": (4, {"P4_in", "P4_td", "P3_td"}),
    "P5_bu": (5, {"P5_in", "P5_td", "P4_bu"}),
    "P6_bu": (6, {"P6_in", "P6_td", "P5_bu"}),
    "P7_bu": (7, {"P7_in", "P6_bu"}),
}


def _blocks(graph):
    return {
        block: (graph.node(block)["level"], set(graph.inputs_of(block)))
        for block in graph.nodes("block")
    }


def test_bifpn_is_efficientdets_cell():
    graph = build_graph("bifpn")
    assert _blocks(graph) == BIFPN_P3_P7
    outputs = [graph.output_source(level) for level in range(3, 8)]
    assert outputs == ["P3_td", "P4_bu", "P5_bu", "P6_bu", "P7_bu"]
    assert {graph.node(block)["op"] for block in graph.nodes("block")} == {"fast_normalized"}


def test_bifpn_matches_effdets_own_config():
    """The same cell as the `effdet` package generates it, when that extra is installed."""
    fpn_config = pytest.importorskip("effdet.config").get_fpn_config("bifpn_fa", 3, 7)
    names = [f"P{level}_in" for level in range(3, 8)]
    graph = build_graph("bifpn")
    for node, block in zip(fpn_config.nodes, graph.nodes("block"), strict=True):
        inputs = {names[offset] for offset in node["inputs_offsets"]}
        assert set(graph.inputs_of(block)) == inputs
        assert graph.node(block)["level"] == node["feat_level"]
        names.append(block)


def test_nasfpn_gp_blocks_take_attention_from_the_coarser_map():
    """`GlobalPoolFusion` gates the second-last input by the last: that must be the coarser
    of the pair, as in the authors' code, and the plain extra input must be the block's own
    level."""
    graph = build_graph("nasfpn")
    gp_blocks = [b for b in graph.nodes("block") if graph.node(b)["op"] == "global_pool"]
    assert gp_blocks == ["P4_1", "P5_cell", "P7_cell", "P6_cell"]
    for block in gp_blocks:
        *plain, gated, attention = graph.inputs_of(block)
        assert graph.node(attention)["level"] > graph.node(gated)["level"], block
        assert plain in ([], [f"P{graph.node(block)['level']}_in"]), block
    assert [graph.inputs_of(b) for b in ("P5_cell", "P7_cell")] == [
        ["P5_in", "P3_cell", "P4_cell"],
        ["P7_in", "P4_2", "P5_cell"],
    ]


def test_nasfpn_cell_spans_five_levels():
    assert build_graph("nasfpn", (2, 6)).output_source(2) == "P2_cell"
    with pytest.raises(GraphError, match="spans 5 levels"):
        build_graph("nasfpn", (3, 6))


def test_hrfpn_concatenates_every_input_at_the_finest_level():
    graph = build_graph("hrfpn")
    assert graph.inputs_of("P3_cat") == [f"P{level}_in" for level in range(3, 8)]
    for level in range(3, 8):
        assert graph.inputs_of(f"P{level}_hr") == ["P3_cat"]
        assert graph.output_source(level) == f"P{level}_hr"


def test_panet_bottom_up_starts_from_the_finest_top_down_map():
    graph = build_graph("panet")
    assert graph.output_source(3) == "P3_td"
    assert set(graph.inputs_of("P4_bu")) == {"P4_td", "P3_td"}
    assert set(graph.inputs_of("P7_bu")) == {"P7_td", "P6_bu"}
    assert graph.inputs_of("P7_td") == ["P7_in"]


@pytest.mark.parametrize("name", sorted(COUNTS))
@pytest.mark.parametrize("levels", [(3, 7), (2, 6)])
def test_counts_at_every_level_range(name, levels):
    graph = build_graph(name, levels).validate()
    counts = graph.counts()
    assert (counts.connections, counts.blocks) == COUNTS[name]
    assert graph.levels == levels
