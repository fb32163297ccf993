"""`FullARD`: correlated Gaussian weights under the optimal full-covariance prior (sec. 3.3.2)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.autograd.function import once_differentiable

from archsearch.errors import ConfigError
from archsearch.weights.variational import VariationalWeights, checked, resolve_ids

# Bound on the log-diagonal of the precision factor P = L⁻¹, applied wherever P is built:
# P_ii in [2e-9, 4.9e8] (a log-variance within ±40 along each direction) keeps the triangular
# solve's pivots away from zero and infinity in float32. Outside it the gradient is zero.
LOG_DIAG_LIMIT = 20.0


class FullARD(VariationalWeights):
    """q(w) = N(μ, Σ) (eq. 13) against the prior N(0, Σ̂) with Σ̂ = μμᵀ + Σ (eq. 12).

    As in the paper, q is parameterized by ``mu`` and the precision factor P = L⁻¹, where
    Σ = LLᵀ (eq. 14): P is lower triangular with a positive diagonal and Σ⁻¹ = PᵀP. Its
    diagonal is exp(``log_diag``) (exp rather than softplus, so ``log_diag`` is minus half a
    per-direction log-variance, the counterpart of `GaussianARD`'s ``log_var``); its strict
    lower part is ``lower``'s, entries of ``lower`` on and above the diagonal are ignored.
    Initialisation: μ = 1, P = I / ``initial_scale`` (Σ = ``initial_scale``² I), the same
    distribution as `GaussianARD`'s.

    The KL has an exact closed form that needs neither an inverse nor a log-determinant.
    With s = μᵀΣ⁻¹μ = ‖Pμ‖², the matrix determinant lemma gives log|Σ̂| = log|Σ| + log(1 + s)
    and Sherman–Morrison gives Σ̂⁻¹ = Σ⁻¹ - Σ⁻¹μμᵀΣ⁻¹ / (1 + s), so in
    KL = ½[tr(Σ̂⁻¹Σ) + μᵀΣ̂⁻¹μ - C + log|Σ̂| - log|Σ|] the trace is C - s/(1 + s), the
    quadratic term is s/(1 + s), and everything but the log-determinant ratio cancels:

        KL = ½ log(1 + ‖Pμ‖²).

    The expectation in the paper's eq. 17 is E_q[wᵀΣ̂⁻¹w] = tr(Σ̂⁻¹(Σ + μμᵀ)) = C, a constant,
    so no sampling is needed for it; eq. 16's factors of ½ are a typo (the lemma has none),
    and the tests check this form against a dense float64 ``MultivariateNormal`` KL.
    """

    def __init__(self, connection_ids: Sequence[str], initial_scale: float = 1.0) -> None:
        super().__init__(connection_ids)
        count = len(self.connection_ids)
        self.mu = nn.Parameter(torch.ones(count))
        self.log_diag = nn.Parameter(torch.full((count,), -math.log(initial_scale)))
        self.lower = nn.Parameter(torch.zeros(count, count))
        # Masks instead of ``Tensor.tril`` in every step: tril is a parallel loop even at
        # 63 × 63, and it stalls a train step for milliseconds when the CPU is oversubscribed.
        triangle = torch.ones(count, count, dtype=torch.bool).tril()
        self.register_buffer("triangle", triangle, persistent=False)
        self.register_buffer("below_diagonal", triangle.tril(-1), persistent=False)

    @classmethod
    def from_params(
        cls,
        mu: torch.Tensor,
        precision_factor: torch.Tensor,
        connection_ids: Sequence[str] | None = None,
    ) -> FullARD:
        """Weights with mean ``mu`` and precision factor P = L⁻¹ (lower, positive diagonal)."""
        weights = cls(resolve_ids(mu.numel(), connection_ids))
        count = len(weights)
        weights.mu = nn.Parameter(checked("mu", mu, (count,)))
        factor = checked("precision_factor", precision_factor, (count, count))
        if not torch.equal(factor, factor.tril()):
            raise ConfigError("precision_factor: not lower triangular")
        if not bool((factor.diagonal() > 0).all()):
            lowest = factor.diagonal().min().item()
            raise ConfigError(f"precision_factor: diagonal entry {lowest:g} is not positive")
        weights.log_diag = nn.Parameter(factor.diagonal().log())
        weights.lower = nn.Parameter(factor.tril(-1))
        return weights

    def precision_factor(self) -> torch.Tensor:
        """P = L⁻¹: ``lower``'s strict lower part plus diag(exp(``log_diag``)), clamped."""
        diagonal = torch.exp(self.log_diag.clamp(-LOG_DIAG_LIMIT, LOG_DIAG_LIMIT))
        return torch.where(self.below_diagonal, self.lower, torch.diag_embed(diagonal))

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """w = μ + Lε (eq. 14), found by solving P(w - μ) = ε: no inverse is formed.

        ``n`` draws share one triangular solve with ``n`` right-hand sides.
        """
        count = len(self)
        eps = torch.randn(count, 1 if n is None else n, dtype=self.mu.dtype, device=self.mu.device)
        offsets = _LowerSolve.apply(self.precision_factor(), eps, self.triangle)
        return self.mu + (offsets[:, 0] if n is None else offsets.T)

    def mean(self) -> torch.Tensor:
        return self.mu

    def covariance(self) -> torch.Tensor:
        """Σ = LLᵀ, ``[C, C]``, for correlation plots."""
        factor = _inverse(self.precision_factor())
        return factor @ factor.T

    def variance(self) -> torch.Tensor:
        """diag(Σ): the squared row norms of L."""
        return _inverse(self.precision_factor()).square().sum(-1)

    def kl(self) -> torch.Tensor:
        """KL(q || p) = ½ log(1 + ‖Pμ‖²), exact (see the class docstring)."""
        projected = self.precision_factor() @ self.mu
        return 0.5 * torch.log1p(projected.square().sum())

    def select(self, connection_ids: Sequence[str]) -> FullARD:
        """The marginal q(w_S) of the kept connections, re-factorized as a precision factor.

        Σ_SS = L_S L_Sᵀ with L_S the rows S of L. A QR decomposition L_Sᵀ = QR gives
        Σ_SS = RᵀR without forming Σ_SS (no squaring of its condition number), so RᵀD, with
        D = sign(diag R), is Σ_SS's Cholesky factor and its inverse the new P. Done in float64.
        """
        index = self.indices(connection_ids).to(self.mu.device)
        precision = self.precision_factor().detach().double()
        rows = _inverse(precision)[index]
        r = torch.linalg.qr(rows.T, mode="r").R
        factor = _inverse(r.T * torch.sign(r.diagonal()))
        return FullARD.from_params(
            self.mu.detach()[index], factor.tril().to(self.mu.dtype), connection_ids
        )


class _LowerSolve(torch.autograd.Function):
    """X = A⁻¹B for lower-triangular A: torch's solve, with a backward free of ``tril``.

    torch's own backward projects A's gradient onto the lower triangle with ``tril`` (see the
    masks in `FullARD.__init__`); this one projects with ``mask``, the lower triangle, by an
    elementwise ``where``. The gradients are the standard ones: with G = ∂ℓ/∂X,
    ∂ℓ/∂B = A⁻ᵀG (a second triangular solve) and ∂ℓ/∂A = -tril((∂ℓ/∂B) Xᵀ).
    """

    @staticmethod
    def forward(
        ctx: torch.autograd.function.FunctionCtx,
        factor: torch.Tensor,
        rhs: torch.Tensor,
        mask: torch.Tensor,
    ) -> torch.Tensor:
        solution = torch.linalg.solve_triangular(factor, rhs, upper=False)
        ctx.save_for_backward(factor, solution, mask)
        return solution

    @staticmethod
    @once_differentiable
    def backward(
        ctx: torch.autograd.function.FunctionCtx, grad: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        factor, solution, mask = ctx.saved_tensors
        grad_rhs = torch.linalg.solve_triangular(factor.mT, grad, upper=True)
        grad_factor = torch.where(mask, -(grad_rhs @ solution.mT), 0.0)
        return grad_factor, grad_rhs, None


def _inverse(lower: torch.Tensor) -> torch.Tensor:
    """Inverse of a lower-triangular matrix, by a triangular solve against I.

    Only reporting (`covariance`, `variance`) and `select` form L = P⁻¹; sampling and the KL
    never do.
    """
    identity = torch.eye(lower.shape[-1], dtype=lower.dtype, device=lower.device)
    return torch.linalg.solve_triangular(lower, identity, upper=False)
