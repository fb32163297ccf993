"""Horseshoe by its non-centred decomposition: the closed-form KL against Monte Carlo over
every latent variable, the decomposition against torch's half-Cauchy, draws against the
moments, the marginal of a subset, a bad global scale refused."""

import math

import pytest
import torch
from torch.distributions import Gamma, HalfCauchy, InverseGamma, LogNormal, Normal

from archsearch.errors import ConfigError
from archsearch.weights import Horseshoe

D = torch.float64


def _random(count, seed, spread=1.0):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(count, dtype=D, generator=g)
    log_var = torch.empty(count, dtype=D).uniform_(-spread, spread, generator=g)
    local = torch.empty(4, count, dtype=D).uniform_(-spread, spread, generator=g)
    global_ = torch.empty(4, dtype=D).uniform_(-spread, spread, generator=g)
    return mu, log_var, local, global_


def _monte_carlo_kl(mu, log_var, local, global_, draws=200_000, chunk=50_000):
    """E_q[log q - log p] over (w̃, α, β, a, b) and its standard error, from draws of q;
    the priors are torch's Normal(0, 1), Gamma(½, 1) and InverseGamma(½, 1)."""
    half, one = torch.tensor(0.5, dtype=D), torch.tensor(1.0, dtype=D)
    gamma, inverse_gamma = Gamma(half, one), InverseGamma(half, one)

    def log_ratio(q, prior, shape):
        x = q.sample(shape)
        return q.log_prob(x) - prior.log_prob(x)

    parts = []
    for _ in range(draws // chunk):
        shape = (chunk,)
        w = log_ratio(Normal(mu, (0.5 * log_var).exp()), Normal(0.0 * mu, 1.0 + 0 * mu), shape)
        alpha = log_ratio(LogNormal(local[0], (0.5 * local[1]).exp()), gamma, shape)
        beta = log_ratio(LogNormal(local[2], (0.5 * local[3]).exp()), inverse_gamma, shape)
        a = log_ratio(LogNormal(global_[0], (0.5 * global_[1]).exp()), gamma, shape)
        b = log_ratio(LogNormal(global_[2], (0.5 * global_[3]).exp()), inverse_gamma, shape)
        parts.append((w + alpha + beta).sum(-1) + a + b)
    ratio = torch.cat(parts)
    return ratio.mean(), ratio.std() / math.sqrt(len(ratio))


@pytest.mark.parametrize("count", [1, 5, 63])
def test_kl_matches_monte_carlo_over_every_latent_variable(count):
    torch.manual_seed(count)
    params = _random(count, seed=count)
    estimate, error = _monte_carlo_kl(*params)
    kl = Horseshoe.from_params(*params).kl()
    assert abs(kl - estimate) < 3 * error, (kl, estimate, error)


@pytest.mark.parametrize("log_var", [math.log(1e-8), math.log(1e8)])
def test_kl_and_its_gradients_stay_finite_at_extreme_variances(log_var):
    mu, _, local, global_ = _random(5, seed=7)
    extreme = torch.full_like(mu, log_var)
    local = torch.stack([local[0], extreme, local[2], extreme])
    weights = Horseshoe.from_params(mu, extreme, local, global_)
    kl = weights.kl()
    assert torch.isfinite(kl)
    kl.backward()
    assert all(torch.isfinite(p.grad).all() for p in weights.parameters())
    if log_var < 0:  # tiny variances: Monte Carlo still has finite variance to compare with
        torch.manual_seed(3)
        estimate, error = _monte_carlo_kl(mu, extreme, local, global_)
        assert abs(kl - estimate) < 3 * error + 1e-9 * abs(estimate)


def test_the_scale_decomposition_is_a_half_cauchy():
    """√(αβ) with α ~ Gamma(½, 1) and β ~ InvGamma(½, 1) has half-Cauchy(0, 1) quantiles."""
    torch.manual_seed(0)
    draws = 400_000
    alpha = Gamma(0.5, 1.0).sample((draws,)).double()
    beta = InverseGamma(0.5, 1.0).sample((draws,)).double()
    scale = (alpha * beta).sqrt()
    for x in (0.1, 0.5, 1.0, 3.0, 20.0):
        empirical = (scale <= x).double().mean()
        expected = HalfCauchy(torch.tensor(1.0, dtype=D)).cdf(torch.tensor(x, dtype=D))
        error = math.sqrt(expected * (1 - expected) / draws)
        assert abs(empirical - expected) < 4 * error, (x, empirical, expected)


def test_draws_match_the_moments_and_carry_gradients_to_every_parameter():
    torch.manual_seed(0)
    weights = Horseshoe.from_params(*_random(4, seed=2, spread=0.3))
    draws = weights.rsample(100_000)
    count = draws.shape[0]
    mean, variance = weights.mean().detach(), weights.variance().detach()
    mean_error = (variance / count).sqrt()
    assert ((draws.mean(0).detach() - mean).abs() < 3 * mean_error).all()
    fourth = ((draws.detach() - mean) ** 4).mean(0)
    variance_error = ((fourth - variance.square()) / count).sqrt()
    assert ((draws.var(0).detach() - variance).abs() < 3 * variance_error).all()
    draws.sum().backward()
    weights.kl().backward()
    assert all(p.grad is not None and torch.count_nonzero(p.grad) > 0 for p in weights.parameters())


def test_a_fresh_posterior_starts_near_one_with_the_asked_spread():
    weights = Horseshoe(list("abc"), initial_scale=0.1).double()
    torch.manual_seed(0)
    draws = weights.rsample(200_000)
    # w = S w̃, log S ~ N(0, v) with v = (4 · 0.01)/4, w̃ ~ N(1, 0.01): E w = e^(v/2),
    # E w² = e^(2v) · 1.01
    v = 0.01
    assert draws.mean().item() == pytest.approx(math.exp(v / 2), abs=0.002)
    sd = math.sqrt(math.exp(2 * v) * 1.01 - math.exp(v))
    assert draws.std().item() == pytest.approx(sd, rel=0.01)


def test_select_keeps_the_subsets_own_parameters_and_the_shared_global_scale():
    params = _random(5, seed=4)
    weights = Horseshoe.from_params(*params, connection_ids=list("abcde"), global_scale=0.3)
    kept = weights.select(["d", "b"])
    assert kept.connection_ids == ("d", "b") and kept.global_scale == 0.3
    assert torch.equal(kept.mu, params[0][[3, 1]])
    assert torch.equal(kept.local, params[2][:, [3, 1]])
    assert torch.equal(kept.global_, params[3])
    assert torch.allclose(kept.mean(), weights.mean()[[3, 1]])


@pytest.mark.parametrize("scale", [0, -1.0, float("inf"), "one"])
def test_a_global_scale_that_is_not_positive_is_refused(scale):
    with pytest.raises(ConfigError, match="global_scale: .* is not a positive scale"):
        Horseshoe(["a"], global_scale=scale)
