"""Turning per-connection scores into a keep-set: shared by every built-in strategy."""

from __future__ import annotations

from collections.abc import Mapping

import torch

from archsearch.graph import FusionGraph, select_top


def as_scores(graph: FusionGraph, values: torch.Tensor) -> dict[str, float]:
    """``{connection id: value}`` for a vector indexed like ``graph.connection_ids``."""
    return dict(zip(graph.connection_ids, values.detach().cpu().tolist(), strict=True))


def keep_above(
    graph: FusionGraph, scores: Mapping[str, float], threshold: float, cap: int | None = None
) -> frozenset[str]:
    """The connections scoring at least ``threshold``, at most ``cap``, as a valid neck.

    When the connections above the threshold do not feed every output by themselves, the
    best-scored ones that do are kept instead (`select_top`), so pruning never breaks a neck.
    """
    count = sum(score >= threshold for score in scores.values())
    if cap is not None:
        count = min(count, cap)
    return frozenset(select_top(graph, scores, count))
