"""`StrategyRunner`: drives a `PruningStrategy` from any training loop.

The runner owns what every strategy shares: building the neck with the strategy's weights,
applying a `Decision` (prune the graph, recompile the smaller neck, rewind survivors) and
recording the `History`. The detection `Trainer` takes a runner and does all of this; any
other training loop calls::

    runner = StrategyRunner(strategy, graph, total_steps, train_images)
    neck = runner.start(runner.build_neck(in_channels, channels))
    optimizer = connection_optimizer(neck.weights.parameters(), strategy.params, lr)
    for step in range(1, total_steps + 1):
        loss = task_loss + (runner.penalty(neck, step) or 0)
        loss.backward(); optimizer.step()
        smaller = runner.after_step(neck, step)  # the same neck, or a smaller one
        if smaller is not neck:  # keep the optimizer in step with the recompiled neck
            swap_neck_parameters(optimizer, neck, smaller, trainable_parameters)
            neck = smaller
        optimizer.zero_grad()

The runner never touches the optimizer: the loop owns it, builds the connection weights'
one as the strategy declares, and keeps it going across prunings (both in
`archsearch.detection.optimizers`, beside the trainer: `connection_optimizer`, and
`swap_neck_parameters`, which keeps the momentum of every surviving connection).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch

from archsearch.errors import ConfigError
from archsearch.graph import FusionGraph, build_graph, from_dict, to_dict
from archsearch.neck import FusionNeck
from archsearch.neck.catalog import GRAPH, neck_kind
from archsearch.strategies.base import Decision, PruningStrategy
from archsearch.strategies.history import History
from archsearch.strategies.registry import create_strategy
from archsearch.weights import ConnectionWeights


class StrategyRunner:
    """One strategy applied to one graph over ``total_steps`` optimizer steps of a data set
    of ``train_images`` images."""

    def __init__(
        self, strategy: PruningStrategy, graph: FusionGraph, total_steps: int, train_images: int
    ) -> None:
        self.strategy = strategy
        self.initial_graph = graph.validate()
        self.graph = graph
        self.total_steps, self.train_images = total_steps, train_images
        self.history = History.for_connections(graph.connection_ids)
        self.prunings: list[int] = []

    def make_weights(self) -> ConnectionWeights:
        """The strategy's weight object over the current graph's connections."""
        return self.strategy.make_weights(self.graph.connection_ids)

    def build_neck(self, in_channels: Sequence[int], channels: int) -> FusionNeck:
        """The neck of the current graph with the strategy's weight object."""
        return FusionNeck(self.graph, in_channels, channels, self.make_weights())

    def start(self, neck: FusionNeck) -> FusionNeck:
        """Set the strategy up and apply its step-0 decision (e.g. random pruning)."""
        self.strategy.setup(self.graph, self.total_steps, self.train_images)
        neck = self._apply(neck, self.strategy.decide(neck, 0), 0)
        self._record(0, neck)
        return neck

    def penalty(self, neck: FusionNeck, step: int) -> torch.Tensor | None:
        return self.strategy.penalty(neck, step)

    def after_step(self, neck: FusionNeck, step: int) -> FusionNeck:
        """Observe, maybe prune, record; returns the neck to train from now on."""
        self.strategy.observe(neck, step)
        neck = self._apply(neck, self.strategy.decide(neck, step), step)
        self._record(step, neck)
        return neck

    def _record(self, step: int, neck: FusionNeck) -> None:
        self.history.record(step, neck.weights, self.strategy.scores(neck))

    def _apply(self, neck: FusionNeck, decision: Decision | None, step: int) -> FusionNeck:
        unchanged = decision is None or (
            decision.rewind_to is None and decision.keep == set(neck.graph.connection_ids)
        )
        if unchanged:
            return neck
        smaller = neck.pruned(decision.keep)
        if decision.rewind_to is not None:
            early = decision.rewind_to.pruned(smaller.graph.connection_ids)
            smaller.load_state_dict(early.state_dict())
        self.graph = smaller.graph
        self.prunings.append(step)
        return smaller

    def state_dict(self) -> dict[str, Any]:
        """Current graph, history and strategy state: what a resumed run needs first."""
        return {
            "graph": to_dict(self.graph),
            "history": self.history.to_dict(),
            "prunings": list(self.prunings),
            "strategy": self.strategy.state_dict(),
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore; build the neck afterwards (`build_neck` uses the restored graph)."""
        self.graph = from_dict(state["graph"], source="checkpoint")
        self.history = History.from_dict(state["history"])
        self.prunings = list(state["prunings"])
        self.strategy.setup(self.initial_graph, self.total_steps, self.train_images)
        self.strategy.load_state_dict(state["strategy"])


def strategy_runner(
    strategy: str,
    params: Mapping[str, Any],
    neck: str,
    levels: tuple[int, int],
    steps: int,
    train_images: int,
) -> StrategyRunner | None:
    """The runner of ``strategy`` on graph neck ``neck`` for ``steps`` steps over
    ``train_images`` images; None for a module neck, which has no connections to prune, so
    that only strategy ``"dense"`` applies to it. Build the neck with its `make_weights`.
    """
    if neck_kind(neck) != GRAPH:
        if strategy != "dense":
            raise ConfigError(f"neck {neck!r} is no graph: only strategy 'dense' applies")
        return None
    graph = build_graph(neck, levels)
    return StrategyRunner(create_strategy(strategy, **params), graph, steps, train_images)
