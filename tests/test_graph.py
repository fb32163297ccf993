"""FusionGraph: builders, validation errors, pruning, counts and serialization."""

import json

import networkx as nx
import pytest

from archsearch.errors import GraphError
from archsearch.graph import (
    FusionGraph,
    build_graph,
    dense,
    from_dict,
    from_spec,
    list_graphs,
    load_json,
    save_graphml,
    save_json,
    to_dict,
)
from archsearch.graph.fusion_graph import BLOCK


def test_dense_matches_the_papers_connection_count():
    g = dense()
    counts = g.counts()
    assert counts.connections == 63  # Table 3, "No Pruning"
    assert counts.blocks == 10
    assert counts.blocks_per_layer == {1: 5, 2: 5}
    assert len(set(g.connection_ids)) == 63


def test_dense_edges_follow_the_documented_rule():
    g = dense()
    levels = range(3, 8)
    for level in levels:
        td = set(g.inputs_of(f"P{level}_td"))
        assert {f"P{lv}_in" for lv in levels} <= td
        assert (f"P{level + 1}_td" in td) == (level < 7)
        bu = set(g.inputs_of(f"P{level}_bu"))
        assert {f"P{lv}_td" for lv in levels} <= bu
        assert f"P{level}_in" in bu
        assert (f"P{level - 1}_bu" in bu) == (level > 3)
        assert g.output_source(level) == f"P{level}_bu"


@pytest.mark.parametrize("levels, expected", [((3, 7), 63), ((2, 6), 63), ((3, 5), 25)])
def test_dense_count_formula_over_level_ranges(levels, expected):
    g = dense(levels=levels)
    n = levels[1] - levels[0] + 1
    assert g.counts().connections == 2 * n * n + 2 * (n - 1) + n == expected
    assert {g.node(b)["level"] for b in g.nodes(BLOCK)} == set(range(levels[0], levels[1] + 1))


def test_connection_order_is_block_by_block_and_contiguous():
    g = dense()
    targets = [c.target for c in g.connections()]
    seen = []
    for t in targets:
        if not seen or seen[-1] != t:
            assert t not in seen, f"inputs of {t} are not contiguous"
            seen.append(t)
    assert list(nx.topological_sort(g.nx.subgraph(seen))) is not None


def test_from_spec_builds_a_small_neck_with_default_outputs():
    spec = {
        "levels": [3, 5],
        "blocks": [
            {"name": "P4_td", "level": 4, "inputs": ["P4_in", "P5_in"]},
            {"name": "P3_out_b", "level": 3, "inputs": ["P3_in", "P4_td"], "op": "fast_normalized"},
        ],
    }
    g = from_spec(spec)
    assert g.output_source(3) == "P3_out_b"
    assert g.output_source(4) == "P4_td"
    assert g.output_source(5) == "P5_in"
    assert g.node("P3_out_b")["layer"] == 2
    assert g.counts().connections == 4


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"blocks": [{"name": "b", "level": 3}]}, "'b' of the spec has no 'inputs'"),
        ({"blocks": [{"name": "b", "level": 3, "inputs": ["P9_in"]}]}, "unknown input node"),
        ({"blocks": [{"name": "b", "level": 3, "inputs": "P3_in"}]}, "must be a list"),
        ({"blocks": [{"name": "b", "level": 3, "inputs": ["P3_in"], "kind": 1}]}, "unknown field"),
        ({"blocks": [{"name": "b", "level": 9, "inputs": ["P3_in"]}]}, "'b' is at level P9"),
        ({"blocks": [], "outputs": {3: "nowhere"}}, "unknown node 'nowhere'"),
    ],
)
def test_spec_errors_name_the_block_or_field(spec, message):
    with pytest.raises(GraphError, match=message):
        from_spec(spec)


def _graph_with_edge(source, target):
    g = dense(levels=(3, 4))
    g.nx.add_edge(source, target, id=f"{source}->{target}")
    return g


def test_validate_names_a_cycle():
    with pytest.raises(GraphError, match="cycle"):
        _graph_with_edge("P3_bu", "P3_td").validate()


def test_validate_names_an_unreachable_block():
    g = dense(levels=(3, 4))
    g.nx.add_node("orphan", kind="block", level=3, layer=1, op="fast_normalized")
    g.nx.add_edge("orphan", "P3_bu", id="orphan->P3_bu")
    with pytest.raises(GraphError, match="'orphan' is not reachable from any input"):
        g.validate()


def test_validate_names_a_block_reaching_no_output():
    g = dense(levels=(3, 4))
    g.add_block("dangling", 3, ["P3_in"])
    with pytest.raises(GraphError, match="'dangling' reaches no output"):
        g.validate()


