"""Lottery ticket pruning (Frankle & Carbin 2019), applied to connections.

Train dense; at each round remove the lowest-magnitude connections (effective weight
``ReLU(w)``), rewind the survivors (connection weights and block parameters of the neck) to
their values at ``rewind`` (0: initial values; a small fraction: "late resetting"), and
retrain; rounds go geometrically down to ``target``. The rewind point is kept as data (the
neck's graph and parameter tensors), so a checkpoint holding it is read without unpickling
code. Only the neck is rewound (it is what
is pruned), and the optimizer keeps running: Frankle & Carbin restart training of the whole
network instead, which a detector trained once per budget cannot afford.
"""

from __future__ import annotations

import torch.nn.functional as F

from archsearch.graph import from_dict, to_dict
from archsearch.neck import FusionNeck
from archsearch.strategies.base import Decision, HyperParameter
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import RoundsToTarget
from archsearch.strategies.scoring import as_scores


@register_strategy("lottery")
class LotteryTicket(RoundsToTarget):
    """Iterative magnitude pruning with rewinding of the neck's surviving parameters."""

    hyperparameters = (
        HyperParameter("target", 9, "connections to keep", minimum=1, integer=True),
        HyperParameter(
            "prune_start",
            0.4,
            "first round, as a fraction of training",
            0.2,
            0.8,
            minimum=0.0,
            maximum=1.0,
        ),
        HyperParameter(
            "rounds", 3, "train-prune-rewind rounds", low=1, high=6, minimum=1, integer=True
        ),
        HyperParameter(
            "rewind",
            0.0,
            "rewind point, as a fraction of training",
            0.0,
            0.2,
            minimum=0.0,
            maximum=1.0,
        ),
    )

    def setup(self, graph, total_steps: int, train_images: int) -> None:
        super().setup(graph, total_steps, train_images)
        self.rewind_step = round(self.params["rewind"] * total_steps)
        self.snapshot = None

    def shared_steps(self) -> int:
        """Dense training until the rewind point is saved or the first round prunes.

        A rewind point of 0 is saved by the step-0 decision, which the run makes itself.
        """
        first = self.schedule[0]
        if self.rewind_step > 0:
            first = min(first, self.rewind_step)
        return max(0, first - 1)

    def decide(self, neck, step: int) -> Decision | None:
        if step == self.rewind_step and self.snapshot is None:
            state = {name: value.detach().clone() for name, value in neck.state_dict().items()}
            self.snapshot = {"graph": to_dict(neck.graph), "state": state}
        if step not in self.counts:
            return None
        scores = as_scores(neck.graph, F.relu(neck.weights.mean()))
        return Decision(self.keep(neck, scores, step), rewind_to=self._rewind_point(neck))

    def _rewind_point(self, neck: FusionNeck) -> FusionNeck | None:
        """The neck as it was at the rewind step, rebuilt from its saved graph and tensors."""
        if self.snapshot is None:
            return None
        graph = from_dict(self.snapshot["graph"], source="lottery rewind point")
        weights = self.make_weights(graph.connection_ids)
        early = FusionNeck(graph, neck.in_channels, neck.out_channels, weights)
        early.load_state_dict(self.snapshot["state"])
        return early

    def state_dict(self) -> dict:
        return {"snapshot": self.snapshot}

    def load_state_dict(self, state: dict) -> None:
        self.snapshot = state["snapshot"]
