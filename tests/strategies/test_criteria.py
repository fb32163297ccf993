"""Pruning criteria, KL units and the optimizer knobs, against independent references."""

import math

import pytest
import torch
from torch.distributions import Laplace as TorchLaplace
from torch.distributions import MultivariateNormal, Normal

from archsearch.errors import ConfigError
from archsearch.graph import dense
from archsearch.neck import FusionNeck
from archsearch.strategies import StrategyRunner, create_strategy
from archsearch.strategies.criteria import CRITERIA, criterion_values
from archsearch.weights import DeterministicWeights, FullARD, GaussianARD, Laplace

D = torch.float64


def _means(graph, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return torch.rand(len(graph.connection_ids), generator=generator, dtype=D) * 2 - 0.5


def test_share_is_each_connection_part_of_its_block_sum():
    """Against a sum over the networkx in-edges of each connection's block."""
    graph = dense()
    means = _means(graph)
    values = criterion_values("share", graph, DeterministicWeights(graph.connection_ids, means))
    relu = dict(zip(graph.connection_ids, means.clamp(min=0).tolist(), strict=True))
    for index, connection in enumerate(graph.connections()):
        inputs = graph.nx.in_edges(connection.target, data="id")
        total = sum(relu[edge_id] for _, _, edge_id in inputs)
        assert values[index].item() == pytest.approx(relu[connection.id] / total, rel=1e-12)


def test_share_ignores_a_scale_common_to_a_block_and_mean_does_not():
    graph = dense()
    means = _means(graph, 1).abs()
    block = graph.connections()[0].target
    scale = torch.tensor([0.01 if c.target == block else 1.0 for c in graph.connections()], dtype=D)
    before, after = (DeterministicWeights(graph.connection_ids, m) for m in (means, means * scale))
    torch.testing.assert_close(
        criterion_values("share", graph, after), criterion_values("share", graph, before)
    )
    assert not torch.allclose(
        criterion_values("mean", graph, after), criterion_values("mean", graph, before)
    )


def test_snr_is_the_squared_mean_over_the_posterior_variance():
    """μ²/σ² with σ² from torch.distributions: Normal, Laplace, the correlated Gaussian's
    marginals (FullARD takes the precision factor P, w = μ + P⁻¹ε: precision PᵀP)."""
    graph = dense()
    ids, n = graph.connection_ids, len(graph.connection_ids)
    mu = _means(graph, 2)
    log_var = torch.linspace(-3, 1, n, dtype=D)
    scale = torch.linspace(0.1, 2, n, dtype=D)
    precision = torch.eye(n, dtype=D) * 2 + torch.tril(torch.full((n, n), 0.05, dtype=D), -1)
    cases = [
        (GaussianARD.from_params(mu, log_var, ids), Normal(mu, (0.5 * log_var).exp()).variance),
        (Laplace.from_params(mu, scale, ids), TorchLaplace(mu, scale).variance),
        (
            FullARD.from_params(mu, precision, ids),
            MultivariateNormal(mu, precision_matrix=precision.T @ precision).variance,
        ),
    ]
    for weights, variance in cases:
        torch.testing.assert_close(criterion_values("snr", graph, weights), mu.square() / variance)


def test_snr_needs_a_posterior():
    graph = dense()
    weights = DeterministicWeights(graph.connection_ids)
    with pytest.raises(ConfigError, match="needs a posterior variance"):
        criterion_values("snr", graph, weights)


@pytest.mark.parametrize("criterion", ["share", "snr"])
def test_a_threshold_round_keeps_exactly_what_its_criterion_keeps(criterion):
    graph = dense()
    ids = graph.connection_ids
    weights = GaussianARD.from_params(_means(graph, 3).float(), torch.zeros(len(ids)), ids)
    neck = FusionNeck(graph, [4, 4, 4], 4, weights)
    strategy = create_strategy("ard", criterion=criterion, rounds=1)
    strategy.setup(graph, total_steps=10, train_images=100)
    values = criterion_values(criterion, graph, weights)
    above = {c for c, v in zip(ids, values.tolist(), strict=True) if v >= strategy.cut}
    keep = strategy.decide(neck, strategy.schedule[0]).keep
    assert strategy.cut == CRITERIA[criterion].threshold
    # a valid neck needs each output fed: what the threshold keeps, or the best valid superset
    assert keep == above or (keep > above and len(keep) == len(above))


def test_the_kl_is_per_training_image_after_the_warm_up():
    graph = dense()
    ids = graph.connection_ids
    weights = GaussianARD.from_params(_means(graph, 4), torch.full((len(ids),), -1.0, dtype=D), ids)
    neck = FusionNeck(graph, [4, 4, 4], 4, weights)
    penalties = {}
    for images in (100, 400):
        strategy = create_strategy("ard", kl_factor=2.0, kl_warmup=0.5)
        strategy.setup(graph, total_steps=10, train_images=images)
        penalties[images] = strategy.penalty(neck, step=5)
        assert strategy.penalty(neck, step=2).item() == pytest.approx(
            0.4 * penalties[images].item()
        )
    expected = 2.0 / 100 * weights.kl()
    torch.testing.assert_close(penalties[100], expected)
    torch.testing.assert_close(penalties[400], expected / 4)


def test_history_records_the_criterion_each_step():
    from tests.strategies.toy import train_toy

    runner, neck, _ = train_toy(create_strategy("ard", criterion="snr"), steps=6)
    history = runner.history
    final = criterion_values("snr", neck.graph, neck.weights)
    recorded = torch.tensor([history.score[c][-1] for c in neck.graph.connection_ids])
    torch.testing.assert_close(recorded, final.float())
    runner, _, _ = train_toy(create_strategy("dense"), steps=2)
    assert all(math.isnan(v) for values in runner.history.score.values() for v in values)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"criterion": "median"}, "criterion: 'median' is not one of 'snr', 'mean', 'share'"),
        ({"connection_optimizer": "rmsprop"}, "connection_optimizer: 'rmsprop' is not one of"),
        ({"connection_lr": -0.1}, "connection_lr: -0.1 is below its minimum 0.0"),
        ({"connection_lr": "fast"}, "connection_lr: 'fast' is not a number"),
        ({"kl_factor": float("nan")}, "kl_factor: nan is not a number"),
    ],
)
def test_bad_values_name_the_strategy_key_and_allowed_values(params, message):
    with pytest.raises(ConfigError, match="strategy 'ard', hyper-parameter " + message):
        create_strategy("ard", **params)


