"""Log-normal weights on the truncated log-uniform prior: KL, mean and variance against
scipy's truncated normal (closed-form entropy, numerical integration), and Monte Carlo."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from archsearch.graph import dense, select_top
from archsearch.neck import FusionNeck, backbone_shapes
from archsearch.weights import LogNormal
from archsearch.weights.log_normal import HIGH, LOW

D = torch.float64


def _random(count, seed, low=-1.0, high=0.5):
    g = torch.Generator().manual_seed(seed)
    mu = torch.empty(count, dtype=D).uniform_(-3, 1.5, generator=g)
    log_sigma = torch.empty(count, dtype=D).uniform_(low, high, generator=g)
    return mu, log_sigma


def _scipy(mu, log_sigma):
    """scipy's truncated normal of each connection's θ."""
    for m, s in zip(mu.tolist(), log_sigma.exp().tolist(), strict=True):
        yield stats.truncnorm((LOW - m) / s, (HIGH - m) / s, loc=m, scale=s)


@pytest.mark.parametrize("count", [1, 5, 63])
def test_kl_is_the_log_width_minus_scipys_entropy(count):
    mu, log_sigma = _random(count, seed=count)
    expected = sum(math.log(HIGH - LOW) - q.entropy() for q in _scipy(mu, log_sigma))
    kl = LogNormal.from_params(mu, log_sigma).kl()
    assert kl.item() == pytest.approx(expected, rel=1e-7)


def test_kl_matches_monte_carlo_within_three_standard_errors():
    mu, log_sigma = _random(5, seed=11)
    rng = np.random.default_rng(0)
    log_ratio = 0.0
    for q in _scipy(mu, log_sigma):  # log q(θ) - log p(θ), p uniform on [a, b]
        theta = q.rvs(200_000, random_state=rng)
        log_ratio = log_ratio + q.logpdf(theta) + math.log(HIGH - LOW)
    estimate, error = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    kl = LogNormal.from_params(mu, log_sigma).kl().item()
    assert abs(kl - estimate) < 3 * error


def test_mean_and_variance_are_scipys_integrals_of_exp():
    mu, log_sigma = _random(5, seed=3)
    weights = LogNormal.from_params(mu, log_sigma)
    for i, q in enumerate(_scipy(mu, log_sigma)):
        first = q.expect(np.exp)
        second = q.expect(lambda x: np.exp(2 * x))
        assert weights.mean()[i].item() == pytest.approx(first, rel=1e-6)
        assert weights.variance()[i].item() == pytest.approx(second - first**2, rel=1e-5)


def test_draws_are_positive_and_match_the_moments():
    torch.manual_seed(0)
    mu, log_sigma = _random(5, seed=5)
    weights = LogNormal.from_params(mu, log_sigma)
    draws = weights.rsample(100_000).detach()
    assert (draws > 0).all()
    mean, variance = weights.mean().detach(), weights.variance().detach()
    assert ((draws.mean(0) - mean).abs() < 3 * (variance / len(draws)).sqrt()).all()
    fourth = ((draws - mean) ** 4).mean(0)  # the sample variance's own standard error
    assert (
        (draws.var(0) - variance).abs() < 3 * ((fourth - variance**2) / len(draws)).sqrt()
    ).all()


@pytest.mark.parametrize("variance", [1e-8, 1e8])
def test_extreme_variances_give_finite_kl_moments_and_gradients(variance):
    mu = torch.tensor([0.0, -5.0, 1.0, -19.0, 1.9])
    weights = LogNormal.from_params(mu, torch.full_like(mu, 0.5 * math.log(variance)))
    loss = weights.kl() + weights.rsample().sum() + weights.mean().sum() + weights.variance().sum()
    assert torch.isfinite(loss)
    loss.backward()
    assert all(torch.isfinite(p.grad).all() for p in weights.parameters())
    expected = sum(
        math.log(HIGH - LOW) - q.entropy()
        for q in _scipy(mu.double(), weights.log_sigma.detach().double())
    )
    assert weights.kl().item() == pytest.approx(expected, rel=1e-4, abs=1e-5)  # float32


def test_select_is_the_marginal_and_a_pruned_neck_keeps_training():
    torch.manual_seed(2)
    graph = dense()
    neck = FusionNeck(graph, [4, 8, 16], 8, weights=LogNormal(graph.connection_ids, 0.1))
    features = [torch.randn(s) for s in backbone_shapes(neck, (64, 64), 2)]
    (neck(features)["P3"].sum() + neck.weights.kl()).backward()
    assert all(p.grad is not None for p in neck.weights.parameters())
    keep = select_top(graph, {c: float(i % 7) for i, c in enumerate(graph.connection_ids)}, 9)
    pruned = neck.pruned(keep)
    index = [graph.connection_ids.index(c) for c in pruned.weights.connection_ids]
    assert torch.equal(pruned.weights.mean(), neck.weights.mean().detach()[index])
    assert torch.equal(pruned.weights.variance(), neck.weights.variance().detach()[index])
    restored = LogNormal(pruned.weights.connection_ids)
    restored.load_state_dict(pruned.weights.state_dict())
    assert torch.equal(restored.kl(), pruned.weights.kl())
