"""Student-t by its Normal–Gamma mixture: the closed-form KL against Monte Carlo over (w, τ),
the marginal prior against torch's StudentT, draws against the moments, bad ν refused."""

import math

import pytest
import torch
from torch.distributions import Gamma, Normal
from torch.distributions import StudentT as TorchStudentT

from archsearch.errors import ConfigError
from archsearch.weights import StudentT

D = torch.float64


def _random(count, seed, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(count, dtype=D, generator=g)
    logs = torch.empty(3, count, dtype=D).uniform_(-spread, spread, generator=g)
    return mu, *logs


def _monte_carlo_kl(mu, log_var, log_shape, log_rate, dof, draws=200_000):
    """E_q[log q(w) q(τ) - log p(w | τ) p(τ)] and its standard error, from draws of q."""
    q_w = Normal(mu, (0.5 * log_var).exp())
    q_tau = Gamma(log_shape.exp(), log_rate.exp())
    w, tau = q_w.sample((draws,)), q_tau.sample((draws,))
    half = torch.full_like(mu, dof / 2)
    log_ratio = (
        q_w.log_prob(w)
        + q_tau.log_prob(tau)
        - Normal(torch.zeros_like(mu), tau.rsqrt()).log_prob(w)
        - Gamma(half, half).log_prob(tau)
    ).sum(-1)
    return log_ratio.mean(), log_ratio.std() / math.sqrt(draws)


@pytest.mark.parametrize(("count", "dof"), [(1, 0.5), (5, 1.0), (63, 5.0), (63, 1.0)])
def test_kl_matches_monte_carlo_over_w_and_tau(count, dof):
    torch.manual_seed(count)
    params = _random(count, seed=count)
    estimate, error = _monte_carlo_kl(*params, dof)
    kl = StudentT.from_params(*params, dof=dof).kl()
    assert abs(kl - estimate) < 3 * error, (kl, estimate, error)


@pytest.mark.parametrize("log_var", [math.log(1e-8), math.log(1e8)])
def test_kl_matches_monte_carlo_at_extreme_variances(log_var):
    torch.manual_seed(1)
    mu, _, log_shape, log_rate = _random(5, seed=7)
    params = (mu, torch.full_like(mu, log_var), log_shape, log_rate)
    estimate, error = _monte_carlo_kl(*params, 1.0)
    weights = StudentT.from_params(*params)
    kl = weights.kl()
    assert abs(kl - estimate) < 3 * error + 1e-9 * abs(estimate)
    kl.backward()
    assert all(torch.isfinite(p.grad).all() for p in weights.parameters())


def test_tau_marginalized_out_of_the_prior_is_torchs_student_t():
    """∫ N(w; 0, 1/τ) Gamma(τ; ν/2, ν/2) dτ = StudentT(ν)(w), by quadrature over τ."""
    dof = 3.0
    tau = torch.linspace(1e-6, 60, 400_001, dtype=D)
    for w in (0.0, 0.7, 4.0):
        density = Normal(0.0, tau.rsqrt()).log_prob(torch.tensor(w, dtype=D)).exp()
        density = density * Gamma(dof / 2, dof / 2).log_prob(tau).exp()
        integral = torch.trapezoid(density, tau)
        expected = TorchStudentT(dof).log_prob(torch.tensor(w, dtype=D)).exp()
        assert integral == pytest.approx(expected.item(), rel=1e-4)


def test_the_precision_starts_at_its_optimum_given_the_weights():
    """At the start, q(τ) is the coordinate-ascent optimum Gamma((ν+1)/2, ν/2 + E[w²]/2):
    moving log α or log β either way raises the KL."""
    weights = StudentT(["a", "b"], initial_scale=0.3, dof=2.0).double()
    base = weights.kl().item()
    for name in ("log_shape", "log_rate"):
        for step in (-1e-3, 1e-3):
            with torch.no_grad():
                getattr(weights, name).add_(step)
            assert weights.kl().item() > base
            with torch.no_grad():
                getattr(weights, name).sub_(step)


@pytest.mark.parametrize("dof", [0, -1.0, float("nan"), "three"])
def test_a_degree_of_freedom_that_is_not_positive_is_refused(dof):
    with pytest.raises(ConfigError, match="dof: .* is not a positive number"):
        StudentT(["a"], dof=dof)
