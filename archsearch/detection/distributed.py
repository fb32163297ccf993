"""Data-parallel training: one `Trainer` per process, launched by ``torchrun``.

    torchrun --nproc_per_node 2 -m archsearch ddp experiments/NAME.yaml --run RUN_ID --out DIR

``torchrun`` sets ``RANK``/``WORLD_SIZE``; `setup` joins the process group (gloo on the
CPU, NCCL on CUDA). With a group, the trainer
  * gives each process its contiguous share of every step's batch (`ShardedBatches`): the
    batch of step ``k`` stays a pure function of ``(seed, k)``, so resuming needs no sampler
    state and N processes see the images one process would (the role torch's
    ``DistributedSampler`` plays per epoch, here per step);
  * starts from rank 0's parameters (`broadcast_model`), averages gradients after each
    backward pass (`average_gradients`) and logs losses averaged over processes;
  * writes its log and checkpoints on rank 0 only (`is_main`).
``config.batch_size`` stays the global batch, so the learning rate, the schedule and the
result record are those of one process; one process per GPU divides the batch between them.

Why no ``DistributedDataParallel`` wrapper: a pruning strategy recompiles the neck during
training (`swap_neck_parameters`), which replaces parameter objects. DDP binds its gradient
buckets to the parameters it was built with and would have to be rebuilt after every
pruning round (its ``find_unused_parameters`` does not cover new ones), and wrapping would
move the model behind ``.module`` for the hooks, the checkpoints and the evaluation. One
flattened all-reduce of the current trainable parameters' gradients per step computes
exactly what DDP computes (the mean of the processes' gradients) for any neck, at the price
of not overlapping communication with the backward pass: negligible for the CPU and small
GPU counts this targets. BatchNorm normalises each process's share of the batch, as under
DDP without SyncBatchNorm; everything else equals one process on the whole batch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

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


def broadcast_model(model: nn.Module) -> None:
    """Every process starts from rank 0's parameters and buffers."""
    if not dist.is_initialized():
        return
    for tensor in [*model.parameters(), *model.buffers()]:
        dist.broadcast(tensor.data, src=0)


def average_gradients(parameters: Sequence[nn.Parameter]) -> None:
    """Replace each gradient by its mean over processes: one all-reduce of a flat buffer.

    A parameter that no process gave a gradient keeps none (SGD then skips it, weight decay
    included, as alone); one that only some processes reached counts as zero on the others,
    so every process reduces the same layout.
    """
    if not dist.is_initialized():
        return
    device = parameters[0].device
    flags = [int(p.grad is not None) for p in parameters]
    reached = torch.tensor(flags, dtype=torch.int32, device=device)
    dist.all_reduce(reached, op=dist.ReduceOp.MAX)
    used = [p for p, flag in zip(parameters, reached.tolist(), strict=True) if flag]
    if not used:
        return
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in used]
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= world_size()
    offset = 0
    for param in used:
        count = param.numel()
        param.grad = flat[offset : offset + count].view_as(param).clone()
        offset += count


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
