"""TensorBoard event files beside a run's checkpoint, when TensorBoard is installed.

Optional (``pip install -e ".[tensorboard]"``): without it `open_board` gives None and a run
writes what it always wrote. With it, a run writes ``OUT/tensorboard/``: its losses and
learning rate every step, what its strategy sees (`Board.strategy_values`: active connections,
the pruning criterion's histogram, the architecture at the start and at each pruning round)
and its AP at each evaluation, so that ``tensorboard --logdir runs/`` shows every run of a
study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

if TYPE_CHECKING:
    from archsearch.neck import FusionNeck
    from archsearch.strategies import StrategyRunner

BOARD = "tensorboard"  # the folder of event files inside a run folder


class Board:
    """One run's event files; `log` picks the summary by the value's kind."""

    def __init__(self, folder: Path, purge_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # a resumed run drops what the killed one logged after its checkpoint
        self.writer = SummaryWriter(str(folder / BOARD), purge_step=purge_step or None)
        self._drawn: tuple[str, ...] | None = None  # the connections last drawn

    def strategy_values(
        self, runner: StrategyRunner, neck: FusionNeck, step: int
    ) -> dict[str, Any]:
        """What `log` shows of the strategy: active connections, its scores (its criterion)
        and, when the neck changed since last drawn (the start, a pruning round), its
        architecture."""
        values: dict[str, Any] = {"connections/active": len(neck.graph.connection_ids)}
        scores = runner.strategy.scores(neck)
        if scores is not None:
            values["connections/scores"] = scores
        if neck.graph.connection_ids != self._drawn:
            # imported here: matplotlib is slow to load, and only a run with a board draws
            from archsearch.reporting import architecture_figure

            means = neck.weights.mean().tolist()
            weights = dict(zip(neck.graph.connection_ids, means, strict=True))
            title = f"step {step}"
            values["architecture"] = architecture_figure(
                runner.initial_graph, neck.graph, weights, title
            )
            self._drawn = neck.graph.connection_ids
        return values

    def log(self, values: Mapping[str, Any], step: int) -> None:
        """Numbers as scalars, tensors of several values as histograms, matplotlib figures
        as images."""
        for tag, value in values.items():
            if hasattr(value, "savefig"):
                self.writer.add_figure(tag, value, step)
            elif torch.is_tensor(value) and value.numel() > 1:
                finite = value.detach().float().flatten()
                self.writer.add_histogram(tag, finite[torch.isfinite(finite)], step)
            elif isinstance(value, int | float) and math.isfinite(value):
                self.writer.add_scalar(tag, value, step)
        self.writer.flush()


def open_board(folder: Path | None, purge_step: int = 0) -> Board | None:
    """A `Board` in ``folder``; None without a folder or without TensorBoard installed."""
    if folder is None:
        return None
    try:
        return Board(folder, purge_step)
    except ImportError:  # the optional extra is not installed
        return None
