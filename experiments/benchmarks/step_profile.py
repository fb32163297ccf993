"""Where one quick-profile training step spends its CPU time, op by op (`torch.profiler`).

The dense Faster R-CNN of `detector_throughput` takes full SGD steps on its seeded synthetic
batch; after two warm-up steps, ``--steps`` steps are profiled and the ops with the most
self CPU time print with their share of the total. The shares, not the times, are what
carries from machine to machine; run it on an idle machine.

    python -m experiments.benchmarks.step_profile --steps 3 --threads 2
"""

from __future__ import annotations

import argparse

import torch

from archsearch.detection.profiles import QUICK
from experiments.benchmarks.detector_throughput import detectors, synthetic_batch

CLASSES = 10  # the digits, as `detector_throughput`


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

    def step() -> None:
        loss = sum(model(images, targets).values())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    for _ in range(2):
        step()
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as profile:
        for _ in range(args.steps):
            step()
    events = sorted(profile.key_averages(), key=lambda e: -e.self_cpu_time_total)
    total = sum(e.self_cpu_time_total for e in events)
    print(
        f"{args.steps} steps, {args.threads} threads: {total / 1e3 / args.steps:.0f} ms CPU a step"
    )
    for event in events[: args.rows]:
        share = event.self_cpu_time_total / total
        print(f"{share:6.1%}  {event.key}  ({event.count} calls)")


if __name__ == "__main__":
    main()
