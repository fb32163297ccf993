"""`StudentT`: Gaussian weights under a Student-t prior, by its Normal–Gamma scale mixture.

The paper's future work (sec. 6) names heavy-tailed priors. A Student-t prior with ν degrees
of freedom is the scale mixture w | τ ~ N(0, 1/τ), τ ~ Gamma(ν/2, ν/2): its mass near zero
pulls weights the data does not need toward it, its heavy tails leave large ones alone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.distributions import Gamma, kl_divergence

from archsearch.errors import ConfigError
from archsearch.weights.variational import FactorizedGaussian, checked, resolve_ids

# Bound on the log-parameters inside the KL only (as `GaussianARD`'s floor): exp(±40) and
# its reciprocal are finite in float32, so the KL and its gradients stay finite.
KL_LOG_LIMIT = 40.0


class StudentT(FactorizedGaussian):
    """q(w, τ) = Π_i N(w_i; μ_i, σ_i²) Gamma(τ_i; α_i, β_i) against p(w | τ) p(τ), with
    p(w_i | τ_i) = N(0, 1/τ_i) and p(τ_i) = Gamma(ν/2, ν/2) (rate parameterization).

    The factorized posterior keeps a Gamma for the precision τ because it is the prior's
    conjugate family: the optimal q(τ_i) given q(w_i) is Gamma((ν + 1)/2, ν/2 + (μ_i² + σ_i²)/2),
    which is where each τ_i starts. The neck draws only w; τ enters the bound through the KL,
    which is closed-form (ψ is the digamma function):

        KL = Σ_i [ ½(α_i/β_i)(μ_i² + σ_i²) - ½(ψ(α_i) - log β_i) - ½ log σ_i² - ½ ]
             + KL(Gamma(α_i, β_i) ‖ Gamma(ν/2, ν/2))

    (the first line is E_q[log q(w)] - E_q[log p(w | τ)]; the Gamma KL is torch's). Parameters:
    q(w)'s (`FactorizedGaussian`), ``log_shape`` = log α and ``log_rate`` = log β. ``dof`` is
    the prior's ν, a constant.
    """

    def __init__(
        self, connection_ids: Sequence[str], initial_scale: float = 1.0, dof: float = 1.0
    ) -> None:
        if not (isinstance(dof, int | float) and math.isfinite(dof) and dof > 0):
            raise ConfigError(f"dof: {dof!r} is not a positive number of degrees of freedom")
        super().__init__(connection_ids, initial_scale)
        count = len(self.connection_ids)
        self.dof = float(dof)
        second_moment = 1.0 + initial_scale**2
        self.log_shape = nn.Parameter(torch.full((count,), math.log((dof + 1) / 2)))
        self.log_rate = nn.Parameter(torch.full((count,), math.log((dof + second_moment) / 2)))

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        log_var: torch.Tensor,
        log_shape: torch.Tensor,
        log_rate: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
        dof: float = 1.0,
    ) -> StudentT:
        """Weights with the given parameters (copied; dtype and device kept)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids), dof=dof)
        shape = (len(weights),)
        weights.mu = nn.Parameter(checked("mu", mu, shape))
        weights.log_var = nn.Parameter(checked("log_var", log_var, shape))
        weights.log_shape = nn.Parameter(checked("log_shape", log_shape, shape))
        weights.log_rate = nn.Parameter(checked("log_rate", log_rate, shape))
        return weights

    def kl(self) -> torch.Tensor:
        log_var = self.log_var.clamp(-KL_LOG_LIMIT, KL_LOG_LIMIT)
        log_shape = self.log_shape.clamp(-KL_LOG_LIMIT, KL_LOG_LIMIT)
        log_rate = self.log_rate.clamp(-KL_LOG_LIMIT, KL_LOG_LIMIT)
        shape, rate = log_shape.exp(), log_rate.exp()
        second_moment = self.mu.square() + log_var.exp()
        expected_log_precision = torch.digamma(shape) - log_rate
        gaussian = 0.5 * (
            torch.exp(log_shape - log_rate) * second_moment - expected_log_precision - log_var - 1.0
        )
        half_dof = torch.full_like(shape, self.dof / 2)
        precision = kl_divergence(Gamma(shape, rate), Gamma(half_dof, half_dof))
        return (gaussian + precision).sum()

    def select(self, connection_ids: Sequence[str]) -> StudentT:
        """The factorized marginal of ``connection_ids``: their own four parameters."""
        index = self.indices(connection_ids).to(self.mu.device)
        parts = (self.mu, self.log_var, self.log_shape, self.log_rate)
        return StudentT.from_params(
            *(part.detach()[index] for part in parts), connection_ids, dof=self.dof
        )
