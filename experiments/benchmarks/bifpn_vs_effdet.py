"""Our graph-compiled BiFPN cell against effdet's hand-written `BiFpn`, same maps, one process.

Both necks get the same P3–P7 maps (``channels`` wide) and run one cell (no repeats), with
fast-attention weights and separable convs, forward and backward, interleaved (these
machines are noisy); ReLU on both sides, as our block uses. The laterals are no part of
either cell: effdet's starts from pyramid maps, and ours is timed through `FusionNeck.fuse`,
which starts below the laterals. The differences that remain are the
designs': our resize is bilinear (effdet: max-pool down, nearest up) and our neck adds the
paper's residuals (sec. 4.1.1). The goal: ours/effdet ≤ 0.9 (compiling from a graph costs
nothing). effdet is a benchmark-only extra (``pip install -e .[bench]``).

    python -m experiments.benchmarks.bifpn_vs_effdet --channels 64 160 --sizes 256 512
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
from collections.abc import Callable

import torch
from torch import nn

from archsearch.graph import build_graph
from archsearch.neck import FusionNeck
from experiments.benchmarks.timing import interleaved_times

LEVELS = (3, 7)


def ours(channels: int) -> Callable[[list[torch.Tensor]], dict]:
    """Our BiFPN: the ``bifpn`` graph compiled by `FusionNeck`, timed from its pyramid maps."""
    return FusionNeck(build_graph("bifpn", LEVELS), [channels], channels).train().fuse


def effdet_bifpn(channels: int, image_size: tuple[int, int]) -> nn.Module:
    """effdet's `BiFpn`, one cell, fast attention, separable convs, ReLU, P3–P7 inputs."""
    from effdet.config import default_detection_model_configs
    from effdet.efficientdet import BiFpn

    config = default_detection_model_configs()
    config.update(
        fpn_name="bifpn_fa",
        fpn_channels=channels,
        fpn_cell_repeats=1,
        min_level=LEVELS[0],
        max_level=LEVELS[1],
        num_levels=LEVELS[1] - LEVELS[0] + 1,
        image_size=list(image_size),
        pad_type="",
        act_type="relu",
        separable_conv=True,
        redundant_bias=False,
    )
    levels = range(LEVELS[0], LEVELS[1] + 1)
    return BiFpn(config, [{"num_chs": channels, "reduction": 2**level} for level in levels])


def pyramid(channels: int, size: int, batch: int) -> list[torch.Tensor]:
    """P3–P7 maps of a ``size``² image, sizes rounded up per octave as both necks expect."""
    maps, side = [], size
    for level in range(1, LEVELS[1] + 1):
        side = (side + 1) // 2
        if level >= LEVELS[0]:
            maps.append(torch.randn(batch, channels, side, side))
    return maps


def train_step(neck: Callable, maps: list[torch.Tensor]) -> Callable[[], None]:
    def run() -> None:
        outputs = neck(list(maps))  # effdet's BiFpn appends to the list it is given
        values = outputs.values() if isinstance(outputs, dict) else outputs
        sum(v.mean() for v in values).backward()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[64, 160])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512])
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    if importlib.util.find_spec("effdet") is None:
        raise SystemExit("effdet is not installed: pip install -e .[bench] (or pip install effdet)")
    torch.manual_seed(0)
    torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    print(f"device cpu, {args.threads} threads, batch {args.batch}, forward+backward, one cell")
    for channels in args.channels:
        for size in args.sizes:
            maps = pyramid(channels, size, args.batch)
            necks = {
                "ours": ours(channels),
                "effdet": effdet_bifpn(channels, (size, size)).train(),
            }
            runs = {name: train_step(neck, maps) for name, neck in necks.items()}
            times = interleaved_times(runs, args.repeats, device)
            ratio = statistics.median(
                a / b for a, b in zip(times["ours"], times["effdet"], strict=True)
            )
            medians = "  ".join(
                f"{name} {statistics.median(t) * 1e3:7.2f} ms" for name, t in times.items()
            )
            print(f"channels {channels:3d}  {size}x{size}  {medians}  ours/effdet {ratio:.3f}")


if __name__ == "__main__":
    main()
