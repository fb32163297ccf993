"""Taylor importance pruning (Molchanov et al. 2019), applied to connections.

The importance of connection i is the squared first-order Taylor estimate of the change in
loss if its weight were removed, ``(∂L/∂w_i · w_i)²``, accumulated over the steps before a
pruning round. After the dense model has trained (``prune_start``), each round removes the
least important connections, geometrically down to ``target``.
"""

from __future__ import annotations

import torch

from archsearch.strategies.base import Decision, HyperParameter
from archsearch.strategies.registry import register_strategy
from archsearch.strategies.rounds import RoundsToTarget, round_knobs
from archsearch.strategies.scoring import as_scores


def taylor_importance(weights: torch.nn.Module) -> torch.Tensor:
    """``(grad · w)²`` per connection for a deterministic weight object, after backward."""
    values = weights.values
    if values.grad is None:
        return torch.zeros_like(values)
    return (values.grad * values).detach().square()


@register_strategy("taylor")
class Taylor(RoundsToTarget):
    """Iterative removal of the connections of least accumulated Taylor importance.

    Importance is accumulated from ``window`` (a fraction of training) before each round,
    and reset after it. The weights used are those after the optimizer step, an O(lr)
    difference from the ones the gradient was taken at.
    """

    hyperparameters = (
        *round_knobs(prune_start=0.5, rounds=4),
        HyperParameter(
            "window",
            0.1,
            "steps accumulated before a round (fraction)",
            0.02,
            0.3,
            minimum=0.0,
            maximum=1.0,
        ),
    )

    def setup(self, graph, total_steps: int, train_images: int) -> None:
        super().setup(graph, total_steps, train_images)
        self.importance: torch.Tensor | None = None

    @property
    def window_steps(self) -> int:
        return max(1, round(self.params["window"] * self.total_steps))

    def shared_steps(self) -> int:
        """Until the first importance window opens, Taylor trains the dense model."""
        return max(0, self.schedule[0] - self.window_steps - 1)

    def observe(self, neck, step: int) -> None:
        upcoming = [s for s in self.schedule if s >= step]
        if not upcoming or step < upcoming[0] - self.window_steps:
            return
        current = taylor_importance(neck.weights)
        self.importance = current if self.importance is None else self.importance + current

    def scores(self, neck) -> torch.Tensor | None:
        """The importance accumulated in the current window (None outside a window)."""
        return self.importance

    def decide(self, neck, step: int) -> Decision | None:
        if step not in self.counts or self.importance is None:
            return None
        scores = as_scores(neck.graph, self.importance)
        self.importance = None
        return Decision(self.keep(neck, scores, step))

    def state_dict(self) -> dict:
        return {"importance": self.importance}

    def load_state_dict(self, state: dict) -> None:
        self.importance = state["importance"]
