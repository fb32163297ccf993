"""Lasso pruning (Table 3): an L1 penalty on the connection weights, then a threshold."""

from __future__ import annotations

import torch

from archsearch.strategies.base import TARGET, HyperParameter
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import ThresholdRounds


@register_strategy("lasso")
class Lasso(ThresholdRounds):
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

    def penalty(self, neck, step: int) -> torch.Tensor:
        return self.lam * neck.weights().abs().sum()