def test_lasso_has_no_snr_and_every_strategy_has_the_optimizer_knobs():
    from archsearch.strategies import get_strategy, list_strategies

    with pytest.raises(ConfigError, match="'snr' is not one of 'mean', 'share'"):
        create_strategy("lasso", criterion="snr")
    for name in list_strategies():
        declared = {p.name for p in get_strategy(name).hyperparameters}
        assert {"connection_optimizer", "connection_lr", "connection_decay"} <= declared, name
    assert create_strategy("ard").params["connection_optimizer"] == "adam"
    assert create_strategy("taylor").params["connection_optimizer"] == "sgd"


def test_runner_passes_the_training_set_size_to_the_strategy():
    strategy = create_strategy("ard")
    runner = StrategyRunner(strategy, dense(), 10, train_images=1600)
    runner.start(runner.build_neck([4, 4, 4], 4))
    assert strategy.train_images == 1600


def test_scaling_one_blocks_posterior_changes_its_means_but_not_the_elbo_nor_snr_and_share():
    """Fast normalized fusion (eq. 1) divides by the block's sum and the ARD KL (eq. 11) is a
    function of μ²/σ²: scaling a block's μ and σ together leaves the sampled neck's output
    (same ε, up to the fusion's ε = 1e-4) and the KL as they were. The posterior means'
    scale is therefore not identified by the bound; SNR and share are invariant."""
    torch.manual_seed(0)
    graph = dense()
    ids = graph.connection_ids
    mu = _means(graph, 5).float().abs() + 0.5
    log_var = torch.full((len(ids),), -2.0)
    block = graph.connections()[0].target
    inside = torch.tensor([c.target == block for c in graph.connections()])
    scale = torch.where(inside, 0.25, 1.0)
    original = GaussianARD.from_params(mu, log_var, ids)
    scaled = GaussianARD.from_params(mu * scale, log_var + 2 * scale.log(), ids)
    neck = FusionNeck(graph, [4, 4, 4], 4, original).train()
    for module in neck.modules():  # fixed statistics: one sample's output, not the batch's
        if isinstance(module, torch.nn.BatchNorm2d):
            module.eval()
    features = [torch.randn(2, 4, s, s) for s in (32, 16, 8)]
    outputs = []
    for weights in (original, scaled):
        neck.weights = weights.train()
        torch.manual_seed(2)  # the same ε for both
        outputs.append(neck(features))
    for level, value in outputs[0].items():
        torch.testing.assert_close(outputs[1][level], value, rtol=1e-3, atol=1e-3)
    torch.testing.assert_close(scaled.kl(), original.kl())
    for name in ("snr", "share"):
        torch.testing.assert_close(
            criterion_values(name, graph, scaled), criterion_values(name, graph, original)
        )
    assert not torch.allclose(
        criterion_values("mean", graph, scaled), criterion_values("mean", graph, original)
    )


@pytest.mark.parametrize("name", ["ard", "fullard", "laplace"])
def test_the_strategy_builds_its_posterior_at_its_initial_scale(name):
    strategy = create_strategy(name, initial_scale=0.05)
    weights = strategy.make_weights(dense().connection_ids)
    variance = 2 * 0.05**2 if name == "laplace" else 0.05**2
    torch.testing.assert_close(weights.variance(), torch.full((63,), variance))
    with pytest.raises(ConfigError, match="initial_scale: 0 is below its minimum"):
        create_strategy(name, initial_scale=0)
