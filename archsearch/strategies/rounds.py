"""Bases of the strategies that prune in rounds: one setup and one decision rule each.

`ThresholdRounds` (Lasso and the variational priors) drops the connections whose pruning
criterion (`archsearch.strategies.criteria`) is under ``threshold`` at each round, capping
the count at ``target`` at the last; its subclasses declare `threshold_knobs`.
`RoundsToTarget` (Taylor, lottery ticket) keeps geometrically fewer connections at each
round, down to ``target``, by the scores its subclass's `decide` ranks them by. Each base
declares the knobs it reads (`threshold_knobs`, `round_knobs`); a subclass inherits them,
or declares one again for another default.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from typing import Any

import torch

from archsearch.graph import FusionGraph, select_top
from archsearch.strategies.base import (
    TARGET,
    Decision,
    HyperParameter,
    PruningStrategy,
    connection_training,
    pruning_steps,
    round_counts,
)
from archsearch.strategies.criteria import criterion_values, threshold_of
from archsearch.strategies.scoring import as_scores, keep_above


def threshold_knobs(criteria: tuple[str, ...], rounds: int) -> tuple[HyperParameter, ...]:
    """The hyper-parameters `ThresholdRounds` reads: ``criteria`` are the strategy's
    choices (the first is the default), ``rounds`` its default number of rounds."""
    return (
        HyperParameter("criterion", criteria[0], "what the threshold cuts", choices=criteria),
        HyperParameter(
            "threshold",
            None,
            "prune under this (None: the criterion's default)",
            low=0.005,
            high=0.5,
            log=True,
            minimum=0.0,
        ),
        *_schedule(prune_start=0.3, earliest=0.1, rounds=rounds),
        TARGET,
    )


def round_knobs(prune_start: float, rounds: int) -> tuple[HyperParameter, ...]:
    """The hyper-parameters `RoundsToTarget` reads, with these defaults."""
    return (
        HyperParameter("target", 9, "connections to keep", minimum=1, integer=True),
        *_schedule(prune_start, earliest=0.2, rounds=rounds),
    )


def _schedule(prune_start: float, earliest: float, rounds: int) -> tuple[HyperParameter, ...]:
    """``prune_start`` (tuned from ``earliest`` to 0.8 of training) and ``rounds``."""
    return (
        HyperParameter(
            "prune_start",
            prune_start,
            "first round, as a fraction of training",
            earliest,
            0.8,
            minimum=0.0,
            maximum=1.0,
        ),
        HyperParameter("rounds", rounds, "pruning rounds", low=1, high=8, minimum=1, integer=True),
    )


class ThresholdRounds(PruningStrategy):
    """Rounds from ``prune_start`` that keep the connections whose ``criterion`` reaches
    ``threshold``; the last round also caps the count at ``target`` when it is set."""

    hyperparameters = threshold_knobs(("mean", "share"), rounds=3)

    def setup(self, graph: FusionGraph, total_steps: int, train_images: int) -> None:
        super().setup(graph, total_steps, train_images)
        knobs = self.params
        self.schedule = pruning_steps(total_steps, knobs["prune_start"], knobs["rounds"])
        self.cut = threshold_of(knobs)

    def twin(self) -> tuple[str, dict[str, Any]] | None:
        """Capped, this run is the uncapped one until its last round."""
        if self.params["target"] is None:
            return None
        return self.name, {**self.params, "target": None}

    def shared_steps(self) -> int:
        return max(0, self.schedule[-1] - 1) if self.params["target"] is not None else 0

    def scores(self, neck) -> torch.Tensor:
        return criterion_values(self.params["criterion"], neck.graph, neck.weights)

    def decide(self, neck, step: int) -> Decision | None:
        if step not in self.schedule:
            return None
        cap = self.params["target"] if step == self.schedule[-1] else None
        scores = as_scores(neck.graph, self.scores(neck))
        return Decision(keep_above(neck.graph, scores, self.cut, cap))


class RoundsToTarget(PruningStrategy, abc.ABC):
    """Rounds from ``prune_start`` whose kept counts fall geometrically to ``target``:
    ``counts`` maps each round's step to the connections it keeps. A subclass ranks the
    connections (`decide`, with `keep`)."""

    hyperparameters = round_knobs(prune_start=0.5, rounds=4)

    def setup(self, graph: FusionGraph, total_steps: int, train_images: int) -> None:
        super().setup(graph, total_steps, train_images)
        knobs = self.params
        self.schedule = pruning_steps(total_steps, knobs["prune_start"], knobs["rounds"])
        rounds = len(self.schedule)
        counts = round_counts(len(graph.connection_ids), knobs["target"], rounds)
        self.counts = dict(zip(self.schedule, counts, strict=True))

    @abc.abstractmethod
    def decide(self, neck, step: int) -> Decision | None:
        """This round's connections to keep (`keep` by the subclass's scores), or None."""

    def twin(self) -> tuple[str, dict[str, Any]]:
        """``dense`` with this run's connection training: what Taylor and lottery start as
        (their `shared_steps` say until when; a subclass that trains otherwise shares none)."""
        return "dense", {p.name: self.params[p.name] for p in connection_training()}

    def keep(self, neck, scores: Mapping[str, float], step: int) -> frozenset[str]:
        """The best neck of this round's count that still holds one of ``target``."""
        count, target = self.counts[step], self.params["target"]
        return frozenset(select_top(neck.graph, scores, count, then=target))
