"""Sampled inference (Table 2's K fusion networks) against K naive passes and against one.

One Faster R-CNN of the quick profile with an ARD dense neck detects a batch of images
three ways, in turn, round after round, in one process (interleaved, so the machine's
drift falls on all alike): ``sampled`` runs the body once and the neck's fusion and the
heads on the K samples as one batched pass (`sampled_detections`); ``naive`` runs K full
forward passes, one per weight vector (`detections_per_pass`); ``one`` is a single plain
pass. Each ratio is the median over rounds of the same round's times. Goal: sampled ≤ 0.5×
naive. CPU wall clock, CUDA events on a GPU.

    python -m experiments.benchmarks.sampled_inference --samples 10 --batch 2 --repeats 10
    python -m experiments.benchmarks.sampled_inference --backbone resnet50 --size 256

What sharing can save is the body's share of a pass: small on the quick profile, whose tiny
body costs a tenth of a pass beside the neck's resizes, so there the saving comes mostly
from batching the K fusions and heads; large with the paper's ResNet-50.

On a machine shared with other jobs, set ``OMP_WAIT_POLICY=PASSIVE`` (see
`detector_throughput`).
"""

from __future__ import annotations

import argparse
import statistics

import torch

from archsearch.detection.profiles import QUICK, detector_from_profile
from archsearch.graph import build_graph
from archsearch.uncertainty import detections_per_pass, draw_weights, sampled_detections
from archsearch.weights import GaussianARD
from experiments.benchmarks.timing import interleaved_times

GOAL = 0.5
CLASSES = 11  # ten digits and the background, as the digit scenes


def detector(backbone: str, size: int, device: torch.device) -> torch.nn.Module:
    """The quick profile's detector (any backbone) with untrained ARD weights, in eval mode."""
    torch.manual_seed(0)
    profile = QUICK.replace(backbone=backbone, min_size=size, max_size=size)
    if backbone != "small":  # a ResNet feeds P3-P7, as in the paper
        profile = profile.replace(levels=(3, 7))
    graph = build_graph("dense", profile.levels)
    model = detector_from_profile(
        profile, "faster_rcnn", "dense", CLASSES, GaussianARD(graph.connection_ids)
    )
    return model.to(device).eval()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=10, help="K")
    parser.add_argument("--batch", type=int, default=2, help="images per pass")
    parser.add_argument("--size", type=int, default=QUICK.min_size, help="image side")
    parser.add_argument("--backbone", default=QUICK.backbone, help="small or a ResNet name")
    parser.add_argument("--repeats", type=int, default=10, help="timed rounds")
    parser.add_argument("--warmup", type=int, default=2, help="untimed rounds")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model = detector(args.backbone, args.size, device)
    generator = torch.Generator().manual_seed(1)
    images = [torch.rand(3, args.size, args.size, generator=generator).to(device)]
    images *= args.batch
    weights = draw_weights(model.backbone.neck.weights, args.samples, seed=0)

    def one() -> None:
        with torch.no_grad():
            model(images)

    runs = {
        "sampled": lambda: sampled_detections(model, images, weights),
        "naive": lambda: detections_per_pass(model, images, weights),
        "one": one,
    }
    times = interleaved_times(runs, args.repeats, device, warmup=args.warmup)
    print(
        f"device {device}, threads {args.threads}, backbone {args.backbone}, "
        f"{args.size}x{args.size}, batch {args.batch}, K = {args.samples}, "
        f"median of {args.repeats} interleaved rounds"
    )
    for name, samples in times.items():
        print(f"{name:8s} {statistics.median(samples) * 1e3:9.1f} ms")
    for other in ("naive", "one"):
        ratio = statistics.median(
            s / o for s, o in zip(times["sampled"], times[other], strict=True)
        )
        verdict = (
            f" (goal <= {GOAL}: {'ok' if ratio <= GOAL else 'MISS'})" if other == "naive" else ""
        )
        print(f"sampled / {other:5s} {ratio:6.3f}x{verdict}")


if __name__ == "__main__":
    main()