def test_validate_names_an_unfed_output_and_a_missing_one():
    g = dense(levels=(3, 4))
    g.nx.remove_edge("P3_bu", "P3_out")
    with pytest.raises(GraphError, match="'P3_out' must have exactly one source"):
        g.validate()
    g = dense(levels=(3, 4))
    g.nx.remove_node("P4_out")
    with pytest.raises(GraphError, match="no output node 'P4_out'"):
        g.validate()


def test_validate_names_a_level_out_of_range_and_a_duplicate_id():
    g = dense(levels=(3, 4))
    g.nx.nodes["P3_td"]["level"] = 8
    with pytest.raises(GraphError, match="'P3_td' is at level P8"):
        g.validate()
    g = dense(levels=(3, 4))
    g.nx.edges["P3_in", "P3_td"]["id"] = "P4_in->P3_td"
    with pytest.raises(GraphError, match="'P4_in->P3_td' is missing or not unique"):
        g.validate()


def test_validate_names_an_input_with_incoming_edges():
    with pytest.raises(GraphError, match="input 'P3_in' has incoming edges"):
        _graph_with_edge("P4_in", "P3_in").validate()


def test_prune_removes_dead_blocks_transitively():
    g = dense(levels=(3, 4))
    # P4_td keeps its inputs but feeds nothing kept: it dies, and so does P3_td which only
    # feeds P4_td (the pathway edge) once P3_td -> P3_bu and P3_td -> P4_bu are gone.
    keep = {"P3_in->P3_bu", "P4_in->P4_bu", "P3_in->P4_td", "P4_in->P3_td", "P4_td->P3_td"}
    pruned = g.prune(keep)
    assert set(pruned.nodes(BLOCK)) == {"P3_bu", "P4_bu"}
    assert set(pruned.connection_ids) == {"P3_in->P3_bu", "P4_in->P4_bu"}
    pruned.validate()


def test_prune_refuses_to_leave_an_output_without_input():
    g = dense(levels=(3, 4))
    with pytest.raises(GraphError, match="output 'P4_out' without input"):
        g.prune({"P3_in->P3_bu"})


def test_prune_rejects_unknown_ids_and_keeps_the_original():
    g = dense()
    with pytest.raises(GraphError, match="unknown connection"):
        g.prune({"nope"})
    pruned = g.prune(set(g.connection_ids) - {"P3_in->P3_td"})
    assert g.counts().connections == 63 and pruned.counts().connections == 62


def test_json_round_trip_preserves_ids_and_attributes(tmp_path):
    g = dense(levels=(2, 6)).prune(
        set(dense(levels=(2, 6)).connection_ids[::2])
        | {f"P{lv}_in->P{lv}_bu" for lv in range(2, 7)}
    )
    path = save_json(g, tmp_path / "g.json")
    back = load_json(path)
    assert back == g
    assert back.connection_ids == g.connection_ids
    assert dict(back.nx.nodes(data=True)) == dict(g.nx.nodes(data=True))
    assert back.levels == (2, 6)


def test_load_json_errors_name_the_file(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(GraphError, match="bad.json: not JSON"):
        load_json(bad)
    data = to_dict(dense(levels=(3, 4)))
    data["nodes"] = [n for n in data["nodes"] if n["id"] != "P3_out"]
    data["edges"] = [e for e in data["edges"] if e["target"] != "P3_out"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(GraphError, match="broken.json: graph 'dense' has no output node 'P3_out'"):
        load_json(broken)
    with pytest.raises(GraphError, match="missing.json: no such file"):
        load_json(tmp_path / "missing.json")
    with pytest.raises(GraphError, match="unsupported graph format"):
        from_dict({"format": 99})


def test_graphml_export_is_readable_by_networkx(tmp_path):
    path = save_graphml(dense(), tmp_path / "g.graphml")
    g = nx.read_graphml(path)
    assert g.number_of_edges() == 63 + 5  # connections plus output taps
    assert g.graph["levels_low"] == 3


def test_registry_builds_dense_and_lists_names():
    assert "dense" in list_graphs()
    assert build_graph("dense", levels=(2, 6)).levels == (2, 6)
    with pytest.raises(GraphError, match="unknown graph 'nope'; known: .*dense"):
        build_graph("nope")


def test_an_empty_level_range_is_refused():
    with pytest.raises(GraphError, match="empty"):
        FusionGraph(levels=(5, 3))


def test_a_node_listed_twice_is_refused_not_merged():
    data = to_dict(dense())
    data["nodes"].append({**data["nodes"][-1], "level": 3})
    with pytest.raises(GraphError, match="g.json: node '.*' is listed more than once"):
        from_dict(data, source="g.json")
