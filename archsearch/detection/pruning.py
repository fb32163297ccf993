"""A pruning strategy as the trainer's hooks: `StrategyRunner` on a detector's neck."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from archsearch.detection.profiles import Profile, detector_from_profile
from archsearch.detection.train import TrainHooks
from archsearch.errors import ConfigError
from archsearch.graph import build_graph
from archsearch.neck.catalog import GRAPH, neck_kind
from archsearch.strategies import StrategyRunner, create_strategy
from archsearch.weights import ConnectionWeights


def strategy_setup(
    strategy: str,
    params: Mapping[str, Any],
    neck: str,
    levels: tuple[int, int],
    steps: int,
    train_images: int,
) -> tuple[StrategyRunner | None, ConnectionWeights | None]:
    """The runner of ``strategy`` on graph neck ``neck`` for ``steps`` steps over
    ``train_images`` images, and the weight object it gives the neck (build the detector with
    it); ``(None, None)`` for a module neck, which has no connections to prune, so that only
    strategy ``"dense"`` applies to it.
    """
    if neck_kind(neck) != GRAPH:
        if strategy != "dense":
            raise ConfigError(f"neck {neck!r} is no graph: only strategy 'dense' applies")
        return None, None
    graph = build_graph(neck, levels)
    runner = StrategyRunner(create_strategy(strategy, **params), graph, steps, train_images)
    return runner, runner.strategy.make_weights(graph.connection_ids)


class StrategyHooks(TrainHooks):
    """Adds the strategy's penalty to the loss and lets it prune the neck after each step.

    Call `start` once on the detector before building the `Trainer`: a strategy that prunes
    at step 0 (random) changes the neck, and the optimizer must see the smaller one.
    """

    def __init__(self, runner: StrategyRunner) -> None:
        self.runner = runner
        self._drawn: tuple[str, ...] | None = None  # the connections last drawn

    def start(self, model: nn.Module) -> None:
        model.backbone.neck = self.runner.start(model.backbone.neck)

    def loss(self, model: nn.Module, step: int) -> torch.Tensor | None:
        return self.runner.penalty(model.backbone.neck, step)

    def after_step(self, model: nn.Module, step: int) -> None:
        model.backbone.neck = self.runner.after_step(model.backbone.neck, step)

    def connection_settings(self) -> Mapping[str, Any]:
        return self.runner.strategy.params

    def observations(self, model: nn.Module, step: int) -> Mapping[str, Any]:
        """Active connections, the strategy's scores (its criterion) and, when the neck
        changed since last drawn (a pruning round, or the start), its architecture."""
        neck = model.backbone.neck
        values: dict[str, Any] = {"connections/active": len(neck.graph.connection_ids)}
        scores = self.runner.strategy.scores(neck)
        if scores is not None:
            values["connections/scores"] = scores
        if neck.graph.connection_ids != self._drawn:
            # imported here: matplotlib is slow to load, and only a run with a board draws
            from archsearch.reporting import architecture_figure

            weights = dict(
                zip(neck.graph.connection_ids, neck.weights.mean().tolist(), strict=True)
            )
            figure = architecture_figure(
                self.runner.initial_graph, neck.graph, weights, f"step {step}"
            )
            values["architecture"] = figure
            self._drawn = neck.graph.connection_ids
        return values

    def state_dict(self) -> dict[str, Any]:
        return self.runner.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.runner.load_state_dict(state)


def detector_with_strategy(
    profile: Profile,
    kind: str,
    neck: str,
    num_classes: int,
    strategy: str,
    params: Mapping[str, Any],
    steps: int,
    train_images: int,
    seed: int,
) -> tuple[nn.Module, StrategyHooks | None]:
    """A run's detector, initialised from ``seed``, with its strategy's weight object, and
    the strategy's hooks (None for a module neck); ``steps`` and ``train_images`` are the
    training budget and the size of the training set.

    Call ``hooks.start(model)`` before training: a strategy that prunes at step 0 (random)
    changes the neck there.
    """
    torch.manual_seed(seed)
    runner, weights = strategy_setup(strategy, params, neck, profile.levels, steps, train_images)
    model = detector_from_profile(profile, kind, neck, num_classes, weights)
    return model, StrategyHooks(runner) if runner is not None else None
