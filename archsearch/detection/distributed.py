"""Data-parallel training: one `Trainer` per process, launched by ``torchrun``.

    torchrun --nproc_per_node 2 -m archsearch ddp experiments/NAME.yaml --run RUN_ID --out DIR

``torchrun`` sets ``RANK``/``WORLD_SIZE``; `setup` joins the process group (gloo on the
CPU, NCCL on CUDA). With a group, the trainer
  * gives each process its contiguous share of every step's batch (`ShardedBatches`): the
    batch of step ``k`` stays a pure function of ``(seed, k)``, so resuming needs no sampler
    state and N processes see the images one process would (the role torch's
    ``DistributedSampler`` plays per epoch, here per step);
  * runs its training step through ``DistributedDataParallel`` (`data_parallel`), which
    starts every process from rank 0's parameters and averages gradients in the backward
    pass; the losses it logs are averaged over processes (`average_values`);
  * writes its log and checkpoints on rank 0 only (`is_main`).
``config.batch_size`` stays the global batch, so the learning rate, the schedule and the
result record are those of one process; one process per GPU divides the batch between them.

A pruning round recompiles the neck and replaces its parameter objects; DDP's gradient
buckets are bound to the parameters it was built with, so the trainer wraps the model again
after each round (a handful per run; construction re-broadcasts rank 0's, equal, values).
BatchNorm normalises each process's share of the batch, as under plain DDP.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import torch
import torch.distributed as dist
from torch import nn
from torch.utils.data import Sampler

from archsearch.errors import ConfigError


def setup() -> bool:
    """Join the process group that ``torchrun`` describes; False when launched alone."""
    if dist.is_initialized():
        return True
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return False
    cuda = torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group("nccl" if cuda else "gloo")
    return True


def teardown() -> None:
    if dist.is_initialized():
        dist.destroy_process_group()


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """Rank 0, or a lone process: the one that writes logs, checkpoints and records."""
    return rank() == 0


class ShardedBatches(Sampler[list[int]]):
    """This process's contiguous share of each batch of ``batches`` (all, when alone)."""

    def __init__(self, batches: Sampler[list[int]]) -> None:
        self.batches, self.rank, self.size = batches, rank(), world_size()
        batch_size = getattr(batches, "batch_size", self.size)
        if batch_size % self.size:
            raise ConfigError(f"batch_size {batch_size} does not split over {self.size} processes")

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[list[int]]:
        for batch in self.batches:
            share = len(batch) // self.size
            yield batch[self.rank * share : (self.rank + 1) * share]


def data_parallel(module: nn.Module) -> nn.Module:
    """``module`` under ``DistributedDataParallel`` in a process group, else as it is.

    ``find_unused_parameters``: a pruned neck, a mask head without positives or a frozen
    part can leave parameters out of a step's graph, on some processes only.
    """
    if not dist.is_initialized():
        return module
    device = next(module.parameters()).device
    ids = [device.index] if device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(module, device_ids=ids, find_unused_parameters=True)


def average_values(values: dict[str, float]) -> dict[str, float]:
    """Means over processes of a step's logged numbers (the same keys on every process)."""
    if not dist.is_initialized():
        return values
    names = list(values)
    device = "cuda" if dist.get_backend() == "nccl" else "cpu"
    tensor = torch.tensor([float(values[n]) for n in names], dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    tensor /= world_size()
    return dict(zip(names, tensor.tolist(), strict=True))
