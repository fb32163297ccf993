"""`Horseshoe`: Gaussian weights under a horseshoe prior, by its non-centred decomposition.

The horseshoe (Carvalho et al., 2010) puts an infinite spike at zero and Cauchy tails on
each weight: w_i = s z_i w̃_i with w̃_i ~ N(0, 1), a local scale z_i ~ C⁺(0, 1) per
connection and a global scale s ~ C⁺(0, τ₀) shared by the neck. The connections the data
does not need shrink toward zero through their local scale; the tails leave the others
alone. As in Bayesian Compression (Louizos, Ullrich and Welling, 2017), each half-Cauchy is
the square root of a product of a Gamma and an inverse Gamma variable,

    z_i² = α_i β_i,  α_i ~ Gamma(½, 1),  β_i ~ InvGamma(½, 1)
    s² = τ₀² a b,    a ~ Gamma(½, 1),    b ~ InvGamma(½, 1)

(αβ is then F(1, 1) and √(αβ) a half-Cauchy), and each of those gets a log-normal
posterior, which makes every term of the KL closed-form.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from archsearch.errors import ConfigError
from archsearch.weights.variational import VariationalWeights, checked, resolve_ids

# Bound on the log-variances inside the moments and the KL: variances from e^-40 to e^40
# keep every exponential below finite in float32.
LOG_VAR_LIMIT = 40.0
# Bound on a log-normal's exponent m + v/2 in the moments and the KL (e^80 is finite).
EXPONENT_LIMIT = 80.0
HALF_LGAMMA = math.lgamma(0.5)
LOCAL_NAMES = ("alpha_m", "alpha_log_v", "beta_m", "beta_log_v")


def kl_lognormal_gamma(m: torch.Tensor, log_v: torch.Tensor) -> torch.Tensor:
    """KL(LogNormal(m, v) ‖ Gamma(½, rate 1)), elementwise: E_q log q - E_q log p, with
    E_q log x = m and E_q x = exp(m + v/2)."""
    expected_log_q, v = _expected_log_q(m, log_v)
    expected = (m + v / 2).clamp(max=EXPONENT_LIMIT).exp()
    return expected_log_q - (-HALF_LGAMMA - 0.5 * m - expected)


def kl_lognormal_inverse_gamma(m: torch.Tensor, log_v: torch.Tensor) -> torch.Tensor:
    """KL(LogNormal(m, v) ‖ InvGamma(½, scale 1)), elementwise, as `kl_lognormal_gamma`
    with E_q 1/x = exp(-m + v/2)."""
    expected_log_q, v = _expected_log_q(m, log_v)
    expected_inverse = (-m + v / 2).clamp(max=EXPONENT_LIMIT).exp()
    return expected_log_q - (-HALF_LGAMMA - 1.5 * m - expected_inverse)


def _expected_log_q(m: torch.Tensor, log_v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """E_q log q(x) = -m - ½ log(2πe v) for q = LogNormal(m, v), and v (bounded)."""
    log_v = log_v.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)
    return -m - 0.5 * (math.log(2 * math.pi * math.e) + log_v), log_v.exp()


class Horseshoe(VariationalWeights):
    """q = Π_i N(w̃_i; μ_i, σ_i²) LN(α_i) LN(β_i) · LN(a) LN(b), w_i = τ₀ √(a b α_i β_i) w̃_i.

    KL = Σ_i [ ½(μ_i² + σ_i² - 1 - log σ_i²) + KL(LN(α_i) ‖ Γ(½, 1)) + KL(LN(β_i) ‖ IΓ(½, 1)) ]
         + KL(LN(a) ‖ Γ(½, 1)) + KL(LN(b) ‖ IΓ(½, 1)),

    each log-normal term closed-form (`kl_lognormal_gamma`, `kl_lognormal_inverse_gamma`).
    The weight's moments are products of the factors' (E √X = exp(m/2 + v/8) for
    X ~ LN(m, v)); `mean` is E[w], which evaluation (eq. 18), the criterion and the history
    use. Parameters: ``mu``, ``log_var`` (w̃: 1 and 2 log ``initial_scale``), ``alpha_m``,
    ``alpha_log_v``, ``beta_m``, ``beta_log_v`` (the local scales' log-normals, one entry
    per connection; ``local`` stacks them) and ``global_`` ([4]: m and log v of a, of b), the
    log-normals starting at m = 0 with v = ``initial_scale``², so that weights start near 1.
    ``global_scale`` is τ₀, a constant.
    """

    def __init__(
        self,
        connection_ids: Sequence[str],
        initial_scale: float = 1.0,
        global_scale: float = 1.0,
    ) -> None:
        scale = global_scale
        if not (isinstance(scale, int | float) and math.isfinite(scale) and scale > 0):
            raise ConfigError(f"global_scale: {scale!r} is not a positive scale")
        super().__init__(connection_ids)
        count = len(self.connection_ids)
        self.global_scale = float(global_scale)
        log_var = 2 * math.log(initial_scale)
        self.mu = nn.Parameter(torch.ones(count))
        self.log_var = nn.Parameter(torch.full((count,), log_var))
        self.alpha_m = nn.Parameter(torch.zeros(count))
        self.alpha_log_v = nn.Parameter(torch.full((count,), log_var))
        self.beta_m = nn.Parameter(torch.zeros(count))
        self.beta_log_v = nn.Parameter(torch.full((count,), log_var))
        self.global_ = nn.Parameter(torch.tensor([0.0, log_var, 0.0, log_var]))

    @property
    def local(self) -> torch.Tensor:
        """The local scales' parameters as one ``[4, C]`` tensor: m and log v of α, of β.
        (Four vectors as parameters, so that optimizer state follows kept connections.)"""
        return torch.stack([getattr(self, name) for name in LOCAL_NAMES])

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        log_var: torch.Tensor,
        local: torch.Tensor,
        global_: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
        global_scale: float = 1.0,
    ) -> Horseshoe:
        """Weights with the given parameters (copied; dtype and device kept)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids), global_scale=global_scale)
        count = len(weights)
        weights.mu = nn.Parameter(checked("mu", mu, (count,)))
        weights.log_var = nn.Parameter(checked("log_var", log_var, (count,)))
        local = checked("local", local, (4, count))
        for name, row in zip(LOCAL_NAMES, local, strict=True):
            setattr(weights, name, nn.Parameter(row.clone()))
        weights.global_ = nn.Parameter(checked("global_", global_, (4,)))
        return weights

    def _scale_logs(self) -> tuple[torch.Tensor, torch.Tensor]:
        """m and v of log(s z_i) = log τ₀ + ½(log a + log b + log α_i + log β_i), a normal."""
        local_v = self.alpha_log_v.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT).exp()
        local_v = local_v + self.beta_log_v.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT).exp()
        global_v = self.global_[[1, 3]].clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT).exp().sum()
        m = math.log(self.global_scale) + 0.5 * (
            self.alpha_m + self.beta_m + self.global_[0] + self.global_[2]
        )
        return m, 0.25 * (local_v + global_v)

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """w = exp(m + √v ε₁) (μ + σ ε₂), the scale's log normal as a sum of the four
        factors' (one draw of it per weight): ``[C]``, or ``[n, C]`` for ``n`` draws."""
        m, v = self._scale_logs()
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        kind = {"dtype": self.mu.dtype, "device": self.mu.device}
        scale = (m + v.sqrt() * torch.randn(shape, **kind)).clamp(max=EXPONENT_LIMIT).exp()
        sigma = (0.5 * self.log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)).exp()
        return scale * (self.mu + sigma * torch.randn(shape, **kind))

    def mean(self) -> torch.Tensor:
        m, v = self._scale_logs()
        return (m + v / 2).clamp(max=EXPONENT_LIMIT).exp() * self.mu

    def variance(self) -> torch.Tensor:
        """E[s² z²] (μ² + σ²) - E[s z]² μ²."""
        m, v = self._scale_logs()
        second = (2 * m + 2 * v).clamp(max=EXPONENT_LIMIT).exp()
        first = (2 * m + v).clamp(max=EXPONENT_LIMIT).exp()
        sigma2 = self.log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT).exp()
        return second * (self.mu.square() + sigma2) - first * self.mu.square()

    def kl(self) -> torch.Tensor:
        log_var = self.log_var.clamp(-LOG_VAR_LIMIT, LOG_VAR_LIMIT)
        weights = 0.5 * (self.mu.square() + log_var.exp() - 1 - log_var)
        local = kl_lognormal_gamma(self.alpha_m, self.alpha_log_v)
        local = local + kl_lognormal_inverse_gamma(self.beta_m, self.beta_log_v)
        global_ = kl_lognormal_gamma(self.global_[0], self.global_[1])
        global_ = global_ + kl_lognormal_inverse_gamma(self.global_[2], self.global_[3])
        return (weights + local).sum() + global_

    def select(self, connection_ids: Sequence[str]) -> Horseshoe:
        """The marginal of ``connection_ids``: their own w̃ and local scales, the shared
        global scale."""
        index = self.indices(connection_ids).to(self.mu.device)
        return Horseshoe.from_params(
            self.mu.detach()[index],
            self.log_var.detach()[index],
            self.local.detach()[:, index],
            self.global_.detach(),
            connection_ids,
            global_scale=self.global_scale,
        )
