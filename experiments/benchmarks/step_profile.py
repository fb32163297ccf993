"""Where one quick-profile training step spends its time: by part of the detector, and op by op.

The dense Faster R-CNN of `detector_throughput` takes full SGD steps on its seeded synthetic
batch. After two warm-up steps, ``--steps`` steps are timed by part (wall clock: the
forward of the backbone, the neck, the RPN and the RoI heads, which includes its losses;
the backward; the optimizer), beside loading and collating one batch of digit scenes as the
trainer does (`archsearch.data.cached_digit_scenes`, generated on first use); then
``--steps`` more are profiled and the ops with the most self CPU time print with their
share of the total. The shares, not the times, are what carries from machine to machine;
run it on an idle machine.

    python -m experiments.benchmarks.step_profile --steps 3 --threads 2
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict

import torch
from torch import nn

from archsearch.data import cached_digit_scenes
from archsearch.detection.profiles import QUICK
from archsearch.detection.train import collate
from experiments.benchmarks.detector_throughput import detectors, synthetic_batch

CLASSES = 10  # the digits, as `detector_throughput`


def timed_forwards(model: nn.Module, seconds: dict[str, float]) -> None:
    """Add each part's forward wall time to ``seconds`` by forward hooks."""
    parts = {
        "backbone": model.backbone.body,
        "neck": model.backbone.neck,
        "rpn": model.rpn,
        "roi heads": model.roi_heads,
    }
    for name, part in parts.items():
        starts: list[float] = []
        part.register_forward_pre_hook(lambda *_, starts=starts: starts.append(time.perf_counter()))

        def done(*_, name=name, starts=starts) -> None:
            seconds[f"forward: {name}"] += time.perf_counter() - starts.pop()

        part.register_forward_hook(done)


def load_seconds(batch_size: int, batches: int) -> float:
    """Seconds to read and collate one batch of digit scenes, over ``batches`` batches."""
    train_set = cached_digit_scenes("mixed", 2000, 0).train()
    started = time.perf_counter()
    for first in range(0, batch_size * batches, batch_size):
        collate([train_set[index] for index in range(first, first + batch_size)])
    return (time.perf_counter() - started) / batches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rows", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = detectors(QUICK, 9, CLASSES)["dense"].train()
    images, targets = synthetic_batch(QUICK, CLASSES)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    seconds: dict[str, float] = defaultdict(float)

    def step() -> None:
        started = time.perf_counter()
        loss = sum(model(images, targets).values())
        optimizer.zero_grad()
        backward = time.perf_counter()
        loss.backward()
        stepped = time.perf_counter()
        optimizer.step()
        seconds["forward"] += backward - started
        seconds["backward"] += stepped - backward
        seconds["optimizer"] += time.perf_counter() - stepped

    for _ in range(2):
        step()
    timed_forwards(model, seconds)
    seconds.clear()
    for _ in range(args.steps):
        step()
    seconds["load and collate"] = load_seconds(QUICK.batch_size, 4) * args.steps
    total = seconds["forward"] + seconds["backward"] + seconds["optimizer"]
    total += seconds["load and collate"]
    print(f"{args.steps} steps, {args.threads} threads: {total / args.steps * 1e3:.0f} ms a step")
    for name in ("load and collate", "forward", *(k for k in seconds if k.startswith("forward:"))):
        print(f"{seconds[name] / total:6.1%}  {name}")
    for name in ("backward", "optimizer"):
        print(f"{seconds[name] / total:6.1%}  {name}")

    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        for _ in range(args.steps):
            step()
    events = sorted(profile.key_averages(), key=lambda e: -e.self_cpu_time_total)
    cpu = sum(e.self_cpu_time_total for e in events)
    print(f"op by op: {cpu / 1e3 / args.steps:.0f} ms CPU a step")
    for event in events[: args.rows]:
        share = event.self_cpu_time_total / cpu
        print(f"{share:6.1%}  {event.key}  ({event.count} calls)")


if __name__ == "__main__":
    main()
