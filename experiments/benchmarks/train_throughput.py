"""Quick-profile training throughput of this checkout against another, interleaved.

Each checkout trains in a process of its own (``PYTHONPATH`` set to it), the same dense
Faster R-CNN on the same digit scenes (``archsearch.data.cached_digit_scenes``) with the
profile's `Trainer`: data loading, collation, the step, logging, all of it. The parent hands
the two processes rounds of ``--steps`` steps in turn, so the machine's drift falls on both
alike, and prints the median ratio of their times (reference / this checkout) over the
rounds. Only one process trains at a time; each uses ``--threads`` threads.

    git worktree add /tmp/before COMMIT
    python -m experiments.benchmarks.train_throughput --reference /tmp/before --threads 2

Goal (issue 20): ≥ 1.4 against the commit before the faster step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
CHECKOUT = HERE.parents[2]


def child(threads: int, seed: int) -> None:
    """Build the run, then answer each line ``N`` on stdin with the seconds N steps took."""
    import time

    import torch

    import archsearch
    from archsearch.data import cached_digit_scenes
    from archsearch.detection.profiles import QUICK, detector_from_profile
    from archsearch.detection.train import Trainer

    torch.set_num_threads(threads)
    train_set = cached_digit_scenes("mixed", 2000, 0).train()
    torch.manual_seed(seed)
    model = detector_from_profile(QUICK, "faster_rcnn", "dense", train_set.num_classes)
    trainer = Trainer(
        model, train_set, QUICK.train_config(len(train_set), seed=seed), progress=False
    )
    print(f"ready {Path(archsearch.__file__).parents[1]}", flush=True)
    for line in sys.stdin:
        started = time.perf_counter()
        trainer.fit(stop=trainer.step + int(line))
        print(f"{time.perf_counter() - started:.6f}", flush=True)


def spawn(checkout: Path, threads: int, seed: int) -> subprocess.Popen:
    environment = {**os.environ, "PYTHONPATH": str(checkout), "OMP_NUM_THREADS": str(threads)}
    command = [sys.executable, str(HERE), "--child", "--threads", str(threads), "--seed", str(seed)]
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=environment
    )
    ready = process.stdout.readline().split()
    if not ready or ready[0] != "ready" or Path(ready[1]) != checkout.resolve():
        raise SystemExit(f"{checkout}: its process imported archsearch from {ready[1:]}")
    return process


def ask(process: subprocess.Popen, steps: int) -> float:
    process.stdin.write(f"{steps}\n")
    process.stdin.flush()
    return float(process.stdout.readline())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", type=Path, help="the other checkout (a git worktree)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=10, help="steps a round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.threads, args.seed)
        return
    from archsearch.detection.profiles import QUICK

    if args.reference is None or not (args.reference / "archsearch").is_dir():
        parser.error("--reference must name a checkout of archsearch")
    runs = {
        "reference": spawn(args.reference, args.threads, args.seed),
        "this": spawn(CHECKOUT, args.threads, args.seed),
    }
    for process in runs.values():  # a first round warms both up, untimed
        ask(process, 2)
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.rounds):
        for name, process in runs.items():
            times[name].append(ask(process, args.steps))
    for process in runs.values():
        process.stdin.close()
        process.wait()
    print(
        f"quick profile, dense Faster R-CNN, {args.threads} thread(s), "
        f"{args.rounds} interleaved rounds of {args.steps} steps"
    )
    for name, seconds in times.items():
        step = statistics.median(seconds) / args.steps
        print(f"  {name:9s} {step * 1e3:7.1f} ms a step  {QUICK.batch_size / step:6.1f} images/s")
    ratios = [r / t for r, t in zip(times["reference"], times["this"], strict=True)]
    print(f"throughput this/reference {statistics.median(ratios):.3f}  (goal >= 1.4)")


if __name__ == "__main__":
    main()
