"""Random pruning (Table 3): a seeded random keep-set before training, then plain training."""

from __future__ import annotations

import random

from archsearch.graph import select_top
from archsearch.strategies.base import Decision, HyperParameter, PruningStrategy
from archsearch.strategies.registry import register_strategy


@register_strategy("random")
class RandomPruning(PruningStrategy):
    """Keeps ``target`` connections drawn at random (valid neck guaranteed) at step 0."""

    hyperparameters = (
        HyperParameter("target", 9, "connections to keep", minimum=1, integer=True),
        HyperParameter(
            "seed", 0, "seed of the draw (the same seed, the same architecture)", integer=True
        ),
    )

    def decide(self, neck, step: int) -> Decision | None:
        if step != 0:
            return None
        rng = random.Random(self.params["seed"])
        scores = {connection: rng.random() for connection in neck.graph.connection_ids}
        return Decision(frozenset(select_top(neck.graph, scores, self.params["target"])))
