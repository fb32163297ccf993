"""Lasso pruning (Table 3): an L1 penalty on the connection weights, then a threshold."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from archsearch.strategies.base import (
    TARGET,
    Decision,
    HyperParameter,
    PruningStrategy,
    pruning_steps,
)
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.scoring import as_scores, keep_above


@register_strategy("lasso")
class Lasso(PruningStrategy):
    """L1 penalty ``lam · Σ|w|``, then pruning of weights under ``threshold``.

    At each pruning round, connections whose effective weight ``ReLU(w)`` is under the
    threshold are dropped; the last round caps the count at ``target`` when it is set.
    """

    hyperparameters = (
        HyperParameter("lam", 1e-2, "L1 coefficient", low=1e-4, high=1.0, log=True),
        HyperParameter("threshold", 0.1, "prune weights under this", low=0.01, high=0.5, log=True),
        HyperParameter("prune_start", 0.3, "first round, as a fraction of training", 0.1, 0.8),
        HyperParameter("rounds", 3, "pruning rounds", low=1, high=6),
        TARGET,
    )

    def setup(self, graph, total_steps: int) -> None:
        super().setup(graph, total_steps)
        self.schedule = pruning_steps(total_steps, self.prune_start, self.rounds)

    def penalty(self, neck, step: int) -> torch.Tensor:
        return self.lam * neck.weights().abs().sum()

    def decide(self, neck, step: int) -> Decision | None:
        if step not in self.schedule:
            return None
        cap = self.target if step == self.schedule[-1] else None
        scores = as_scores(neck.graph, F.relu(neck.weights.mean()))
        return Decision(keep_above(neck.graph, scores, self.threshold, cap))
