"""`PruningStrategy`: the extension point every way of pruning a fusion graph plugs into.

A strategy has a small life cycle that a `StrategyRunner` drives from any training loop:

1. `make_weights`: which connection-weight object the neck uses;
2. `penalty`: the extra loss term at a step (annealed KL, L1, nothing);
3. `observe`: called after each optimizer step, gradients still in place;
4. `decide`: which connections to keep, and when (a `Decision`), possibly rewinding the
   survivors to earlier values (lottery ticket); several pruning rounds are several decisions.

Hyper-parameters are declared as class data (`HyperParameter`, with a default and a tuning
range), so that the CLI lists them, configs are checked against them and a tuner can search
them, for a third-party strategy exactly as for a built-in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import torch

from archsearch.errors import ConfigError
from archsearch.graph import FusionGraph
from archsearch.weights import ConnectionWeights, DeterministicWeights

if TYPE_CHECKING:
    from archsearch.neck import FusionNeck


@dataclass(frozen=True)
class HyperParameter:
    """One knob of a strategy: its default, what it means, and its range for tuning.

    ``low``/``high`` bound a numeric search (``log`` for a log scale); ``choices`` lists the
    values of a categorical one. A parameter with neither is not tuned.
    """

    name: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None

    @property
    def tunable(self) -> bool:
        return self.choices is not None or (self.low is not None and self.high is not None)

    def describe(self) -> str:
        span = ""
        if self.choices is not None:
            span = f" choices {list(self.choices)}"
        elif self.tunable:
            span = f" range [{self.low}, {self.high}]{' log' if self.log else ''}"
        return f"{self.name}={self.default!r}{span}: {self.doc}"


TARGET = HyperParameter("target", None, "connections to keep (None: the method decides)")


@dataclass(frozen=True)
class Decision:
    """Keep these connections now; optionally rewind survivors to the values of ``rewind_to``.

    ``rewind_to`` is a snapshot of the neck (all connections, earlier values): the runner
    prunes it the same way and loads the survivors' values from it.
    """

    keep: frozenset[str]
    rewind_to: FusionNeck | None = None


class PruningStrategy:
    """Base of every strategy. Subclasses override the hooks they need; all have defaults.

    Construct with keyword hyper-parameters (unknown names raise `ConfigError`); read them as
    attributes (``strategy.target``) or all at once in ``strategy.params``.
    """

    name: ClassVar[str] = "strategy"
    hyperparameters: ClassVar[tuple[HyperParameter, ...]] = ()

    def __init__(self, **params: Any) -> None:
        declared = {p.name: p for p in self.hyperparameters}
        unknown = sorted(set(params) - declared.keys())
        if unknown:
            known = ", ".join(declared) or "none"
            raise ConfigError(
                f"strategy {self.name!r} has no hyper-parameter {unknown[0]!r}; known: {known}"
            )
        self.params = {name: params.get(name, p.default) for name, p in declared.items()}
        for name, value in self.params.items():
            setattr(self, name, value)
        self.total_steps = 0

    def setup(self, graph: FusionGraph, total_steps: int) -> None:
        """Called once before training with the initial graph and the step budget."""
        self.total_steps = total_steps

    def make_weights(self, connection_ids: Sequence[str]) -> ConnectionWeights:
        """The weight object of the neck; deterministic scalars unless overridden."""
        return DeterministicWeights(connection_ids)

    def penalty(self, neck: FusionNeck, step: int) -> torch.Tensor | None:
        """An extra loss term at ``step`` (1-based), or None."""
        return None

    def observe(self, neck: FusionNeck, step: int) -> None:
        """Look at the neck after optimizer step ``step``; gradients are still in place."""

    def decide(self, neck: FusionNeck, step: int) -> Decision | None:
        """Connections to keep after ``step`` (0: before training), or None to go on."""
        return None

    def shared_steps(self) -> int:
        """Steps of this run that the ``dense`` run of the same seed trains identically.

        Called after `setup`. Up to this step the run must train exactly as ``dense`` does
        (deterministic weights, no penalty, no decision), and its state must be what `setup`
        and the step-0 decision gave it. The experiment layer then continues the dense
        run's checkpoint at this step instead of training those steps again: the result is
        the same either way. 0 (the default) shares nothing.
        """
        return 0

    def state_dict(self) -> dict[str, Any]:
        """What a resumed run needs to continue exactly (accumulators, snapshots)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of `state_dict`."""

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.params.items())
        return f"{type(self).__name__}({args})"


def pruning_steps(total_steps: int, start: float, rounds: int) -> list[int]:
    """``rounds`` steps spread evenly from ``start`` (a fraction of training) to 90% of it.

    Ending at 90% leaves the last pruned neck some steps to recover before evaluation.
    """
    first = max(1, round(start * total_steps))
    last = max(first, round(0.9 * total_steps))
    if rounds <= 1:
        return [first]
    return sorted({round(first + (last - first) * k / (rounds - 1)) for k in range(rounds)})


def round_counts(initial: int, target: int, rounds: int) -> list[int]:
    """Connections to keep after each of ``rounds`` rounds, geometric from ``initial``.

    Iterative pruning removes the same fraction each round (Frankle & Carbin 2019).
    """
    ratio = (target / initial) ** (1 / rounds)
    counts = [max(target, round(initial * ratio ** (k + 1))) for k in range(rounds)]
    counts[-1] = target
    return counts
