"""The trainer: SGD as in the paper, a pruning strategy at every step, exact resume.

The paper's settings (sec. 4.1.2): SGD with momentum 0.9 and weight decay 1e-4, the
learning rate by the linear scaling rule (Goyal et al. 2017: proportional to the batch),
with a linear warm-up. A pruning strategy acts at every step through its `StrategyRunner`,
which the trainer starts on the neck, adds the penalty of (a KL, an L1) to the loss, and
lets prune after each optimizer step, gradients still in place; a smaller neck replaces the
old one and the optimizers follow it. The neck's connection weights train under an
optimizer of their own, the one the strategy declares (its `connection_training` knobs),
with the same learning-rate schedule as the detector.

Resuming continues exactly: the checkpoint holds the model, optimizers, schedulers, AMP
scaler, the runner's and RNG states, the step, and the pruned graph of a `FusionNeck`; batches are
a pure function of (seed, step), so no sampler state is lost. On the CPU a resumed run's next
loss equals the uninterrupted run's bit for bit.

`Trainer.train_step` touches only its own objects (no global state but torch's RNG), so
one trainer runs per process under ``torchrun``: the step runs through
``DistributedDataParallel`` (`archsearch.detection.distributed`: batch shards, the DDP
wrapper, rank 0 writes); alone, those calls do nothing.
"""

from __future__ import annotations

import contextlib
import json
import math
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler

from archsearch.detection import distributed
from archsearch.detection.board import Board, open_board
from archsearch.detection.optimizers import connection_optimizer, swap_neck_parameters
from archsearch.errors import ConfigError, GraphError, TrainingError
from archsearch.graph import from_dict, to_dict
from archsearch.io import atomic_write, atomic_write_text
from archsearch.neck import FusionNeck
from archsearch.progress import progress
from archsearch.strategies import StrategyRunner
from archsearch.strategies.base import PruningStrategy

