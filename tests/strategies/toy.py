"""A toy task that trains a tiny fusion neck in seconds: recover a planted wiring.

A *teacher* neck over the dense P3–P7 graph has weight 0 on every connection leaving the
input maps of the noise levels, and weight 1 elsewhere: only the signal levels' inputs
(default P3) reach its blocks. A *student* starts from the teacher's block and lateral
parameters but with every connection weight at its strategy's initial value, and learns to
match the teacher on random backbone maps. Only the wiring differs, so the loss is driven by
exactly what a pruning strategy must find: which input levels carry the signal. BatchNorm
uses fixed statistics in both, so the student can match the teacher exactly.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from archsearch.detection.optimizers import connection_optimizer, swap_neck_parameters
from archsearch.graph import dense, input_name
from archsearch.neck import FusionNeck, backbone_shapes
from archsearch.strategies import PruningStrategy, StrategyRunner
from archsearch.weights import DeterministicWeights

CHANNELS = 8
IN_CHANNELS = [8, 8, 8]
SIZE = (64, 64)


def source_level(connection: str) -> int | None:
    """The level of a connection leaving an input map, else None."""
    source = connection.split("->")[0]
    return int(source[1]) if source.endswith("_in") else None


class PlantedWiring:
    def __init__(self, signal_levels=(3,), seed: int = 0) -> None:
        torch.manual_seed(seed)
        graph = dense()
        self.noise = {input_name(level) for level in graph.level_range} - {
            input_name(level) for level in signal_levels
        }
        values = torch.tensor(
            [0.0 if c.split("->")[0] in self.noise else 1.0 for c in graph.connection_ids]
        )
        weights = DeterministicWeights(graph.connection_ids, values)
        self.teacher = FusionNeck(graph, IN_CHANNELS, CHANNELS, weights).eval()
        for module in self.teacher.modules():  # blocks loud enough to dominate the residuals
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.data.fill_(4.0)
        self.generator = torch.Generator().manual_seed(seed + 1)

    def initialise(self, student: FusionNeck) -> None:
        """Copy the teacher's parameters, except the connection weights, into the student,
        and freeze them: the wiring is all there is to learn."""
        own = {k: v for k, v in self.teacher.state_dict().items() if not k.startswith("weights")}
        student.load_state_dict(own, strict=False)
        for name, param in student.named_parameters():
            param.requires_grad_(name.startswith("weights."))
        for module in student.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.eval()

    def loss(self, student: FusionNeck, batch: int = 4) -> torch.Tensor:
        shapes = backbone_shapes(student, SIZE, batch)
        features = [torch.randn(s, generator=self.generator) for s in shapes]
        with torch.no_grad():
            target = self.teacher(features)
        out = student(features)
        return sum(F.mse_loss(out[k], target[k]) for k in out)


def train_toy(
    strategy: PruningStrategy,
    steps: int = 120,
    seed: int = 0,
    lr: float = 0.05,
    train_images: int = 1000,
):
    """Train a student P3–P7 dense neck under ``strategy``, its connection weights by the
    optimizer the strategy declares (the trainer's `connection_optimizer`; ``lr`` is the
    "detector's" learning rate); return (runner, neck, losses). ``train_images`` is the N
    a KL is divided by: the toy draws fresh maps every step."""
    task = PlantedWiring(seed=seed)
    runner = StrategyRunner(strategy, dense(), steps, train_images)
    neck = runner.build_neck(IN_CHANNELS, CHANNELS)
    task.initialise(neck)
    neck = runner.start(neck)
    optimizer = connection_optimizer(neck.weights.parameters(), strategy.params, lr)
    losses = []
    for step in range(1, steps + 1):
        loss = task.loss(neck)
        penalty = runner.penalty(neck, step)
        optimizer.zero_grad()
        (loss if penalty is None else loss + penalty).backward()
        optimizer.step()
        smaller = runner.after_step(neck, step)
        if smaller is not neck:
            params = [p for p in smaller.parameters() if p.requires_grad]
            swap_neck_parameters(optimizer, neck, smaller, params)
            neck = smaller
        losses.append(loss.item())
    return runner, neck, losses
