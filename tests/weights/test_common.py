"""Behaviour shared by every variational weight object, checked for each family.

Reference moments come from the distributions' textbook formulas (Laplace variance 2β², Σ
from a dense inverse of the precision factor), never from the objects' own methods.
"""

import math

import pytest
import torch

from archsearch.errors import GraphError
from archsearch.graph import dense, select_top
from archsearch.neck import FusionNeck, backbone_shapes
from archsearch.weights import FullARD, GaussianARD, Laplace, StudentT, VariationalWeights

KINDS = [GaussianARD, FullARD, Laplace, StudentT]  # LogNormal: tests/weights/test_log_normal
IDS = ("c0", "c1", "c2", "c3")


def _random(kind, dtype=torch.float32, seed=0):
    """A weight object over IDS with random parameters, and its reference mean and covariance."""
    g = torch.Generator().manual_seed(seed)
    mu = torch.randn(4, dtype=torch.float64, generator=g)
    if kind is GaussianARD:
        log_var = torch.empty(4, dtype=torch.float64).uniform_(-2, 1, generator=g)
        covariance = torch.diag(log_var.exp())
        weights = GaussianARD.from_params(mu.to(dtype), log_var.to(dtype), IDS)
    elif kind is FullARD:
        factor = torch.randn(4, 4, dtype=torch.float64, generator=g).tril(-1) * 0.8
        factor += torch.diag(torch.empty(4, dtype=torch.float64).uniform_(0.5, 2, generator=g))
        inverse = torch.linalg.inv(factor)
        covariance = inverse @ inverse.T
        weights = FullARD.from_params(mu.to(dtype), factor.to(dtype), IDS)
    elif kind is StudentT:
        logs = torch.empty(3, 4, dtype=torch.float64).uniform_(-2, 1, generator=g)
        covariance = torch.diag(logs[0].exp())
        weights = StudentT.from_params(mu.to(dtype), *logs.to(dtype), IDS)
    else:
        scale = torch.empty(4, dtype=torch.float64).uniform_(0.3, 1.5, generator=g)
        covariance = torch.diag(2 * scale**2)
        weights = Laplace.from_params(mu.to(dtype), scale.to(dtype), IDS)
    return weights, mu, covariance


def _check_moments(draws, mu, covariance):
    """Sample mean within 5 standard errors; sample covariance within 5 of its (Laplace-safe)
    standard errors, which we bound by 3·(Σ_ii Σ_jj + Σ_ij²)/n (Laplace's kurtosis is 6)."""
    n = draws.shape[0]
    draws = draws.double()
    variance = covariance.diagonal()
    assert torch.all((draws.mean(0) - mu).abs() < 5 * (variance / n).sqrt())
    spread = 3 * (torch.outer(variance, variance) + covariance**2) / n
    assert torch.all((torch.cov(draws.T) - covariance).abs() < 5 * spread.sqrt())


@pytest.mark.parametrize("kind", KINDS)
def test_default_init_is_mean_one(kind):
    weights = kind(["a", "b", "c"])
    assert isinstance(weights, VariationalWeights)
    assert weights.connection_ids == ("a", "b", "c") and len(weights) == 3
    assert torch.equal(weights.mean(), torch.ones(3))
    expected_variance = 2.0 if kind is Laplace else 1.0  # Laplace(1, 1) has variance 2β²
    torch.testing.assert_close(weights.variance(), torch.full((3,), expected_variance))
    assert all(p.requires_grad for p in weights.parameters())


@pytest.mark.parametrize("kind", KINDS)
def test_initial_scale_sets_the_draws_spread_and_keeps_the_means(kind):
    """Draws of a fresh posterior have mean 1 and the scale asked for: sd σ₀ for the
    Gaussians, √2 β₀ for Laplace (checked by moments, not by the objects' `variance`)."""
    torch.manual_seed(3)
    weights = kind(["a", "b", "c"], initial_scale=0.1).double()
    sd = 0.1 * (2**0.5 if kind is Laplace else 1.0)
    _check_moments(weights.sample(40_000), torch.ones(3, dtype=torch.float64), sd**2 * torch.eye(3))


@pytest.mark.parametrize("kind", KINDS)
def test_from_params_defaults_ids_and_checks_shapes(kind):
    weights, _, _ = _random(kind)
    bare = kind.from_params(*_params_of(weights))
    assert bare.connection_ids == IDS
    torch.testing.assert_close(bare.variance(), weights.variance())
    with pytest.raises(GraphError):
        kind.from_params(*_params_of(weights), connection_ids=("x", "y"))
    first, second, *rest = _params_of(weights)
    with pytest.raises(GraphError):
        kind.from_params(first, second[:3] if second.dim() == 1 else second[:3, :3], *rest)


def _params_of(weights):
    if isinstance(weights, GaussianARD):
        return weights.mu, weights.log_var
    if isinstance(weights, FullARD):
        return weights.mu, weights.precision_factor()
    if isinstance(weights, StudentT):
        return weights.mu, weights.log_var, weights.log_shape, weights.log_rate
    return weights.mu, weights.scale()


@pytest.mark.parametrize("kind", KINDS)
def test_training_draws_fresh_samples_eval_gives_mean(kind):
    weights, mu, _ = _random(kind)
    weights.train()
    first, second = weights(), weights()
    assert first.shape == (4,) and not torch.equal(first, second)
    assert first.requires_grad
    weights.eval()
    torch.testing.assert_close(weights(), mu.float())
    assert torch.equal(weights(), weights())


@pytest.mark.parametrize("kind", KINDS)
def test_sample_shape_and_no_grad(kind):
    weights, _, _ = _random(kind)
    draws = weights.sample(7)
    assert draws.shape == (7, 4) and not draws.requires_grad
    assert weights.rsample(7).requires_grad
    assert not torch.equal(draws[0], draws[1])


