"""FullARD: the closed-form KL against a dense float64 MultivariateNormal KL, and `select`.

References build Σ = P⁻¹P⁻ᵀ densely with `torch.linalg.inv` and let torch.distributions do
the rest, so they share nothing with the implementation's triangular solves or its formula.
"""

import pytest
import torch
from torch.distributions import MultivariateNormal, kl_divergence

from archsearch.errors import ConfigError
from archsearch.weights import FullARD
from archsearch.weights.fullard import _LowerSolve

D = torch.float64
SIZES = [1, 2, 5, 17, 63]


def _dense_covariance(factor):
    inverse = torch.linalg.inv(factor)
    return inverse @ inverse.T


def _reference_kl(mu, factor):
    """KL(N(μ, Σ) || N(0, μμᵀ + Σ)) with dense matrices."""
    covariance = _dense_covariance(factor)
    prior = MultivariateNormal(torch.zeros_like(mu), torch.outer(mu, mu) + covariance)
    return kl_divergence(MultivariateNormal(mu, covariance), prior)


def _factor(size, condition, g):
    """Precision factor of a covariance with a random eigenbasis and a log-spaced spectrum
    whose condition number is ``condition`` (strongly correlated weights when it is large)."""
    basis = torch.linalg.qr(torch.randn(size, size, dtype=D, generator=g)).Q
    half = 0.5 * torch.log10(torch.tensor(condition)).item()
    spectrum = torch.logspace(-half, half, size, dtype=D) if size > 1 else torch.ones(1, dtype=D)
    covariance = basis @ torch.diag(spectrum) @ basis.T
    return torch.linalg.inv(torch.linalg.cholesky(covariance)).tril()


def _scaled_factor(size, g, spread=5.0):
    """Unit-lower-triangular correlations under a diagonal spanning log-variances ±2·spread."""
    lower = torch.randn(size, size, dtype=D, generator=g).tril(-1) / size**0.5
    diagonal = torch.exp(torch.empty(size, dtype=D).uniform_(-spread, spread, generator=g))
    return torch.diag(diagonal) @ (torch.eye(size, dtype=D) + lower)


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize(("condition", "rtol"), [(1e2, 1e-12), (1e8, 1e-8)])
def test_kl_matches_dense_multivariate_normal_kl(size, condition, rtol):
    g = torch.Generator().manual_seed(size)
    mu, factor = torch.randn(size, dtype=D, generator=g), _factor(size, condition, g)
    kl = FullARD.from_params(mu, factor).kl()
    torch.testing.assert_close(kl, _reference_kl(mu, factor), rtol=rtol, atol=1e-12)


@pytest.mark.parametrize("size", SIZES)
def test_kl_matches_dense_kl_for_badly_scaled_factors(size):
    g = torch.Generator().manual_seed(100 + size)
    mu, factor = torch.randn(size, dtype=D, generator=g), _scaled_factor(size, g)
    kl = FullARD.from_params(mu, factor).kl()
    torch.testing.assert_close(kl, _reference_kl(mu, factor), rtol=1e-8, atol=1e-10)


