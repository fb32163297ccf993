"""Necks by name: the catalog, `archsearch necks` and `archsearch graph build`."""

import pytest

from archsearch.cli import main
from archsearch.errors import GraphError
from archsearch.graph import build_graph, load_json
from archsearch.neck import FusionNeck, build_neck, list_necks, neck_cost
from archsearch.neck.catalog import summarize
from archsearch.weights import DeterministicWeights
from baselines.pconv import PConv

ALL = ["bifpn", "dense", "fpn", "hrfpn", "nasfpn", "panet", "pconv"]


def test_every_baseline_is_available_by_name():
    assert set(ALL) <= set(list_necks())


def test_graph_necks_compile_and_module_necks_construct():
    bifpn = build_neck("bifpn", [8, 16, 32], 8)
    assert isinstance(bifpn, FusionNeck) and bifpn.graph == build_graph("bifpn")
    pconv = build_neck("pconv", [8, 16, 32], 8, levels=(2, 6))
    assert isinstance(pconv, PConv) and pconv.levels == [2, 3, 4, 5, 6]
    assert pconv.in_channels == [8, 16, 32]


def test_weights_go_to_graph_necks_only():
    graph = build_graph("fpn")
    weights = DeterministicWeights(graph.connection_ids)
    assert build_neck("fpn", [8, 16, 32], 8, weights=weights).weights is weights
    with pytest.raises(GraphError, match="'pconv' is a module"):
        build_neck("pconv", [8, 16, 32], 8, weights=weights)


def test_unknown_neck_lists_the_known_ones():
    with pytest.raises(GraphError, match="unknown neck 'nope'; known: bifpn, dense"):
        build_neck("nope", [8, 16, 32], 8)


def test_summary_counts_and_cost():
    row = summarize("bifpn", [8, 16, 32], 8, image_size=(64, 64))
    assert (row.kind, row.connections, row.blocks) == ("graph", 19, 8)
    assert row.params == neck_cost(build_neck("bifpn", [8, 16, 32], 8), (64, 64)).params
    module = summarize("pconv", [8, 16, 32], 8, image_size=(64, 64))
    assert (module.kind, module.connections, module.blocks) == ("module", None, None)
    assert module.flops > 0


def test_cli_lists_every_neck(capsys):
    assert main(["necks", "--in-channels", "8,16,32", "--channels", "8", "--size", "64"]) == 0
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split()[0]: line.split()[1:] for line in lines[2:]}
    assert sorted(rows) == sorted(list_necks())
    assert rows["bifpn"][:3] == ["graph", "19", "8"]
    assert rows["pconv"][:3] == ["module", "-", "-"]


def test_cli_builds_graph_baselines(tmp_path):
    path = tmp_path / "bifpn.json"
    assert main(["graph", "build", "bifpn", "--out", str(path)]) == 0
    assert load_json(path) == build_graph("bifpn")
    shifted = tmp_path / "nasfpn.json"
    assert main(["graph", "build", "nasfpn", "--out", str(shifted), "--levels", "2-6"]) == 0
    assert load_json(shifted).levels == (2, 6)
