"""TensorBoard event files beside a run's checkpoint, when TensorBoard is installed.

Optional (``pip install -e ".[tensorboard]"``): without it `open_board` gives None and a run
writes what it always wrote. With it, a run writes ``OUT/tensorboard/``: its losses and
learning rate every step, what its strategy observes (`TrainHooks.observations`: active
connections, the pruning criterion's histogram, the architecture at each pruning round) and
its AP at each evaluation, so that ``tensorboard --logdir runs/`` shows every run of a study.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

BOARD = "tensorboard"  # the folder of event files inside a run folder


class Board:
    """One run's event files; `log` picks the summary by the value's kind."""

    def __init__(self, folder: Path, purge_step: int) -> None:
        from torch.utils.tensorboard import SummaryWriter

        # a resumed run drops what the killed one logged after its checkpoint
        self.writer = SummaryWriter(str(folder / BOARD), purge_step=purge_step or None)

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