SCHEDULES = ("cosine", "step", "constant")


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation settings of one run; ``lr`` follows the linear scaling rule."""

    steps: int
    batch_size: int = 2
    base_lr: float = 0.02
    base_batch: int = 16
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_steps: int = 500
    warmup_factor: float = 0.001
    schedule: str = "step"
    clip_norm: float | None = None
    seed: int = 0
    checkpoint_every: int = 0
    log_every: int = 10
    num_workers: int = 0
    amp: bool = True

    @property
    def lr(self) -> float:
        """``base_lr`` was tuned for ``base_batch`` images a step; scale it linearly."""
        return self.base_lr * self.batch_size / self.base_batch

    def __post_init__(self) -> None:
        if self.schedule not in SCHEDULES:
            raise ConfigError(f"unknown schedule {self.schedule!r}; known: {SCHEDULES}")
        if self.steps < 1 or self.batch_size < 1:
            raise ConfigError("steps and batch_size must be positive")


def lr_factor(config: TrainConfig, step: int) -> float:
    """Multiplier of ``config.lr`` for 0-based ``step``: linear warm-up × the schedule.

    ``step``: ×0.1 at 2/3 and again at 8/9 of training (the 1× schedule's shape);
    ``cosine``: half a cosine from 1 to 0 over all steps.
    """
    warmup = 1.0
    if step < config.warmup_steps:
        alpha = step / config.warmup_steps
        warmup = config.warmup_factor * (1 - alpha) + alpha
    progress = step / config.steps
    if config.schedule == "cosine":
        return warmup * 0.5 * (1 + math.cos(math.pi * progress))
    if config.schedule == "step":
        return warmup * 0.1 ** sum(progress >= m for m in (2 / 3, 8 / 9))
    return warmup


class StepBatches(Sampler[list[int]]):
    """Batches ``start … stop-1`` of an endless, seeded stream of shuffled epochs.

    Batch ``k`` depends only on ``(seed, k)``: epoch ``k // per_epoch`` is a permutation
    drawn from its own generator, and incomplete batches are dropped. Resuming at step
    ``k`` therefore needs no sampler state.
    """

    def __init__(self, size: int, batch_size: int, seed: int, start: int, stop: int) -> None:
        if size < batch_size:
            raise ConfigError(f"a batch of {batch_size} needs at least as many images ({size})")
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start, self.stop = start, stop

    def __len__(self) -> int:
        return max(0, self.stop - self.start)

    def __iter__(self) -> Iterator[list[int]]:
        per_epoch = self.size // self.batch_size
        order, epoch = None, -1
        for step in range(self.start, self.stop):
            if step // per_epoch != epoch:
                epoch = step // per_epoch
                generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
                order = torch.randperm(self.size, generator=generator).tolist()
            offset = (step % per_epoch) * self.batch_size
            yield order[offset : offset + self.batch_size]


def collate(batch: Sequence[tuple]) -> tuple[list, list]:
    """Detection batches stay lists: images differ in size and targets in box count."""
    images, targets = zip(*batch, strict=True)
    return list(images), list(targets)


class TrainingLoss(nn.Module):
    """The detector's losses plus the strategy's penalty: what one training step minimizes.

    One module for both, so that under DDP the strategy's term (a KL, an L1) is part of the
    wrapped forward and its gradients are reduced with the detector's.
    """

    def __init__(self, model: nn.Module, runner: StrategyRunner | None) -> None:
        super().__init__()
        self.model, self.runner = model, runner

    def forward(self, images: list, targets: list, step: int) -> dict[str, torch.Tensor]:
        losses = self.model(images, targets)
        if self.runner is not None:
            penalty = self.runner.penalty(self.model.backbone.neck, step)
            if penalty is not None:
                losses["loss_penalty"] = penalty
        return losses


class Trainer:
    """Trains one detector on one data set; ``fit`` runs, checkpoints and logs.

    Args:
        model: a torchvision detector whose ``backbone.neck`` is the neck (`build_detector`).
        dataset: yields ``(image, target)``; batched by `collate`.
        config: the `TrainConfig`.
        runner: the strategy's `StrategyRunner` on the model's neck (`strategy_runner`),
            started here; None trains the neck as it is.
        out_dir: where ``checkpoint.pt`` and ``log.jsonl`` go; None writes nothing.
        device: defaults to CUDA when available; AMP is used on CUDA only.
        progress: show progress (`archsearch.progress`).
    """

    def __init__(
        self,
        model: nn.Module,
        dataset: Dataset,
        config: TrainConfig,
        runner: StrategyRunner | None = None,
        out_dir: Path | None = None,
        device: torch.device | str | None = None,
        progress: bool = True,
    ) -> None:
        self.device = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
        self.runner = runner
        if runner is not None:  # a strategy that prunes at step 0 (random) changes the neck
            model.backbone.neck = runner.start(model.backbone.neck)
        self.model = model.to(self.device)
        self.dataset, self.config = dataset, config
        self._wrap_training_step()
        self.out_dir = Path(out_dir) if out_dir is not None else None
        self.progress = progress
        self.amp = config.amp and self.device.type == "cuda"
        detector, connections = self._parameter_sets()
        self.optimizers = [
            torch.optim.SGD(
                detector, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay
            )
        ]
        if connections:
            strategy = runner.strategy if runner is not None else PruningStrategy()
            settings = strategy.params
            self.optimizers.append(
                connection_optimizer(connections, settings, config.lr, config.momentum)
            )
        self.schedulers = [
            torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: lr_factor(config, step))
            for optimizer in self.optimizers
        ]
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=self.amp)
        self.step, self.elapsed = 0, 0.0
        self._board: Board | None = None
        self._board_opened = False

    def _trainable(self) -> list[nn.Parameter]:
        return [p for p in self.model.parameters() if p.requires_grad]

    def _parameter_sets(self) -> list[list[nn.Parameter]]:
        """The trainable parameters of each optimizer: the detector's, then the neck's
        connection weights (empty for a neck without them), each in the model's order."""
        neck = self.model.backbone.neck
        weights = neck.weights.parameters() if isinstance(neck, FusionNeck) else ()
        ids = {id(p) for p in weights}
        trainable = self._trainable()
        return [
            [p for p in trainable if id(p) not in ids],
            [p for p in trainable if id(p) in ids],
        ]

    def train_step(self, batch: tuple[list, list]) -> dict[str, float]:
        """One optimizer step on ``batch``; returns the losses (before the step) and the lr."""
        images = [image.to(self.device) for image in batch[0]]
        targets = [_to(target, self.device) for target in batch[1]]
        self.model.train()
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none=True)
        with torch.autocast(self.device.type, enabled=self.amp):
            losses = self._losses(images, targets, self.step + 1)
        total = sum(losses.values())
        self.scaler.scale(total).backward()
        if self.config.clip_norm:
            for optimizer in self.optimizers:
                self.scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(self._trainable(), self.config.clip_norm)
        lr = self.optimizers[0].param_groups[0]["lr"]
        for optimizer in self.optimizers:
            self.scaler.step(optimizer)
        self.scaler.update()
        for scheduler in self.schedulers:
            scheduler.step()
        self.step += 1
        if self.runner is not None:
            neck = self.model.backbone.neck
            self.model.backbone.neck = self.runner.after_step(neck, self.step)
            if self.model.backbone.neck is not neck:
                self._neck_replaced(neck)
        record = {name: float(value.detach()) for name, value in losses.items()}
        record = distributed.average_values({"loss": float(total.detach()), **record})
        if not math.isfinite(record["loss"]) and not self.amp:  # AMP's scaler skips such steps
            terms = ", ".join(f"{name} {value:.4g}" for name, value in record.items())
            raise TrainingError(
                f"step {self.step}: the loss is not finite ({terms}); the last checkpoint is "
                "kept: lower the learning rate (base_lr) or clip gradients (clip_norm)"
            )
        return {**record, "lr": lr}

    def _neck_replaced(self, old: nn.Module) -> None:
        """Train the model's new neck (a pruned ``old``) from now on.

        The optimizers follow in place (`swap_neck_parameters`): surviving parameters keep
        their momentum, connection weights keep theirs for the kept connections, and the
        layout depends only on the model, so a resumed run rebuilds the same optimizers.
        """
        neck = self.model.backbone.neck = self.model.backbone.neck.to(self.device)
        for optimizer, params in zip(self.optimizers, self._parameter_sets(), strict=False):
            swap_neck_parameters(optimizer, old, neck, params)
        self._wrap_training_step()  # DDP's gradient buckets are bound to the old parameters

    def _wrap_training_step(self) -> None:
        """The module a step calls: `TrainingLoss`, under DDP in a process group."""
        self._losses = distributed.data_parallel(TrainingLoss(self.model, self.runner))

    def fit(self, stop: int | None = None) -> list[dict[str, float]]:
        """Train from the current step to ``stop`` (default: all steps); returns the log.

        Writes a checkpoint every ``checkpoint_every`` steps and at ``stop``.
        """
        stop = self.config.steps if stop is None else min(stop, self.config.steps)
        sampler = StepBatches(
            len(self.dataset), self.config.batch_size, self.config.seed, self.step, stop
        )
        # A generator of its own, so creating the loader draws nothing from torch's RNG.
        loader = DataLoader(
            self.dataset,
            batch_sampler=distributed.ShardedBatches(sampler),
            collate_fn=collate,
            num_workers=self.config.num_workers,
            generator=torch.Generator().manual_seed(self.config.seed),
        )
        records = []
        bar = progress(self.config.steps, "train", initial=self.step, disable=not self.progress)
        started = time.perf_counter() - self.elapsed
        for batch in loader:
            record = self.train_step(batch)
            self.elapsed = time.perf_counter() - started
            record = {"step": self.step, "time": round(self.elapsed, 3), **record}
            records.append(record)
            bar.set_postfix(loss=f"{record['loss']:.3f}")
            bar.update(1)
            self._log(record)
            self._show(record)
            every = self.config.checkpoint_every
            if every and self.step % every == 0 and self.step != stop:
                self.save_checkpoint()
        bar.close()
        self.save_checkpoint()
        return records

    def _log(self, record: dict[str, float]) -> None:
        last = self.step == self.config.steps
        quiet = self.step % self.config.log_every and not last
        if self.out_dir is None or quiet or not distributed.is_main():
            return
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with (self.out_dir / "log.jsonl").open("a") as log:
            log.write(json.dumps(record) + "\n")

    def _show(self, record: dict[str, float]) -> None:
        """A step's losses, and what the strategy sees, on the board if there is one (only
        then: drawing the architecture costs a figure)."""
        board = self.board()
        if board is not None:
            losses = {f"train/{k}": v for k, v in record.items() if k not in ("step", "time")}
            if self.runner is not None:
                neck = self.model.backbone.neck
                losses.update(board.strategy_values(self.runner, neck, self.step))
            board.log(losses, self.step)

    def board(self) -> Board | None:
        """The run's TensorBoard files (`archsearch.detection.board`), opened at the first
        call; None without an output folder, without TensorBoard or off the main process."""
        if not self._board_opened:
            self._board_opened = True
            if distributed.is_main():
                self._board = open_board(self.out_dir, purge_step=self.step)
        return self._board

    @property
    def checkpoint_path(self) -> Path | None:
        return self.out_dir / "checkpoint.pt" if self.out_dir is not None else None

    def state_dict(self) -> dict[str, Any]:
        """Everything a resumed run needs to continue exactly."""
        neck = self.model.backbone.neck
        return {
            "step": self.step,
            "elapsed": self.elapsed,
            "config": asdict(self.config),
            "graph": to_dict(neck.graph) if isinstance(neck, FusionNeck) else None,
            "model": self.model.state_dict(),
            "optimizers": [optimizer.state_dict() for optimizer in self.optimizers],
            "schedulers": [scheduler.state_dict() for scheduler in self.schedulers],
            "scaler": self.scaler.state_dict(),
            "runner": self.runner.state_dict() if self.runner is not None else {},
            "rng": rng_state(),
        }

    def save_checkpoint(self, path: Path | None = None) -> Path | None:
        """Write `state_dict` atomically (a crash never leaves half a checkpoint)."""
        path = path or self.checkpoint_path
        if path is None or not distributed.is_main():
            return None
        state = self.state_dict()
        return atomic_write(path, lambda tmp: torch.save(state, tmp))

    def load_checkpoint(self, path: Path | None = None) -> None:
        """Continue from a checkpoint written by `save_checkpoint` (``--resume``).

        The log loses the lines of steps after the checkpoint (a killed run logged them,
        and the resumed run logs them again), so it keeps one line per step.
        """
        path = path or self.checkpoint_path
        with checkpoint_fits(path):
            self.load_state_dict(read_checkpoint(path))
        self._trim_log()

    def _trim_log(self) -> None:
        path = self.out_dir / "log.jsonl" if self.out_dir is not None else None
        if path is None or not path.is_file() or not distributed.is_main():
            return
        lines = path.read_text().splitlines(keepends=True)
        kept = [line for line in lines if _logged_step(line) <= self.step]
        if len(kept) < len(lines):
            atomic_write_text(path, "".join(kept))

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Inverse of `state_dict`: the runner first, then the neck it implies, then the rest."""
        if self.runner is not None:
            self.runner.load_state_dict(state["runner"])
        old = self.model.backbone.neck
        self.model.backbone.neck = restore_neck(old, state["graph"])
        if self.model.backbone.neck is not old:
            self._neck_replaced(old)
        self.model.load_state_dict(state["model"])
        if "optimizers" not in state or len(state["optimizers"]) != len(self.optimizers):
            raise ConfigError(
                "the checkpoint's optimizers do not fit this run (written by an archsearch "
                "that trained connection weights with the detector's optimizer?): "
                "start the run afresh"
            )
        for optimizer, saved in zip(self.optimizers, state["optimizers"], strict=True):
            optimizer.load_state_dict(saved)
        for scheduler, saved in zip(self.schedulers, state["schedulers"], strict=True):
            scheduler.load_state_dict(saved)
        self.scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        self.step, self.elapsed = state["step"], state["elapsed"]


CHECKPOINT_KEYS = frozenset(
    {
        "step",
        "elapsed",
        "config",
        "graph",
        "model",
        "optimizers",
        "schedulers",
        "scaler",
        "runner",
        "rng",
    }
)


def _logged_step(line: str) -> float:
    """The step of a log line; a line cut short by a kill counts as past every checkpoint."""
    try:
        return json.loads(line)["step"]
    except (ValueError, KeyError, TypeError):
        return math.inf


def read_checkpoint(path: Path | None) -> dict[str, Any]:
    """A checkpoint's contents, read as data; `ConfigError` naming the path otherwise.

    ``weights_only=True``: tensors, numbers, strings and containers only, so a crafted file
    cannot run code when it is unpickled (a checkpoint is shared with run folders). Files
    written before checkpoints held only such types (their NumPy RNG state was an array) are
    refused with the same line as any file that is not a checkpoint.
    """
    if path is None or not Path(path).is_file():
        raise ConfigError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for one cause: not our file
        lines = str(error).strip().splitlines()
        reason = lines[-1] if lines else type(error).__name__
        if "Unsupported global" in str(error):
            reason = "it holds objects other than tensors and plain values"
        raise ConfigError(
            f"{path}: not a readable archsearch checkpoint ({reason}); checkpoints written "
            "before archsearch read them as data are refused too: train the run again"
        ) from None
    if isinstance(state, dict) and "hooks" in state and "runner" not in state:
        state["runner"] = state.pop("hooks")  # its name before the trainer took the runner
    missing = CHECKPOINT_KEYS - set(state) if isinstance(state, dict) else CHECKPOINT_KEYS
    if missing:
        raise ConfigError(f"{path}: not an archsearch checkpoint (missing {sorted(missing)})")
    return state


@contextlib.contextmanager
def checkpoint_fits(path: Path | None) -> Iterator[None]:
    """Turn the errors of loading a checkpoint's contents into a model (missing keys, tensors
    of other shapes, values of other types) into one `ConfigError` naming the file."""
    try:
        yield
    except (GraphError, RuntimeError, KeyError, TypeError, ValueError, IndexError) as error:
        reason = " ".join(str(error).split())[:160]
        raise ConfigError(f"{path}: does not fit this run ({reason})") from None


def restore_neck(neck: nn.Module, graph: dict | None) -> nn.Module:
    """``neck`` pruned to a checkpoint's graph, so the saved weights fit it."""
    if graph is None or not isinstance(neck, FusionNeck):
        return neck
    saved = from_dict(graph, source="checkpoint")
    if saved.connection_ids == neck.graph.connection_ids:
        return neck
    return neck.pruned(saved.connection_ids)


def rng_state() -> dict[str, Any]:
    """torch (CPU and CUDA), Python and NumPy generator states."""
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "python": random.getstate(),
        "numpy": _numpy_state(),
    }


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    random.setstate(state["python"])
    name, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), position, has_gauss, cached))


def _numpy_state() -> tuple:
    """NumPy's generator state with its key array as a tensor, so `read_checkpoint` reads it."""
    name, keys, position, has_gauss, cached = np.random.get_state()
    return name, torch.from_numpy(keys.astype(np.int64)), position, has_gauss, cached


def _to(target: dict[str, Any], device: torch.device) -> dict[str, Any]:
    return {k: v.to(device) if torch.is_tensor(v) else v for k, v in target.items()}