@pytest.mark.parametrize("kind", KINDS)
def test_vectorized_sample_moments(kind):
    torch.manual_seed(1)
    weights, mu, covariance = _random(kind, torch.float64)
    _check_moments(weights.sample(40_000), mu, covariance)


@pytest.mark.parametrize("kind", KINDS)
def test_single_rsample_moments(kind):
    torch.manual_seed(2)
    weights, mu, covariance = _random(kind, torch.float64)
    _check_moments(torch.stack([weights.rsample() for _ in range(4000)]).detach(), mu, covariance)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(kind):
    torch.manual_seed(3)
    weights, _, _ = _random(kind)
    coefficients = torch.randn(4)
    ((weights.rsample() * coefficients).sum() + weights.kl()).backward()
    for name, param in weights.named_parameters():
        assert param.grad is not None and torch.isfinite(param.grad).all(), name
        assert (param.grad != 0).any(), name


@pytest.mark.parametrize("kind", KINDS)
def test_kl_is_a_nonnegative_scalar_and_an_optimizer_step_lowers_it(kind):
    weights, _, _ = _random(kind)
    kl = weights.kl()
    assert kl.shape == () and kl.item() >= 0
    optimizer = torch.optim.SGD(weights.parameters(), lr=0.05)
    kl.backward()
    optimizer.step()
    assert weights.kl().item() < kl.item()


@pytest.mark.parametrize("kind", KINDS)
def test_state_dict_round_trip(kind):
    weights, _, _ = _random(kind)
    restored = kind(IDS)
    restored.load_state_dict(weights.state_dict())
    torch.testing.assert_close(restored.mean(), weights.mean())
    torch.testing.assert_close(restored.variance(), weights.variance())
    torch.testing.assert_close(restored.kl(), weights.kl())
    torch.manual_seed(4)
    expected = weights.rsample()
    torch.manual_seed(4)
    torch.testing.assert_close(restored.rsample(), expected)


@pytest.mark.parametrize("kind", KINDS)
def test_select_keeps_the_marginals_in_the_given_order(kind):
    weights, _, _ = _random(kind, torch.float64)
    sub = weights.select(["c3", "c1"])
    assert type(sub) is kind and sub.connection_ids == ("c3", "c1")
    torch.testing.assert_close(sub.mean(), weights.mean().detach()[[3, 1]])
    torch.testing.assert_close(sub.variance(), weights.variance().detach()[[3, 1]])
    with pytest.raises(GraphError):
        weights.select(["c9"])


@pytest.mark.parametrize("kind", KINDS)
def test_extreme_parameters_give_finite_kl_and_gradients(kind):
    mu = torch.tensor([0.0, 1.0, -3.0, 0.0, 2.0, 0.0])
    logs = torch.tensor([-20.0, -20.0, -20.0, 20.0, 20.0, 0.0])  # log-variances
    if kind is GaussianARD:
        weights = GaussianARD.from_params(mu, logs)
    elif kind is FullARD:  # P = diag(σ⁻¹) with a large off-diagonal part: ill-conditioned
        factor = torch.diag(torch.exp(-0.5 * logs)) + 50 * torch.ones(6, 6).tril(-1)
        weights = FullARD.from_params(mu, factor)
    elif kind is StudentT:  # precisions' shapes and rates at both extremes too
        weights = StudentT.from_params(mu, logs, logs, -logs)
    else:  # Laplace variance 2β²
        weights = Laplace.from_params(mu, torch.exp(0.5 * (logs - math.log(2))))
    assert torch.isfinite(weights.variance()).all()
    loss = weights.kl() + weights.rsample().sum()
    assert torch.isfinite(loss)
    loss.backward()
    for name, param in weights.named_parameters():
        assert torch.isfinite(param.grad).all(), name


@pytest.mark.parametrize("kind", KINDS)
def test_weights_drive_a_neck_and_survive_pruning(kind):
    torch.manual_seed(5)
    graph = dense()
    neck = FusionNeck(graph, [4, 8, 16], 8, weights=kind(graph.connection_ids))
    features = [torch.randn(s) for s in backbone_shapes(neck, (64, 64), 2)]
    first = neck(features)["P3"]
    assert not torch.equal(first, neck(features)["P3"])  # a fresh draw per forward pass
    (first.sum() + neck.weights.kl()).backward()  # a run's loss: the task and the KL
    assert all(p.grad is not None for p in neck.weights.parameters())
    samples = neck.weights.sample(3)
    stacked = [torch.cat([f] * 3) for f in features]
    assert neck(stacked, weights=samples)["P3"].shape[0] == 6
    neck.eval()
    assert torch.equal(neck(features)["P3"], neck(features)["P3"])
    keep = select_top(graph, {c: float(i % 7) for i, c in enumerate(graph.connection_ids)}, 9)
    pruned = neck.pruned(keep)
    assert type(pruned.weights) is kind
    assert pruned.weights.connection_ids == pruned.graph.connection_ids


def test_a_family_missing_a_method_fails_when_built_not_when_pruned():
    class NoSelect(VariationalWeights):
        """Everything but `select`."""

        def rsample(self, n=None):
            return torch.ones(len(self))

        def mean(self):
            return torch.ones(len(self))

        def variance(self):
            return torch.zeros(len(self))

        def kl(self):
            return torch.zeros(())

        @classmethod
        def from_params(cls, *args, **kwargs):
            return cls(IDS)

    with pytest.raises(TypeError, match="abstract method 'select'|abstract methods? .*select"):
        NoSelect(IDS)
