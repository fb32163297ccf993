"""GaussianARD: eq. 11 against torch.distributions' Gaussian KL in float64."""

import pytest
import torch
from torch.distributions import Normal, kl_divergence

from archsearch.weights import GaussianARD

D = torch.float64


def _reference_kl(mu, log_var):
    """Σ_i KL(N(μ_i, σ_i²) || N(0, μ_i² + σ_i²)), the optimal ARD prior of eq. 10."""
    sigma = torch.exp(0.5 * log_var)
    return kl_divergence(Normal(mu, sigma), Normal(0.0, torch.sqrt(mu**2 + sigma**2))).sum()


@pytest.mark.parametrize("seed", range(3))
def test_kl_matches_gaussian_kl_over_the_whole_log_variance_range(seed):
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(63, dtype=D, generator=g) * 2
    mu[::7] = 0.0
    log_var = torch.empty(63, dtype=D).uniform_(-20, 20, generator=g)
    kl = GaussianARD.from_params(mu, log_var).kl()
    torch.testing.assert_close(kl, _reference_kl(mu, log_var), rtol=1e-10, atol=1e-10)


def test_kl_gradients_match_the_reference_gradients():
    g = torch.Generator().manual_seed(3)
    mu = torch.randn(9, dtype=D, generator=g)
    log_var = torch.empty(9, dtype=D).uniform_(-4, 4, generator=g)
    weights = GaussianARD.from_params(mu, log_var)
    weights.kl().backward()
    mu_ref, log_var_ref = mu.clone().requires_grad_(), log_var.clone().requires_grad_()
    _reference_kl(mu_ref, log_var_ref).backward()
    torch.testing.assert_close(weights.mu.grad, mu_ref.grad)
    torch.testing.assert_close(weights.log_var.grad, log_var_ref.grad)


def test_float32_kl_is_accurate_at_the_extremes():
    mu = torch.tensor([0.0, 1.0, 1.0, 5.0, 1e-3, 0.0])
    log_var = torch.tensor([-20.0, -20.0, 20.0, 20.0, 0.0, 20.0])
    weights = GaussianARD.from_params(mu, log_var)
    kl = weights.kl()
    kl.backward()
    reference = _reference_kl(mu.double(), log_var.double()).float()
    torch.testing.assert_close(kl, reference, rtol=1e-6, atol=1e-12)
    assert torch.isfinite(weights.mu.grad).all() and torch.isfinite(weights.log_var.grad).all()


def test_float32_kl_keeps_relative_precision_when_the_signal_is_tiny():
    """μ²/σ² ≈ 1e-9 to 1e-7: log(μ² + σ²) - log σ² would cancel to noise in float32."""
    mu = torch.tensor([1.0, 5.0, 0.3])
    log_var = torch.tensor([20.0, 19.0, 15.0])
    reference = _reference_kl(mu.double(), log_var.double())
    kl = GaussianARD.from_params(mu, log_var).kl()
    torch.testing.assert_close(kl.double(), reference, rtol=1e-5, atol=0)


def test_kl_of_pruned_connection_is_zero():
    weights = GaussianARD.from_params(torch.zeros(5), torch.linspace(-20, 20, 5))
    assert weights.kl().item() == 0.0


def test_parameters_and_init_follow_the_paper():
    weights = GaussianARD(["a", "b"])
    names = dict(weights.named_parameters())
    assert set(names) == {"mu", "log_var"}
    assert torch.equal(names["mu"].detach(), torch.ones(2))
    assert torch.equal(names["log_var"].detach(), torch.zeros(2))
