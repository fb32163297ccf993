"""What a tuning study optimises: validation AP, alone or against the neck's cost.

``latency`` is the inference time of the trained neck alone, measured by the detector's own
`time_inference` on fixed backbone-shaped maps (the pruned wiring is what a strategy
changes; the backbone and heads are the same for every trial). ``gflops`` is the
deterministic alternative, for machines too noisy to time on. ``connections`` counts what
the neck kept: tuned on AP alone, a strategy that prunes by its threshold without a target
finds that pruning nothing scores best, so its tune needs the count as a second objective
(the Pareto front of AP against connections).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from archsearch.detection.evaluate import time_inference
from archsearch.errors import ConfigError
from archsearch.neck import backbone_shapes
from archsearch.reporting.records import RunRecord


@dataclass(frozen=True)
class Objective:
    """One value of a trial: its name on the command line, direction and axis label."""

    name: str
    direction: str
    label: str


OBJECTIVES = {
    "ap": Objective("ap", "maximize", "validation box AP"),
    "latency": Objective("latency", "minimize", "neck inference time (ms)"),
    "gflops": Objective("gflops", "minimize", "neck GFLOPs"),
    "connections": Objective("connections", "minimize", "connections kept"),
}
LATENCY_REPEATS = 20


def parse_objectives(text: str) -> tuple[Objective, ...]:
    """``"ap"`` or ``"ap,latency"`` as objectives; `ConfigError` naming a bad one.

    AP comes first and is required: a tune that ignores accuracy has nothing to tune.
    """
    names = [name.strip() for name in text.split(",") if name.strip()]
    for name in names:
        if name not in OBJECTIVES:
            known = ", ".join(OBJECTIVES)
            raise ConfigError(f"--objectives: unknown objective {name!r}; known: {known}")
    if not names or names[0] != "ap" or len(set(names)) != len(names):
        raise ConfigError(f"--objectives {text!r}: 'ap' first, then distinct cost objectives")
    return tuple(OBJECTIVES[name] for name in names)


def objective_values(
    objectives: Sequence[Objective], record: RunRecord, neck_ms: float | None
) -> list[float]:
    """The trial's value of each objective, from the run's record and the neck's latency."""
    found = {
        "ap": record.metrics["AP"],
        "latency": neck_ms,
        "gflops": record.neck_gflops,
        "connections": record.connections,
    }
    return [float(found[objective.name]) for objective in objectives]


def values_text(objectives: Sequence[Objective], values: Sequence[float]) -> str:
    """``"ap 0.512, latency 3.1"``: a trial's values for logs and comments."""
    return ", ".join(f"{o.name} {v:.4g}" for o, v in zip(objectives, values, strict=True))


class _FixedInputs(nn.Module):
    """A neck behind a detector's calling convention, fed the same maps every call."""

    def __init__(self, neck: nn.Module, features: list[torch.Tensor]) -> None:
        super().__init__()
        self.neck, self.features = neck, features

    def forward(self, images: list[torch.Tensor]) -> object:
        return self.neck(self.features)


def neck_latency_ms(
    neck: nn.Module, image_size: tuple[int, int], repeats: int = LATENCY_REPEATS
) -> float:
    """Median milliseconds of one forward pass of ``neck`` for an image of ``image_size``."""
    device = next(neck.parameters()).device
    generator = torch.Generator().manual_seed(0)
    shapes = backbone_shapes(neck, image_size)
    features = [torch.randn(shape, generator=generator).to(device) for shape in shapes]
    was_training = neck.training
    timed = _FixedInputs(neck, features)
    timing = time_inference(timed, [torch.zeros(1)], repeats=repeats, device=device)
    neck.train(was_training)
    return timing.median_ms
