"""Bases of the strategies that prune in rounds: one setup and one decision rule each.

`ThresholdRounds` (Lasso and the variational priors) drops the connections whose mean
weight is under ``threshold`` at each round, capping the count at ``target`` at the last.
`RoundsToTarget` (Taylor, lottery ticket) keeps geometrically fewer connections at each
round, down to ``target``. A subclass declares the hyper-parameters the base reads
(``prune_start``, ``rounds``, ``target``, and ``threshold`` for `ThresholdRounds`).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch.nn.functional as F

from archsearch.graph import FusionGraph, select_top
from archsearch.strategies.base import Decision, PruningStrategy, pruning_steps, round_counts
from archsearch.strategies.scoring import as_scores, keep_above


class ThresholdRounds(PruningStrategy):
    """Rounds from ``prune_start`` that keep the connections whose ``ReLU(mean)`` reaches
    ``threshold``; the last round also caps the count at ``target`` when it is set."""

    def setup(self, graph: FusionGraph, total_steps: int) -> None:
        super().setup(graph, total_steps)
        self.schedule = pruning_steps(total_steps, self.prune_start, self.rounds)

    def decide(self, neck, step: int) -> Decision | None:
        if step not in self.schedule:
            return None
        cap = self.target if step == self.schedule[-1] else None
        scores = as_scores(neck.graph, F.relu(neck.weights.mean()))
        return Decision(keep_above(neck.graph, scores, self.threshold, cap))


class RoundsToTarget(PruningStrategy):
    """Rounds from ``prune_start`` whose kept counts fall geometrically to ``target``:
    ``counts`` maps each round's step to the connections it keeps."""

    def setup(self, graph: FusionGraph, total_steps: int) -> None:
        super().setup(graph, total_steps)
        self.schedule = pruning_steps(total_steps, self.prune_start, self.rounds)
        counts = round_counts(len(graph.connection_ids), self.target, len(self.schedule))
        self.counts = dict(zip(self.schedule, counts, strict=True))

    def keep(self, neck, scores: Mapping[str, float], step: int) -> frozenset[str]:
        """The best neck of this round's count that still holds one of ``target``."""
        return frozenset(select_top(neck.graph, scores, self.counts[step], then=self.target))
