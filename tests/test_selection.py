"""select_top: the keep-set every strategy with a target count goes through.

The reference is brute force: every subset of connections that `FusionGraph.prune` keeps
intact (`valid_necks`), enumerated on graphs small enough to enumerate.
"""

import random

import pytest

from archsearch.errors import GraphError
from archsearch.graph import build_graph, dense, select_top
from experiments.analysis.selection import valid_necks


def best_total(levels, count, scores) -> float:
    return max(sum(scores[c] for c in neck) for neck in valid_necks(levels, count))


@pytest.mark.parametrize(
    ("levels", "counts"),
    [((3, 4), range(2, 13)), ((3, 5), (3, 4, 22, 23))],
    ids=["P3-P4-every-count", "P3-P5-near-the-ends"],
)
def test_select_top_finds_the_best_valid_neck_found_by_brute_force(levels, counts):
    graph = build_graph("dense", levels)
    rng = random.Random(7)
    for count in counts:
        assert valid_necks(levels, count), f"no valid neck of {count} connections to compare"
        for _ in range(8):
            scores = {c: rng.random() for c in graph.connection_ids}
            keep = select_top(graph, scores, count)
            assert frozenset(keep) in valid_necks(levels, count)
            assert sum(scores[c] for c in keep) == pytest.approx(best_total(levels, count, scores))


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("count", [5, 9, 16, 40])
def test_select_top_reaches_the_count_with_a_valid_graph(seed, count):
    g = dense()
    rng = random.Random(seed)
    scores = {c: rng.random() for c in g.connection_ids}
    keep = select_top(g, scores, count)
    assert set(g.prune(keep).validate().connection_ids) == keep
    assert len(keep) == count


def test_select_top_below_the_smallest_neck_returns_the_smallest():
    g = dense()  # one skip per level is the smallest neck: 5 connections
    rng = random.Random(0)
    keep = select_top(g, {c: rng.random() for c in g.connection_ids}, 2)
    assert len(keep) == 5 == len(g.prune(keep).validate().connection_ids)


def test_select_top_keeps_the_top_connection_that_greedy_removal_dropped():
    """The ARD case that made greedy removal wrong: the best-scored skip must survive."""
    g = build_graph("dense", (2, 6))
    rng = random.Random(55)  # a draw where weakest-first removal loses P2_in->P2_bu
    scores = {c: rng.uniform(0.9, 1.1) for c in g.connection_ids}
    scores["P2_in->P2_bu"] = 1.79
    assert "P2_in->P2_bu" in select_top(g, scores, 9)


def test_select_top_keeps_the_highest_scores_when_they_form_a_valid_neck():
    g = dense()
    skips = {f"P{lv}_in->P{lv}_bu" for lv in range(3, 8)}
    extra = {"P3_in->P3_td", "P3_td->P3_bu", "P4_in->P4_td", "P4_td->P4_bu"}
    scores = {c: (2.0 if c in skips | extra else 0.0) for c in g.connection_ids}
    assert select_top(g, scores, 9) == skips | extra


def test_select_top_is_invariant_to_scale_and_shift_of_the_scores():
    g = dense()
    rng = random.Random(5)
    scores = {c: rng.random() for c in g.connection_ids}
    tiny = {c: 1e-12 * s - 3.0 for c, s in scores.items()}
    assert select_top(g, scores, 9) == select_top(g, tiny, 9)


def test_select_top_is_deterministic_on_ties_and_reports_bad_scores():
    g = dense()
    scores = dict.fromkeys(g.connection_ids, 1.0)
    assert select_top(g, scores, 9) == select_top(g, scores, 9)
    assert len(select_top(g, scores, 9)) == 9
    assert select_top(g, scores, 99) == set(g.connection_ids)
    with pytest.raises(GraphError, match="no score for connection"):
        select_top(g, {}, 9)
    with pytest.raises(GraphError, match="P3_in->P3_bu.*nan"):
        select_top(g, {**scores, "P3_in->P3_bu": float("nan")}, 9)
    with pytest.raises(GraphError, match="negative"):
        select_top(g, scores, -1)


@pytest.mark.parametrize(("count", "then"), [(6, 3), (8, 4), (5, 5)])
def test_an_earlier_round_keeps_the_best_neck_that_still_holds_one_of_the_final_size(count, then):
    levels = (3, 4)
    graph = build_graph("dense", levels)
    rng = random.Random(count)
    for _ in range(8):
        scores = {c: rng.random() for c in graph.connection_ids}
        keep = select_top(graph, scores, count, then=then)
        assert frozenset(keep) in valid_necks(levels, count)
        assert any(inner <= keep for inner in valid_necks(levels, then))
        best = max(
            sum(scores[c] for c in neck)
            for neck in valid_necks(levels, count)
            if any(inner <= neck for inner in valid_necks(levels, then))
        )
        assert sum(scores[c] for c in keep) == pytest.approx(best)
        assert len(select_top(graph.prune(keep), scores, then)) == then


def test_without_then_a_round_can_strand_the_final_target():
    graph = build_graph("dense", (3, 4))
    rng = random.Random(37)  # a draw where the best 6-connection neck holds no 3-connection one
    scores = {c: rng.random() for c in graph.connection_ids}
    stranded = graph.prune(select_top(graph, scores, 6))
    assert len(select_top(stranded, scores, 3)) > 3
    reachable = graph.prune(select_top(graph, scores, 6, then=3))
    assert len(select_top(reachable, scores, 3)) == 3
