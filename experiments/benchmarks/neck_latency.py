"""Dense neck against a 9-connection pruned neck: latency ratio beside FLOP ratio.

Both necks run interleaved in one process (these machines are noisy), forward and backward
unless --inference. On a GPU, time is taken with CUDA events. The foundation's goal: the
latency ratio within 1.2× of the FLOP ratio (pruning saves time in proportion to FLOPs).

    python -m experiments.benchmarks.neck_latency --size 256 --batch 2
"""

from __future__ import annotations

import argparse
import random
import statistics

import torch

from archsearch.graph import dense, select_top
from archsearch.neck import FusionNeck, backbone_shapes, neck_cost
from experiments.benchmarks.timing import interleaved_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="square image side")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--channels", type=int, default=64)
    parser.add_argument("--connections", type=int, default=9)
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--inference", action="store_true", help="forward only")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    graph = dense()
    rng = random.Random(0)
    keep = select_top(graph, {c: rng.random() for c in graph.connection_ids}, args.connections)
    necks = {"dense": FusionNeck(graph, [128, 256, 512], args.channels)}
    necks["pruned"] = necks["dense"].pruned(keep)
    size = (args.size, args.size)
    features = [
        torch.randn(shape, device=device)
        for shape in backbone_shapes(necks["dense"], size, args.batch)
    ]

    def step(neck: FusionNeck):
        def run() -> None:
            if args.inference:
                with torch.no_grad():
                    neck(features)
            else:
                sum(v.mean() for v in neck(features).values()).backward()

        return run

    for neck in necks.values():
        neck.to(device).train(not args.inference)
    times = interleaved_times({k: step(v) for k, v in necks.items()}, args.repeats, device)
    costs = {name: neck_cost(neck, size) for name, neck in necks.items()}
    print(
        f"device {device}, image {args.size}x{args.size}, batch {args.batch}, "
        f"{'forward' if args.inference else 'forward+backward'}"
    )
    for name, neck in necks.items():
        print(
            f"  {name:7s} connections {len(neck.graph.connection_ids):3d}  "
            f"params {costs[name].params:8d}  GFLOPs {costs[name].flops / 1e9:7.3f}  "
            f"median {statistics.median(times[name]) * 1e3:8.2f} ms"
        )
    flop_ratio = costs["pruned"].flops / costs["dense"].flops
    latency_ratio = statistics.median(
        p / d for p, d in zip(times["pruned"], times["dense"], strict=True)
    )
    print(f"FLOP ratio (pruned/dense)    {flop_ratio:.3f}")
    print(f"latency ratio (pruned/dense) {latency_ratio:.3f}")
    print(f"latency ratio / FLOP ratio   {latency_ratio / flop_ratio:.3f}  (goal <= 1.2)")


if __name__ == "__main__":
    main()
