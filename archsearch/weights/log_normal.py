"""`LogNormal`: positive weights, w = exp(θ), under a log-uniform prior (beyond the paper).

Eq. 1 needs non-negative weights; a Gaussian posterior pushed through ReLU puts mass on
values the neck clips to zero. A log-normal posterior fits the model instead: its draws are
positive. Against the log-uniform prior, the scale-invariant sparsity prior of sparse
variational dropout, the KL is finite only with both truncated, as in Structured Bayesian
Pruning (Neklyudov et al., 2017): θ = log w lives on [`LOW`, `HIGH`], the prior is uniform
there and q(θ) is a normal truncated to it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.special import log_ndtr, ndtr, ndtri

from archsearch.weights.variational import VariationalWeights, checked, resolve_ids

# The prior's support in log space: weights from 2e-9 (as good as pruned) to e² ≈ 7.4
# (fast normalized fusion divides by a block's sum, so a weight's scale beyond its block's
# does not matter).
LOW, HIGH = -20.0, 2.0
# Bound on log σ inside the moments and the KL: σ from 1e-6 to 1e6 keeps the standardized
# bounds finite and the truncated mass positive in float32.
LOG_SIGMA_LIMIT = 13.8
# Bound on standardized arguments of Φ: beyond ±30 the normal tail's mass is under 1e-197,
# nothing beside the other bound's, and torch's float32 log Φ has inaccurate gradients.
TAIL = 30.0


class LogNormal(VariationalWeights):
    """q(θ) = Π_i N(θ_i; μ_i, σ_i²) truncated to [a, b], w = exp(θ), against p(θ) uniform on
    [a, b] (log-uniform w), a = `LOW`, b = `HIGH`.

    With α = (a - μ)/σ, β = (b - μ)/σ and Z = Φ(β) - Φ(α), the KL is the log-width of the
    support minus the truncated normal's entropy:

        KL = Σ_i [ log(b - a) - log(√(2πe) σ_i Z_i) - (α_i φ(α_i) - β_i φ(β_i)) / (2 Z_i) ]

    The weight's mean is not a parameter: E[w] = exp(μ + σ²/2) (Φ(β - σ) - Φ(α - σ)) / Z, and
    it is what evaluation (eq. 18), the pruning criterion and the history use (`mean`).
    Parameters: ``mu`` (0: weights start near 1) and ``log_sigma`` = log σ (log
    ``initial_scale``). Draws are reparameterized through the inverse CDF.
    """

    def __init__(self, connection_ids: Sequence[str], initial_scale: float = 1.0) -> None:
        super().__init__(connection_ids)
        count = len(self.connection_ids)
        self.mu = nn.Parameter(torch.zeros(count))
        self.log_sigma = nn.Parameter(torch.full((count,), math.log(initial_scale)))

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        log_sigma: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
    ) -> LogNormal:
        """Weights with log-space locations ``mu`` and log-scales ``log_sigma`` (copied)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids))
        shape = (len(weights),)
        weights.mu = nn.Parameter(checked("mu", mu, shape))
        weights.log_sigma = nn.Parameter(checked("log_sigma", log_sigma, shape))
        return weights

    def _standardized(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """σ, α and β, with σ bounded (`LOG_SIGMA_LIMIT`)."""
        sigma = self.log_sigma.clamp(-LOG_SIGMA_LIMIT, LOG_SIGMA_LIMIT).exp()
        return sigma, (LOW - self.mu) / sigma, (HIGH - self.mu) / sigma

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """w = exp(μ + σ Φ⁻¹(Φ(α) + u Z)), u ~ U(0, 1): ``[C]``, or ``[n, C]`` for ``n`` draws."""
        sigma, alpha, beta = self._standardized()
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        u = torch.rand(shape, dtype=self.mu.dtype, device=self.mu.device)
        low = ndtr(alpha)
        tiny = torch.finfo(self.mu.dtype).eps
        p = (low + u * (ndtr(beta) - low)).clamp(tiny, 1 - tiny)
        theta = (self.mu + sigma * ndtri(p)).clamp(LOW, HIGH)
        return theta.exp()

    def mean(self) -> torch.Tensor:
        """E[w], from the log-space form of the formula above, within [e^a, e^b]."""
        sigma, alpha, beta = self._standardized()
        log_mean = (
            self.mu
            + sigma.square() / 2
            + _log_mass(alpha - sigma, beta - sigma)
            - _log_mass(alpha, beta)
        )
        return log_mean.clamp(LOW, HIGH).exp()

    def variance(self) -> torch.Tensor:
        """Var[w] = E[w]² (E[w²]/E[w]² - 1), the bracket by expm1 of its log so that it keeps
        its relative precision for small σ (where it is about σ²)."""
        sigma, alpha, beta = self._standardized()
        log_ratio = (
            sigma.square()
            + _log_mass(alpha - 2 * sigma, beta - 2 * sigma)
            + _log_mass(alpha, beta)
            - 2 * _log_mass(alpha - sigma, beta - sigma)
        )
        # E[w²]/E[w]² lies in [1, e^(2(b - a))] and the variance under (e^b - e^a)²/4 for
        # any law on [e^a, e^b]: bounds that hold where float32 loses the moments (huge σ).
        log_ratio = log_ratio.clamp(0, 2 * (HIGH - LOW))
        bound = (math.exp(HIGH) - math.exp(LOW)) ** 2 / 4
        tiny = torch.finfo(log_ratio.dtype).tiny  # a weight's variance never underflows to 0
        return (self.mean().square() * torch.expm1(log_ratio)).clamp(tiny, bound)

    def kl(self) -> torch.Tensor:
        sigma, alpha, beta = self._standardized()
        log_mass = _log_mass(alpha, beta)
        edges = (_phi_times(alpha) - _phi_times(beta)) * torch.exp(-log_mass) / 2
        entropy = 0.5 * math.log(2 * math.pi * math.e) + sigma.log() + log_mass + edges
        return (math.log(HIGH - LOW) - entropy).sum()

    def select(self, connection_ids: Sequence[str]) -> LogNormal:
        """The factorized marginal of ``connection_ids``: their own μ and log σ."""
        index = self.indices(connection_ids).to(self.mu.device)
        return LogNormal.from_params(
            self.mu.detach()[index], self.log_sigma.detach()[index], connection_ids
        )


def _log_mass(low: torch.Tensor, high: torch.Tensor) -> torch.Tensor:
    """log(Φ(high) - Φ(low)) for low < high, from the tail where both are small: Φ(x) in the
    lower tail, 1 - Φ(x) = Φ(-x) in the upper one, so neither difference cancels."""
    low, high = low.clamp(-TAIL, TAIL), high.clamp(-TAIL, TAIL)
    upper = low > 0
    near, far = torch.where(upper, -low, high), torch.where(upper, -high, low)
    log_near, log_far = log_ndtr(near), log_ndtr(far)
    return log_near + torch.log1p(-torch.exp(log_far - log_near).clamp(max=1 - 1e-7))


def _phi_times(x: torch.Tensor) -> torch.Tensor:
    """x φ(x), which vanishes in the tails (past `TAIL` it is taken as 0)."""
    x = x.clamp(-TAIL, TAIL)
    return x * torch.exp(-x.square() / 2) / math.sqrt(2 * math.pi)
