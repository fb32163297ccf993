"""Every built-in strategy on the planted-wiring toy: targets, recompilation, history."""

import math

import pytest
import torch

from archsearch.errors import ConfigError
from archsearch.strategies import create_strategy, list_strategies
from tests.strategies.toy import source_level, train_toy

STEPS = 60
TARGETED = {"random": 9, "taylor": 9, "lottery": 9}


@pytest.fixture(scope="module")
def runs():
    return {name: train_toy(create_strategy(name), steps=STEPS) for name in list_strategies()}


def test_every_builtin_is_registered():
    assert set(list_strategies()) >= {
        "dense",
        "random",
        "lasso",
        "taylor",
        "lottery",
        "ard",
        "fullard",
        "laplace",
        "student_t",
        "log_normal",
        "horseshoe",
    }


@pytest.mark.parametrize("name, target", sorted(TARGETED.items()))
def test_targeted_strategies_reach_their_target(runs, name, target):
    _, neck, losses = runs[name]
    assert len(neck.graph.connection_ids) == target
    assert all(math.isfinite(loss) for loss in losses)


def test_dense_never_prunes(runs):
    runner, neck, _ = runs["dense"]
    assert runner.prunings == [] and len(neck.graph.connection_ids) == 63


def _weights_with_means(name, connection_ids, means):
    from archsearch.weights import DeterministicWeights, FullARD, GaussianARD, Laplace

    n = len(connection_ids)
    return {
        "lasso": lambda: DeterministicWeights(connection_ids, means),
        "ard": lambda: GaussianARD.from_params(means, torch.zeros(n), connection_ids),
        "fullard": lambda: FullARD.from_params(means, torch.eye(n), connection_ids),
        "laplace": lambda: Laplace.from_params(means, torch.ones(n), connection_ids),
    }[name]()


@pytest.mark.parametrize("name", ["lasso", "ard", "fullard", "laplace"])
@pytest.mark.parametrize("target", [None, 7])
def test_threshold_strategies_keep_exactly_the_means_above_the_threshold(name, target):
    from archsearch.graph import dense
    from archsearch.neck import FusionNeck

    graph = dense()
    high = {f"P{lv}_in->P{lv}_bu" for lv in range(3, 8)} | {"P3_in->P3_td", "P3_td->P3_bu"}
    high |= {"P4_in->P4_td", "P4_td->P4_bu"}
    means = torch.tensor([1.0 if c in high else 0.05 for c in graph.connection_ids])
    weights = _weights_with_means(name, graph.connection_ids, means)
    neck = FusionNeck(graph, [4, 4, 4], 4, weights)
    strategy = create_strategy(name, threshold=0.1, rounds=1, target=target)
    strategy.setup(graph, total_steps=10, train_images=100)
    assert strategy.decide(neck, strategy.schedule[0] - 1) is None
    decision = strategy.decide(neck, strategy.schedule[0])
    if target is None:
        assert decision.keep == high
    else:  # the cap keeps the best-scored valid neck of that size
        assert len(decision.keep) == target and decision.keep <= high


def test_pruned_neck_is_recompiled_smaller_and_training_continues(runs):
    runner, neck, losses = runs["taylor"]
    assert len(runner.prunings) >= 2
    assert len(neck.blocks) <= 10 and len(neck.weights) == 9
    after = losses[runner.prunings[-1] :]
    assert after and all(math.isfinite(loss) for loss in after)
    assert set(neck.blocks) == set(neck.graph.nodes("block"))


def test_history_has_the_same_shape_for_every_strategy(runs):
    shapes = set()
    for name, (runner, neck, _) in runs.items():
        history = runner.history
        assert history.steps == list(range(STEPS + 1)), name
        assert len(history.mean) == 63 and len(history.active) == STEPS + 1
        assert history.active[-1] == len(neck.graph.connection_ids)
        for connection in history.connection_ids:
            pruned = connection not in neck.graph.connection_ids
            assert math.isnan(history.mean[connection][-1]) == pruned
        shapes.add((len(history.steps), len(history.mean), len(history.variance)))
        frame = history.to_frame()
        assert len(frame) == 63 * (STEPS + 1)
    assert len(shapes) == 1


def test_variational_history_records_variances(runs):
    runner, _, _ = runs["ard"]
    first = runner.history.variance[runner.history.connection_ids[0]][0]
    assert first == pytest.approx(runner.strategy.params["initial_scale"] ** 2)  # σ² at the start
    runner, _, _ = runs["dense"]
    assert math.isnan(runner.history.variance[runner.history.connection_ids[0]][0])


def test_random_pruning_is_seeded():
    keeps = [
        train_toy(create_strategy("random", seed=s), steps=2)[1].graph.connection_ids
        for s in (0, 0, 1)
    ]
    assert keeps[0] == keeps[1] != keeps[2]


