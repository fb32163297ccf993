"""Variational pruning (sec. 3.2–3.3, 4.1.3): connection weights as random variables.

The neck draws its weights from q(w) (`GaussianARD`, `FullARD` or `Laplace`); the loss gains
the KL term, annealed by a small factor with a linear warm-up (to avoid over-regularizing,
sec. 4.1.3); at each pruning round, connections whose posterior mean falls under
``threshold`` are dropped, and blocks left without inputs with them. ``target``, when set,
caps the count at the last round (the paper's 9 connections).
"""

from __future__ import annotations

from typing import ClassVar

import torch

from archsearch.strategies.base import TARGET, HyperParameter
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import ThresholdRounds
from archsearch.weights import FullARD, GaussianARD, Laplace
from archsearch.weights.variational import VariationalWeights


class VariationalPruning(ThresholdRounds):
    """Base of the variational strategies; a subclass names its `distribution`."""

    distribution: ClassVar[type[VariationalWeights]]
    hyperparameters = (
        HyperParameter("kl_factor", 1e-3, "KL annealing factor", low=1e-5, high=0.1, log=True),
        HyperParameter("kl_warmup", 0.2, "linear KL warm-up, fraction of training", 0.0, 0.5),
        HyperParameter("threshold", 0.1, "prune posterior means under this", 0.01, 0.5, True),
        HyperParameter("prune_start", 0.3, "first round, as a fraction of training", 0.1, 0.8),
        HyperParameter("rounds", 4, "pruning rounds", low=1, high=8),
        TARGET,
    )

    def make_weights(self, connection_ids) -> VariationalWeights:
        return self.distribution(connection_ids)

    def annealing(self, step: int) -> float:
        """``kl_factor`` times a linear ramp from 0 to 1 over the warm-up."""
        warmup = self.kl_warmup * self.total_steps
        return self.kl_factor * (min(1.0, step / warmup) if warmup > 0 else 1.0)

    def penalty(self, neck, step: int) -> torch.Tensor:
        return self.annealing(step) * neck.weights.kl()


@register_strategy("ard")
class ARD(VariationalPruning):
    """Factorized Gaussian posterior, optimal ARD prior (eq. 7–11)."""

    distribution = GaussianARD


@register_strategy("fullard")
class FullARDPruning(VariationalPruning):
    """Correlated Gaussian posterior, optimal full-covariance prior (eq. 12–17)."""

    distribution = FullARD


@register_strategy("laplace")
class LaplacePruning(VariationalPruning):
    """Factorized Laplace posterior, Laplace(0, 1) prior (appendix A, eq. 19–22)."""

    distribution = Laplace