def test_kl_is_exact_where_a_dense_float64_reference_is_not():
    """At cond(Σ) ≈ 1e13 the dense float64 KL loses 6 digits; 60-digit arithmetic does not."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 60
    g = torch.Generator().manual_seed(117)
    mu, factor = torch.randn(17, dtype=D, generator=g), _scaled_factor(17, g, spread=8.0)
    precise_mu = mpmath.matrix(mu.tolist())
    precise_factor_inverse = mpmath.matrix(factor.tolist()) ** -1
    covariance = precise_factor_inverse * precise_factor_inverse.T
    prior = precise_mu * precise_mu.T + covariance
    ratio = prior**-1 * covariance
    reference = 0.5 * (
        sum(ratio[i, i] for i in range(17))
        + (precise_mu.T * prior**-1 * precise_mu)[0]
        - 17
        + mpmath.log(mpmath.det(prior) / mpmath.det(covariance))
    )
    kl = FullARD.from_params(mu, factor).kl().item()
    assert abs(kl - float(reference)) < 1e-12 * float(reference)


@pytest.mark.parametrize("condition", [1e2, 1e6])
def test_kl_gradients_match_dense_reference_gradients(condition):
    g = torch.Generator().manual_seed(7)
    mu, factor = torch.randn(6, dtype=D, generator=g), _factor(6, condition, g)
    weights = FullARD.from_params(mu, factor)
    weights.kl().backward()
    mu_ref = mu.clone().requires_grad_()
    log_diag = factor.diagonal().log().requires_grad_()
    lower = factor.tril(-1).requires_grad_()
    _reference_kl(mu_ref, lower + torch.diag(log_diag.exp())).backward()
    torch.testing.assert_close(weights.mu.grad, mu_ref.grad, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(weights.log_diag.grad, log_diag.grad, rtol=1e-6, atol=1e-9)
    torch.testing.assert_close(weights.lower.grad, lower.grad.tril(-1), rtol=1e-6, atol=1e-9)


def test_triangular_solve_gradients_match_finite_differences():
    g = torch.Generator().manual_seed(11)
    factor = _factor(5, 1e3, g).requires_grad_()
    rhs = torch.randn(5, 3, dtype=D, generator=g, requires_grad=True)
    mask = torch.ones(5, 5, dtype=torch.bool).tril()
    assert torch.autograd.gradcheck(lambda a, b: _LowerSolve.apply(a, b, mask), (factor, rhs))


def test_sample_gradients_reach_every_strictly_lower_entry():
    torch.manual_seed(8)
    g = torch.Generator().manual_seed(8)
    weights = FullARD.from_params(torch.randn(5, generator=g), _factor(5, 10.0, g).float())
    (weights.rsample() * torch.randn(5, generator=g)).sum().backward()
    below = torch.ones(5, 5, dtype=torch.bool).tril(-1)
    assert (weights.lower.grad[below] != 0).all()
    assert (weights.lower.grad[~below] == 0).all()


def test_covariance_and_variance_match_the_dense_inverse():
    g = torch.Generator().manual_seed(9)
    factor = _factor(8, 1e4, g)
    weights = FullARD.from_params(torch.randn(8, dtype=D, generator=g), factor)
    covariance = _dense_covariance(factor)
    torch.testing.assert_close(weights.covariance(), covariance)
    torch.testing.assert_close(weights.variance(), covariance.diagonal())


@pytest.mark.parametrize("condition", [1e2, 1e6])
def test_select_is_the_marginal_of_the_kept_connections(condition):
    g = torch.Generator().manual_seed(10)
    mu, factor = torch.randn(12, dtype=D, generator=g), _factor(12, condition, g)
    ids = [f"c{i}" for i in range(12)]
    weights = FullARD.from_params(mu, factor, ids)
    kept = [9, 2, 5, 11, 0]
    sub = weights.select([ids[i] for i in kept])
    new_factor = sub.precision_factor().detach()
    assert torch.equal(new_factor, new_factor.tril()) and (new_factor.diagonal() > 0).all()
    expected = _dense_covariance(factor)[kept][:, kept]
    torch.testing.assert_close(_dense_covariance(new_factor), expected, rtol=1e-8, atol=1e-12)
    torch.testing.assert_close(sub.mean(), mu[kept])


def test_default_init_is_identity_factor():
    weights = FullARD(["a", "b", "c"])
    torch.testing.assert_close(weights.precision_factor(), torch.eye(3))
    reference = _reference_kl(torch.ones(3, dtype=D), torch.eye(3, dtype=D))
    torch.testing.assert_close(weights.kl(), reference.float())


def test_from_params_rejects_invalid_factors():
    with pytest.raises(ConfigError, match="precision_factor: not lower triangular"):
        FullARD.from_params(torch.zeros(2), torch.ones(2, 2))
    with pytest.raises(ConfigError, match="precision_factor: diagonal entry .* is not positive"):
        FullARD.from_params(torch.zeros(2), torch.tensor([[1.0, 0.0], [0.5, -1.0]]))
