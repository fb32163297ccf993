"""Laplace: eq. 22 against Monte Carlo and closed-form values, eq. 21 against the Laplace CDF."""

import math

import pytest
import torch
from torch.distributions import Laplace as TorchLaplace
from torch.distributions import kl_divergence

from archsearch.errors import ConfigError
from archsearch.weights import Laplace

D = torch.float64
MU = torch.tensor([0.0, 1.0, -0.5, 3.0, 0.2], dtype=D)
SCALE = torch.tensor([1.0, 2.0, 0.3, 1.5, 5.0], dtype=D)


def test_kl_matches_a_monte_carlo_estimate_within_three_standard_errors():
    torch.manual_seed(0)
    q = TorchLaplace(MU, SCALE)
    prior = TorchLaplace(torch.zeros(5, dtype=D), torch.ones(5, dtype=D))
    draws = q.sample((200_000,))
    log_ratio = (q.log_prob(draws) - prior.log_prob(draws)).sum(-1)
    estimate, error = log_ratio.mean(), log_ratio.std() / math.sqrt(len(log_ratio))
    kl = Laplace.from_params(MU, SCALE).kl()
    assert abs(kl - estimate) < 3 * error


@pytest.mark.parametrize(
    ("mu", "scale", "expected"),
    [
        (0.0, 1.0, 0.0),  # q = p
        (0.0, math.e, math.e - 2),  # -1 + e - 1
        (2.0, 1.0, 1 + math.exp(-2)),  # 2 + e⁻² - 1
        (-2.0, 1.0, 1 + math.exp(-2)),  # symmetric in μ
        (0.0, 0.5, math.log(2) - 0.5),  # log 2 + ½ - 1
        (1.0, 2.0, -math.log(2) + 2 * math.exp(-0.5)),  # -log 2 + 1 + 2e^(-½) - 1
    ],
)
def test_kl_is_exact_at_known_points(mu, scale, expected):
    weights = Laplace.from_params(torch.tensor([mu], dtype=D), torch.tensor([scale], dtype=D))
    torch.testing.assert_close(weights.kl(), torch.tensor(expected, dtype=D))


def test_kl_and_gradients_match_torch_distributions():
    g = torch.Generator().manual_seed(1)
    mu = torch.randn(20, dtype=D, generator=g) * 2
    scale = torch.exp(torch.empty(20, dtype=D).uniform_(-5, 5, generator=g))
    weights = Laplace.from_params(mu, scale)
    weights.kl().backward()
    mu_ref = mu.clone().requires_grad_()
    log_scale_ref = scale.log().requires_grad_()
    prior = TorchLaplace(torch.zeros(20, dtype=D), torch.ones(20, dtype=D))
    kl_divergence(TorchLaplace(mu_ref, log_scale_ref.exp()), prior).sum().backward()
    torch.testing.assert_close(weights.kl(), kl_divergence(TorchLaplace(mu, scale), prior).sum())
    torch.testing.assert_close(weights.mu.grad, mu_ref.grad)
    torch.testing.assert_close(weights.log_scale.grad, log_scale_ref.grad)


def test_samples_follow_the_laplace_cdf():
    """Kolmogorov–Smirnov distance of eq. 21's draws to the exact CDF, at the 0.1% level."""
    torch.manual_seed(2)
    draws = Laplace.from_params(MU, SCALE).sample(20_000)
    for index in range(len(MU)):
        ordered = draws[:, index].sort().values
        cdf = TorchLaplace(MU[index], SCALE[index]).cdf(ordered)
        steps = torch.arange(1, len(ordered) + 1, dtype=D) / len(ordered)
        distance = torch.maximum(steps - cdf, cdf - (steps - 1 / len(ordered))).max()
        assert distance < 1.95 / math.sqrt(len(ordered))
    torch.testing.assert_close((draws - MU).abs().mean(0), SCALE, rtol=0.03, atol=0)


def test_extreme_scales_stay_finite_in_float32():
    mu = torch.tensor([0.0, 1.0, 0.0, 4.0, 0.0])
    weights = Laplace.from_params(mu, torch.exp(torch.tensor([-20.0, -20.0, 20.0, 20.0, 0.0])))
    kl = weights.kl()
    (kl + weights.rsample().sum()).backward()
    assert torch.isfinite(kl)
    assert torch.isfinite(weights.mu.grad).all() and torch.isfinite(weights.log_scale.grad).all()


def test_from_params_rejects_nonpositive_scales():
    with pytest.raises(ConfigError, match="scale: .* is not a positive scale"):
        Laplace.from_params(torch.zeros(2), torch.tensor([1.0, 0.0]))