def test_unknown_hyperparameter_and_strategy_are_config_errors():
    with pytest.raises(ConfigError, match="has no hyper-parameter 'lamda'; known: lam"):
        create_strategy("lasso", lamda=1.0)
    with pytest.raises(ConfigError, match="unknown strategy 'nope'; known: .*ard"):
        create_strategy("nope")


@pytest.mark.parametrize(
    ("name", "knobs", "most_noise"),
    [
        ("ard", {}, 6),
        # A fixed Cauchy prior (ν = 1) pulls less than ARD's optimal one: from σ₀ = 1 it keeps
        # the signal and prunes most of the rest, from the narrow default it loses signal.
        ("student_t", {"dof": 1.0, "initial_scale": 1.0}, 11),
        ("horseshoe", {}, 6),
    ],
)
def test_priors_recover_the_planted_signal_levels(name, knobs, most_noise):
    """Only P3's input carries the teacher's signal: the prior keeps its connections and
    prunes most connections leaving the other input levels (seeded)."""
    strategy = create_strategy(
        name,
        kl_factor=0.1,
        prune_start=0.6,
        rounds=3,
        threshold=0.1,
        connection_lr=0.05,
        **knobs,
    )
    runner, neck, _ = train_toy(strategy, steps=150, seed=0)
    kept = neck.graph.connection_ids
    signal = [c for c in kept if source_level(c) == 3]
    noise = [c for c in kept if source_level(c) not in (None, 3)]
    assert len(signal) >= 5  # of 6
    assert len(noise) <= most_noise  # of 24
    step = runner.history.steps.index(80)  # before the first pruning round
    ids, mean = runner.history.connection_ids, runner.history.mean
    signal_mean = sum(mean[c][step] for c in ids if source_level(c) == 3) / 6
    noise_mean = sum(mean[c][step] for c in ids if source_level(c) not in (None, 3)) / 24
    assert signal_mean > 5 * noise_mean


def test_optimizer_state_follows_the_surviving_connections():
    from archsearch.detection.optimizers import swap_neck_parameters
    from archsearch.graph import dense, select_top
    from archsearch.neck import FusionNeck

    torch.manual_seed(0)
    neck = FusionNeck(dense(), [4, 4, 4], 4)
    optimizer = torch.optim.SGD(neck.parameters(), lr=0.1, momentum=0.9)
    features = [torch.randn(2, 4, s, s) for s in (8, 4, 2)]
    sum(v.sum() for v in neck(features).values()).backward()
    optimizer.step()
    old_buffer = optimizer.state[neck.weights.values]["momentum_buffer"].clone()
    keep = select_top(neck.graph, dict.fromkeys(neck.graph.connection_ids, 1.0), 20)
    smaller = neck.pruned(keep)
    swap_neck_parameters(optimizer, neck, smaller, list(smaller.parameters()))
    kept = neck.weights.indices(smaller.weights.connection_ids)
    new_buffer = optimizer.state[smaller.weights.values]["momentum_buffer"]
    assert torch.equal(new_buffer, old_buffer[kept])
    params = [p for group in optimizer.param_groups for p in group["params"]]
    assert {id(p) for p in params} == {id(p) for p in smaller.parameters()}
    lateral = next(smaller.laterals.parameters())
    assert "momentum_buffer" in optimizer.state[lateral]  # survived by identity


def test_optimizer_state_of_a_shared_parameter_carries_over_whole():
    """The horseshoe's global scale belongs to every connection: its Adam state survives a
    pruning round as it is, while the local scales' state follows the kept connections."""
    from archsearch.detection.optimizers import swap_neck_parameters
    from archsearch.graph import dense, select_top
    from archsearch.neck import FusionNeck
    from archsearch.weights import Horseshoe

    torch.manual_seed(0)
    graph = dense()
    neck = FusionNeck(graph, [4, 4, 4], 4, Horseshoe(graph.connection_ids, 0.1))
    optimizer = torch.optim.Adam(neck.parameters(), lr=0.01)
    features = [torch.randn(2, 4, s, s) for s in (8, 4, 2)]
    (sum(v.sum() for v in neck(features).values()) + neck.weights.kl()).backward()
    optimizer.step()
    old = {
        name: optimizer.state[p]["exp_avg"].clone() for name, p in neck.weights.named_parameters()
    }
    keep = select_top(graph, dict.fromkeys(graph.connection_ids, 1.0), 5)
    smaller = neck.pruned(keep)
    swap_neck_parameters(optimizer, neck, smaller, list(smaller.parameters()))
    kept = neck.weights.indices(smaller.weights.connection_ids)
    state = {name: optimizer.state[p]["exp_avg"] for name, p in smaller.weights.named_parameters()}
    assert torch.equal(state["global_"], old["global_"])
    assert torch.equal(state["alpha_m"], old["alpha_m"][kept])
