"""Lasso pruning (Table 3): an L1 penalty on the connection weights, then a threshold."""

from __future__ import annotations

import torch

from archsearch.strategies.base import HyperParameter
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import ThresholdRounds


@register_strategy("lasso")
class Lasso(ThresholdRounds):
    """L1 penalty ``lam · Σ|w|``, then pruning of weights under ``threshold``.

    At each pruning round, connections whose criterion (the effective weight ``ReLU(w)``,
    or its share of the block) is under the threshold are dropped; the last round caps the
    count at ``target`` when it is set.
    """

    hyperparameters = (
        HyperParameter("lam", 1e-2, "L1 coefficient", low=1e-4, high=1.0, log=True, minimum=0.0),
    )

    def penalty(self, neck, step: int) -> torch.Tensor:
        return self.params["lam"] * neck.weights().abs().sum()
