"""Train-step overhead of variational connection weights over deterministic ones.

One dense neck (63 connections) per weight object, all with identical convolution weights,
runs forward and backward in turn, round after round, in one process: interleaved, with the
order rotating from round to round, so the machine's noise and any position effect fall on
every candidate alike. A variational step also adds its ``kl()`` to the loss, and every
step ends with the optimizer steps the trainer takes: SGD over the neck's other parameters,
and the optimizer each weight object's strategy declares over its connection weights
(`connection_optimizer`: SGD for deterministic weights, Adam for the priors). Each ratio is
the median over rounds of the variational step's time over the same round's deterministic
step. Goals: <= 1.03 for GaussianARD and Laplace, <= 1.05 for FullARD and the priors
beyond the paper (StudentT, LogNormal, Horseshoe).

    python -m experiments.benchmarks.weights_overhead --size 128 512 --repeats 30
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Callable

import torch

from archsearch.detection.optimizers import connection_optimizer
from archsearch.graph import dense
from archsearch.neck import FusionNeck, backbone_shapes
from archsearch.strategies import create_strategy
from archsearch.weights import (
    ConnectionWeights,
    DeterministicWeights,
    FullARD,
    GaussianARD,
    Horseshoe,
    Laplace,
    LogNormal,
    StudentT,
    VariationalWeights,
)
from experiments.benchmarks.timing import interleaved_times

IN_CHANNELS = [32, 64, 128]
KINDS: dict[str, type[ConnectionWeights]] = {
    "deterministic": DeterministicWeights,
    "GaussianARD": GaussianARD,
    "FullARD": FullARD,
    "Laplace": Laplace,
    "StudentT": StudentT,
    "LogNormal": LogNormal,
    "Horseshoe": Horseshoe,
}
STRATEGIES = {
    "deterministic": "dense",
    "GaussianARD": "ard",
    "FullARD": "fullard",
    "Laplace": "laplace",
    "StudentT": "student_t",
    "LogNormal": "log_normal",
    "Horseshoe": "horseshoe",
}
GOALS = {
    "GaussianARD": 1.03,
    "FullARD": 1.05,
    "Laplace": 1.03,
    "StudentT": 1.05,
    "LogNormal": 1.05,
    "Horseshoe": 1.05,
}
LR = 0.01


def train_step(neck: FusionNeck, features: list[torch.Tensor], kind: str) -> Callable[[], None]:
    """One training step's compute: forward, loss (+ KL for variational weights), backward,
    and the optimizer steps (the trainer's two optimizers)."""
    weights = {id(p) for p in neck.weights.parameters()}
    others = [p for p in neck.parameters() if id(p) not in weights]
    settings = create_strategy(STRATEGIES[kind]).params
    optimizers = [
        torch.optim.SGD(others, lr=LR, momentum=0.9, weight_decay=1e-4),
        connection_optimizer(neck.weights.parameters(), settings, LR),
    ]

    def run() -> None:
        neck.zero_grad(set_to_none=True)
        loss = sum(value.mean() for value in neck(features).values())
        if isinstance(neck.weights, VariationalWeights):
            loss = loss + neck.weights.kl()
        loss.backward()
        for optimizer in optimizers:
            optimizer.step()

    return run


def measure(size: int, args: argparse.Namespace, device: torch.device) -> dict[str, list[float]]:
    """Per-round step times (seconds) of every weight kind at one image size."""
    graph = dense()
    necks = {}
    for name, kind in KINDS.items():
        torch.manual_seed(0)  # the same convolution weights in every neck
        neck = FusionNeck(graph, IN_CHANNELS, args.channels, kind(graph.connection_ids))
        necks[name] = neck.to(device).train()
    generator = torch.Generator().manual_seed(1)
    features = [
        torch.randn(shape, generator=generator).to(device)
        for shape in backbone_shapes(necks["deterministic"], (size, size), args.batch)
    ]
    runs = {name: train_step(neck, features, name) for name, neck in necks.items()}
    interleaved_times(runs, 0, device, warmup=args.warmup)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for index in range(args.repeats):  # rotate the order each round: no candidate always first
        order = names[index % len(names) :] + names[: index % len(names)]
        for name, samples in interleaved_times({n: runs[n] for n in order}, 1, device, 0).items():
            times[name].extend(samples)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[128, 512], help="image sides")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=30, help="timed rounds per size")
    parser.add_argument("--warmup", type=int, default=3, help="untimed rounds per size")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    print(
        f"device {device}, threads {args.threads}, batch {args.batch}, channels "
        f"{args.channels}, {len(dense().connection_ids)} connections, forward+backward, "
        f"median of {args.repeats} interleaved rounds"
    )
    print(f"{'image':>9s}  {'weights':13s} {'median ms':>10s} {'ratio':>7s} {'goal':>6s}")
    for size in args.size:
        times = measure(size, args, device)
        baseline = times["deterministic"]
        for name, samples in times.items():
            ratio = statistics.median(t / d for t, d in zip(samples, baseline, strict=True))
            goal = GOALS.get(name)
            verdict = "" if goal is None else f"<={goal:.2f} {'ok' if ratio <= goal else 'MISS'}"
            print(
                f"{size:4d}x{size:<4d}  {name:13s} {statistics.median(samples) * 1e3:10.2f} "
                f"{ratio:7.3f} {verdict}"
            )


if __name__ == "__main__":
    main()
