"""Train throughput of Faster R-CNN with the dense fusion neck, a 9-connection neck and
torchvision's own FPN, on the same backbone, as ratios measured in one process.

The detectors train in turn, step after step (interleaved, so the machine's drift spreads
evenly); each takes full SGD steps on the same seeded synthetic batch of the quick
profile's shape (128 px, objects 12–68 px). Goals: dense ≥ 0.8× and pruned ≥ 1.0× FPN.

The fusion neck hands the heads channels-last maps, on which their convs run faster on
the CPU. A fourth detector, ``fpn_cl``, is FPN with its outputs converted to channels-last,
so that the ratios show how much of that an NCHW neck could get by converting.

    python -m experiments.benchmarks.detector_throughput --repeats 20

On a machine shared with other jobs, set ``OMP_WAIT_POLICY=PASSIVE``: spinning OpenMP
threads that lose their core slow every step by an order of magnitude.
"""

from __future__ import annotations

import argparse
import random
import statistics
from collections import OrderedDict
from collections.abc import Sequence

import torch

from archsearch.detection.models import TorchvisionFPN, build_backbone, build_detector
from archsearch.detection.profiles import QUICK, Profile
from archsearch.graph import select_top
from archsearch.neck import build_neck, count_params
from archsearch.neck.fusion_neck import to_layout
from experiments.benchmarks.timing import interleaved_times


class ChannelsLastFPN(TorchvisionFPN):
    """torchvision's FPN with its outputs (and their gradients) in channels-last layout."""

    def forward(self, features: Sequence[torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
        maps = super().forward(features)
        return OrderedDict((k, to_layout(v, torch.channels_last)) for k, v in maps.items())


def detectors(profile: Profile, connections: int, classes: int) -> dict[str, torch.nn.Module]:
    """FPN (as is and channels-last), dense and pruned detectors of ``profile``, each on a
    backbone of the same shape."""
    models = {}
    for name in ("fpn", "fpn_cl", "dense", "pruned"):
        torch.manual_seed(0)
        body = build_backbone(profile.backbone, profile.levels[0])
        if name.startswith("fpn"):
            kind = ChannelsLastFPN if name == "fpn_cl" else TorchvisionFPN
            neck = kind(body.out_channels_list, profile.channels, profile.levels)
        else:
            neck = build_neck("dense", body.out_channels_list, profile.channels, profile.levels)
        if name == "pruned":
            rng = random.Random(0)
            scores = {c: rng.random() for c in neck.graph.connection_ids}
            neck = neck.pruned(select_top(neck.graph, scores, connections))
        models[name] = build_detector(
            "faster_rcnn", body, neck, classes + 1, **profile.detector_kwargs()
        )
    return models


def synthetic_batch(profile: Profile, classes: int) -> tuple[list, list]:
    """``batch_size`` noise images with 2–6 square objects each, sized like digit scenes."""
    generator = random.Random(0)
    size, (small, large) = profile.min_size, profile.anchor_range
    images = [torch.rand(3, size, size) for _ in range(profile.batch_size)]
    targets = []
    for _ in images:
        boxes = []
        for _ in range(generator.randint(2, 6)):
            side = generator.uniform(small, large)
            x, y = generator.uniform(0, size - side), generator.uniform(0, size - side)
            boxes.append([x, y, x + side, y + side])
        labels = [generator.randint(1, classes) for _ in boxes]
        targets.append({"boxes": torch.tensor(boxes), "labels": torch.tensor(labels)})
    return images, targets


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20, help="timed steps per detector")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=9)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    profile, classes = QUICK, 10
    images, targets = synthetic_batch(profile, classes)
    images = [image.to(device) for image in images]
    targets = [{k: v.to(device) for k, v in t.items()} for t in targets]
    models = detectors(profile, args.connections, classes)

    def step(model: torch.nn.Module):
        model.to(device).train()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

        def run() -> None:
            optimizer.zero_grad(set_to_none=True)
            sum(model(images, targets).values()).backward()
            optimizer.step()

        return run

    runs = {name: step(model) for name, model in models.items()}
    times = interleaved_times(runs, args.repeats, device, warmup=args.warmup)
    batch = profile.batch_size
    print(
        f"device {device}, threads {args.threads}, quick profile: {profile.min_size} px, "
        f"batch {batch}, levels P{profile.levels[0]}-P{profile.levels[1]}, "
        f"{profile.channels} channels, {args.repeats} interleaved steps each"
    )
    for name, model in models.items():
        neck = model.backbone.neck
        wired = len(neck.graph.connection_ids) if hasattr(neck, "graph") else "-"
        median = statistics.median(times[name])
        print(
            f"  {name:7s} connections {wired!s:>3}  neck params {count_params(neck):7d}  "
            f"step {median * 1e3:7.1f} ms  {batch / median:6.1f} images/s"
        )
    for name, goal in (("fpn_cl", None), ("dense", 0.8), ("pruned", 1.0)):
        ratios = [f / t for f, t in zip(times["fpn"], times[name], strict=True)]
        aim = f"  (goal >= {goal})" if goal else "  (reference)"
        print(f"throughput {name}/fpn {statistics.median(ratios):.3f}{aim}")


if __name__ == "__main__":
    main()
