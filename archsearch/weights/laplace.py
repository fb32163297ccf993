"""`Laplace`: factorized Laplace weights under a Laplace(0, 1) prior (appendix A, eq. 19–22)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from archsearch.errors import ConfigError
from archsearch.weights.variational import VariationalWeights, checked, resolve_ids

# Bound on log β inside the KL only: exp(±40) is finite in float32, so |μ|/β and β stay finite
# and the KL and its gradients too (at μ = 0 and log β → -∞, |μ|/β would be 0·∞). Sampling
# and variances use the raw value.
KL_LOG_SCALE_LIMIT = 40.0


class Laplace(VariationalWeights):
    """q(w) = Π_i Laplace(μ_i, β_i) (eq. 20) against the prior Π_i Laplace(0, 1) (eq. 19).

    Parameters are ``mu`` (initialised to 1, as the Gaussian means) and ``log_scale`` = log β
    (initialised to log ``initial_scale``; the paper's β = 1): the log keeps β positive
    without constraints, as the Gaussian families' log-variances do. The prior is fixed, not
    optimized.
    """

    def __init__(self, connection_ids: Sequence[str], initial_scale: float = 1.0) -> None:
        super().__init__(connection_ids)
        count = len(self.connection_ids)
        self.mu = nn.Parameter(torch.ones(count))
        self.log_scale = nn.Parameter(torch.full((count,), math.log(initial_scale)))

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        scale: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
    ) -> Laplace:
        """Weights with locations ``mu`` and positive scales β = ``scale`` (copied)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids))
        shape = (len(weights),)
        scale = checked("scale", scale, shape)
        if not bool((scale > 0).all()):
            raise ConfigError(f"scale: {scale.min().item():g} is not a positive scale")
        weights.mu = nn.Parameter(checked("mu", mu, shape))
        weights.log_scale = nn.Parameter(scale.log())
        return weights

    def scale(self) -> torch.Tensor:
        """β = exp(``log_scale``)."""
        return torch.exp(self.log_scale)

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """Eq. 21: w = μ - β sign(ε) log(1 - 2|ε| + α), ε ~ U(-½, ½): ``[C]`` or ``[n, C]``.

        This is the inverse CDF of Laplace(μ, β). α = ``torch.finfo(dtype).tiny`` (1.2e-38 in
        float32): it only changes the draw at ε = -½ exactly (``torch.rand`` returning 0),
        where the log would be -∞, to μ - 87β; everywhere else 1 - 2|ε| is far larger and
        absorbs it, so unlike a larger α it biases no other draw.
        """
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        eps = torch.rand(shape, dtype=self.mu.dtype, device=self.mu.device) - 0.5
        alpha = torch.finfo(self.mu.dtype).tiny
        return self.mu - self.scale() * eps.sign() * torch.log(1 - 2 * eps.abs() + alpha)

    def mean(self) -> torch.Tensor:
        return self.mu

    def variance(self) -> torch.Tensor:
        """2β², the variance of Laplace(μ, β)."""
        return 2 * self.scale().square()

    def kl(self) -> torch.Tensor:
        """Eq. 22 summed over connections: Σ_i -log β_i + |μ_i| + β_i exp(-|μ_i|/β_i) - 1.

        β exp(-|μ|/β) is evaluated as exp(log β - |μ| exp(-log β)), one exp of a finite
        argument, with log β bounded by ``KL_LOG_SCALE_LIMIT``. |μ| has a kink at 0, where
        autograd uses the subgradient 0.
        """
        log_scale = self.log_scale.clamp(-KL_LOG_SCALE_LIMIT, KL_LOG_SCALE_LIMIT)
        distance = self.mu.abs()
        tail = torch.exp(log_scale - distance * torch.exp(-log_scale))
        return (distance - log_scale + tail - 1).sum()

    def select(self, connection_ids: Sequence[str]) -> Laplace:
        """The factorized marginal of ``connection_ids``: their own μ and β."""
        index = self.indices(connection_ids).to(self.mu.device)
        return Laplace.from_params(
            self.mu.detach()[index], self.scale().detach()[index], connection_ids
        )
