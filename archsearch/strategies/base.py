"""`PruningStrategy`: the extension point every way of pruning a fusion graph plugs into.

A strategy has a small life cycle that a `StrategyRunner` drives from any training loop:

1. `make_weights`: which connection-weight object the neck uses;
2. `penalty`: the extra loss term at a step (annealed KL, L1, nothing);
3. `observe`: called after each optimizer step, gradients still in place;
4. `decide`: which connections to keep, and when (a `Decision`), possibly rewinding the
   survivors to earlier values (lottery ticket); several pruning rounds are several decisions.

Hyper-parameters are declared as class data (`HyperParameter`, with a default and a tuning
range), so that the CLI lists them, configs are checked against them and a tuner can search
them, for a third-party strategy exactly as for a built-in; a strategy reads them from
``self.params``. Each base declares the knobs it reads, and a subclass inherits them: every
strategy has the knobs of the optimizer that trains its connection weights
(`connection_training`), the round bases those of their schedule. A subclass declares only
its own knobs, and a base's knob again where it wants another default or range.
"""

from __future__ import annotations

import math
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
    values of a categorical one. A parameter with neither is not tuned. The validity domain
    is separate from the tuning range (which may be narrower): ``choices`` are the only
    values a parameter takes, ``minimum`` and ``maximum`` bound a numeric one, and an
    ``integer`` one takes whole numbers. `check` enforces them, and that a numeric parameter
    gets a number.
    """

    name: str
    default: Any
    doc: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None
    integer: bool = False

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

    def check(self, value: Any) -> None:
        """`ConfigError` naming this parameter and what it takes when ``value`` is not valid."""
        if self.choices is not None:
            if value not in self.choices:
                allowed = ", ".join(repr(c) for c in self.choices)
                raise ConfigError(f"{self.name}: {value!r} is not one of {allowed}")
            return
        numeric = self.minimum is not None or isinstance(self.default, int | float)
        if value is None or isinstance(self.default, bool) or not numeric:
            return
        if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
            raise ConfigError(f"{self.name}: {_shown(value)} is not a number")
        if self.integer and value != int(value):
            raise ConfigError(f"{self.name}: {value!r} is not a whole number")
        if self.minimum is not None and value < self.minimum:
            raise ConfigError(f"{self.name}: {value!r} is below its minimum {self.minimum}")
        if self.maximum is not None and value > self.maximum:
            raise ConfigError(f"{self.name}: {value!r} is above its maximum {self.maximum}")


def _shown(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters: a value from a file may be huge."""
    text = repr(value) if not isinstance(value, list | dict | tuple) else type(value).__name__
    return text if len(text) <= limit else text[:limit] + "..."


OPTIMIZERS = ("sgd", "adam")


def connection_training(
    optimizer: str = "sgd", lr: float | None = None, decay: float = 0.0
) -> tuple[HyperParameter, ...]:
    """The knobs of the optimizer that trains the connection weights, with these defaults.

    The connection weights (a deterministic vector, or a posterior's means and scales) get
    an optimizer of their own beside the detector's SGD, under the same learning-rate
    schedule: ``connection_lr`` None is the detector's learning rate, and ``"sgd"`` uses the
    detector's momentum. Weight decay defaults to none: for a posterior it would pull the
    variances toward 1 against the KL (the regularizer the method already has), and
    EfficientDet exempts its fusion weights from it too.
    """
    return (
        HyperParameter(
            "connection_optimizer",
            optimizer,
            "optimizer of the connection weights",
            choices=OPTIMIZERS,
        ),
        HyperParameter(
            "connection_lr",
            lr,
            "their learning rate (None: the detector's)",
            low=1e-4,
            high=0.1,
            log=True,
            minimum=0.0,
        ),
        HyperParameter("connection_decay", decay, "their weight decay", minimum=0.0),
    )


TARGET = HyperParameter(
    "target", None, "connections to keep (None: the method decides)", minimum=1, integer=True
)


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

    Construct with keyword hyper-parameters (unknown names raise `ConfigError`); read them
    in ``strategy.params``, every declared knob there, defaults filled in.
    """

    name: ClassVar[str] = "strategy"
    hyperparameters: ClassVar[tuple[HyperParameter, ...]] = connection_training()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Complete a subclass's declaration with its bases' knobs that it does not declare
        itself, after its own and in each base's order."""
        super().__init_subclass__(**kwargs)
        knobs = list(cls.hyperparameters)
        for base in cls.__mro__[1:]:
            declared = {p.name for p in knobs}
            inherited = getattr(base, "hyperparameters", ())
            knobs += [p for p in inherited if p.name not in declared]
        cls.hyperparameters = tuple(knobs)

    def __init__(self, **params: Any) -> None:
        declared = {p.name: p for p in self.hyperparameters}
        unknown = sorted(set(params) - declared.keys())
        if unknown:
            known = ", ".join(declared) or "none"
            raise ConfigError(
                f"strategy {self.name!r} has no hyper-parameter {unknown[0]!r}; known: {known}"
            )
        for name, value in params.items():
            try:
                declared[name].check(value)
            except ConfigError as error:
                raise ConfigError(f"strategy {self.name!r}, hyper-parameter {error}") from None
        self.params = {name: params.get(name, p.default) for name, p in declared.items()}
        self.total_steps, self.train_images = 0, 1

    def setup(self, graph: FusionGraph, total_steps: int, train_images: int) -> None:
        """Called once before training with the initial graph, the step budget and the
        number of training images (the N that per-datum terms such as a KL divide by)."""
        self.total_steps, self.train_images = total_steps, train_images

    def make_weights(self, connection_ids: Sequence[str]) -> ConnectionWeights:
        """The weight object of the neck; deterministic scalars unless overridden."""
        return DeterministicWeights(connection_ids)

    def penalty(self, neck: FusionNeck, step: int) -> torch.Tensor | None:
        """An extra loss term at ``step`` (1-based), or None."""
        return None

    def observe(self, neck: FusionNeck, step: int) -> None:
        """Look at the neck after optimizer step ``step``; gradients are still in place."""

    def scores(self, neck: FusionNeck) -> torch.Tensor | None:
        """The per-connection quantity this strategy prunes by (ordered like
        ``neck.graph.connection_ids``), recorded in the history at every step; None when
        it has none (yet)."""
        return None

    def decide(self, neck: FusionNeck, step: int) -> Decision | None:
        """Connections to keep after ``step`` (0: before training), or None to go on."""
        return None

    def twin(self) -> tuple[str, dict[str, Any]] | None:
        """The strategy and hyper-parameters of the run that this one starts as, or None.

        Taylor and lottery ticket start as ``dense``; a threshold strategy capped by a
        ``target`` starts as itself without the cap. `shared_steps` says for how long.
        """
        return None

    def shared_steps(self) -> int:
        """Steps of this run that its `twin`, of the same seed, trains identically.

        Called after `setup`. Up to this step the run must train exactly as its twin does,
        and its state must be the twin's at that step (when the twin is another strategy:
        what `setup` and the step-0 decision gave it). The experiment layer then continues
        the twin's checkpoint at this step instead of training those steps again: the result
        is the same either way. 0 (the default) shares nothing.
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
