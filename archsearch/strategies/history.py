"""The history every strategy records, built-in or not: the data of Figures 2 and 5.

Per recorded step: the number of active connections, and per connection of the initial
graph the weight mean (and variance, where the weight object has one) and the score the
strategy prunes by (`PruningStrategy.scores`: a threshold strategy's criterion, Taylor's
importance), NaN where it has none. Pruned connections read NaN from then on. The runner
records it, so a strategy does nothing special for it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class History:
    connection_ids: tuple[str, ...]
    steps: list[int] = field(default_factory=list)
    active: list[int] = field(default_factory=list)
    mean: dict[str, list[float]] = field(default_factory=dict)
    variance: dict[str, list[float]] = field(default_factory=dict)
    score: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def for_connections(cls, connection_ids: Sequence[str]) -> History:
        ids = tuple(connection_ids)
        return cls(
            ids,
            mean={c: [] for c in ids},
            variance={c: [] for c in ids},
            score={c: [] for c in ids},
        )

    def record(self, step: int, weights: Any, scores: torch.Tensor | None = None) -> None:
        """Append the state of ``weights`` (a ConnectionWeights object) at ``step``, and the
        strategy's ``scores`` (ordered like the weights) when it has any."""
        with torch.no_grad():
            ids = weights.connection_ids
            means = dict(zip(ids, weights.mean().tolist(), strict=True))
            variance = getattr(weights, "variance", None)
            variances = (
                dict(zip(ids, variance().tolist(), strict=True)) if callable(variance) else {}
            )
            scored = dict(zip(ids, scores.tolist(), strict=True)) if scores is not None else {}
        self.steps.append(step)
        self.active.append(len(weights.connection_ids))
        for connection in self.connection_ids:
            self.mean[connection].append(means.get(connection, math.nan))
            self.variance[connection].append(variances.get(connection, math.nan))
            self.score[connection].append(scored.get(connection, math.nan))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (NaN becomes None)."""

        def clean(values: list[float]) -> list[float | None]:
            return [None if math.isnan(v) else v for v in values]

        return {
            "connection_ids": list(self.connection_ids),
            "steps": self.steps,
            "active": self.active,
            "mean": {c: clean(v) for c, v in self.mean.items()},
            "variance": {c: clean(v) for c, v in self.variance.items()},
            "score": {c: clean(v) for c, v in self.score.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> History:
        """Inverse of `to_dict`; a history recorded before scores were has NaN scores."""

        def restore(values: list[float | None]) -> list[float]:
            return [math.nan if v is None else v for v in values]

        unscored = {c: [None] * len(data["steps"]) for c in data["connection_ids"]}
        return cls(
            tuple(data["connection_ids"]),
            list(data["steps"]),
            list(data["active"]),
            {c: restore(v) for c, v in data["mean"].items()},
            {c: restore(v) for c, v in data["variance"].items()},
            {c: restore(v) for c, v in data.get("score", unscored).items()},
        )

    def to_frame(self):
        """Long-format pandas DataFrame: step, connection, mean, variance, score, active."""
        import pandas as pd

        rows = [
            (step, c, self.mean[c][i], self.variance[c][i], self.score[c][i], self.active[i])
            for i, step in enumerate(self.steps)
            for c in self.connection_ids
        ]
        columns = ["step", "connection", "mean", "variance", "score", "active"]
        return pd.DataFrame(rows, columns=columns)
