"""select_top: the keep-set every strategy with a target count goes through."""

import random

import pytest

from archsearch.errors import GraphError
from archsearch.graph import dense, select_top


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("count", [9, 16, 40])
def test_select_top_reaches_the_count_with_a_valid_graph(seed, count):
    g = dense()
    rng = random.Random(seed)
    scores = {c: rng.random() for c in g.connection_ids}
    keep = select_top(g, scores, count)
    pruned = g.prune(keep).validate()
    assert set(pruned.connection_ids) == keep
    assert len(keep) == count


@pytest.mark.parametrize("seed", range(6))
def test_select_top_near_the_minimum_stays_valid_and_never_goes_below(seed):
    g = dense()
    rng = random.Random(seed)
    keep = select_top(g, {c: rng.random() for c in g.connection_ids}, 5)
    assert 5 <= len(keep) == len(g.prune(keep).validate().connection_ids)


def test_select_top_keeps_the_highest_scores_when_they_form_a_valid_neck():
    g = dense()
    skips = {f"P{lv}_in->P{lv}_bu" for lv in range(3, 8)}
    extra = {"P3_in->P3_td", "P3_td->P3_bu", "P4_in->P4_td", "P4_td->P4_bu"}
    scores = {c: (2.0 if c in skips | extra else 0.0) for c in g.connection_ids}
    assert select_top(g, scores, 9) == skips | extra


def test_select_top_is_deterministic_on_ties_and_reports_missing_scores():
    g = dense()
    scores = dict.fromkeys(g.connection_ids, 1.0)
    assert select_top(g, scores, 9) == select_top(g, scores, 9)
    with pytest.raises(GraphError, match="no score for connection"):
        select_top(g, {}, 9)
