"""`GaussianARD`: factorized Gaussian weights under the optimal ARD prior (sec. 3.3.1)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from archsearch.weights.variational import FactorizedGaussian, checked, resolve_ids

# Floor on log σ² inside the KL only (σ ≈ 1.4e-11): keeps exp(-log σ²) finite in float32 for
# |μ| up to ~1e8, and so the KL and its gradients finite. Sampling and variances use the raw
# value: they overflow only above log σ² ≈ 88, far outside any trained range.
KL_LOG_VAR_FLOOR = -50.0


class GaussianARD(FactorizedGaussian):
    """q(w) = Π_i N(μ_i, σ_i²) (eq. 8) against the prior N(0, σ̂_i²) with σ̂_i² = μ_i² + σ_i².

    The posterior is `FactorizedGaussian`'s (the paper's sec. 4.1.1 starts it at σ = 1). The
    prior's variance is not a parameter: eq. 10 solves for it in closed form, which turns the
    KL into eq. 11, a function of the signal-to-noise ratio μ²/σ² alone.
    """

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        log_var: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
    ) -> GaussianARD:
        """Weights with the given means and log-variances (copied; dtype and device kept)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids))
        shape = (len(weights),)
        weights.mu = nn.Parameter(checked("mu", mu, shape))
        weights.log_var = nn.Parameter(checked("log_var", log_var, shape))
        return weights

    def kl(self) -> torch.Tensor:
        """Eq. 11: ½ Σ_i log(1 + μ_i²/σ_i²), written as ½ Σ_i log1p(μ_i² · exp(-log σ_i²)).

        log1p keeps full relative precision when μ²/σ² is tiny (log σ² = 20, or μ = 0, where
        the KL and its gradients are exactly 0), unlike log(μ² + σ²) - log σ², which cancels
        catastrophically there; the only overflow risk, exp(-log σ²), is bounded by
        ``KL_LOG_VAR_FLOOR``.
        """
        inverse_var = torch.exp(-self.log_var.clamp(min=KL_LOG_VAR_FLOOR))
        return 0.5 * torch.log1p(self.mu.square() * inverse_var).sum()

    def select(self, connection_ids: Sequence[str]) -> GaussianARD:
        """The factorized marginal of ``connection_ids``: their own μ and log σ²."""
        index = self.indices(connection_ids).to(self.mu.device)
        return GaussianARD.from_params(
            self.mu.detach()[index], self.log_var.detach()[index], connection_ids
        )
