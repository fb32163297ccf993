"""RoIAlign forward and backward on the CPU: `archsearch.neck.roi_align` over torchvision's.

The quick profile's box pooling, as one training step sees it: 16 images, 64 channels, the
four pooled levels (32² … 4² at strides 4 … 32), 2,048 RoIs spread over them, 7×7 bins,
one sampling point per bin (``--sampling``). Both ops run in turn, forward then backward,
interleaved, at each thread count; the ratio is torchvision's time over ours. The same
ratio at one and at two threads says how much each gains from the second core.

    python -m experiments.benchmarks.roi_align --threads 1 2
"""

from __future__ import annotations

import argparse
import statistics

import torch
from torchvision.ops import roi_align as torchvision_roi_align

from archsearch.neck.roi_align import roi_align
from experiments.benchmarks.timing import interleaved_times

IMAGES, CHANNELS, ROIS, SIZE = 16, 64, 2048, 128


def level_inputs(generator: torch.Generator) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """(maps, RoIs, scale) per level: channels-last maps, as the fusion neck hands them on,
    and RoIs sized for the level (FPN's mapping: a box twice as wide one level up)."""
    levels = []
    for level in range(4):
        scale, side = 1 / 2 ** (2 + level), SIZE >> (2 + level)
        maps = torch.randn(IMAGES, CHANNELS, side, side, generator=generator)
        maps = maps.to(memory_format=torch.channels_last).requires_grad_(True)
        count = ROIS // 4
        width = (torch.rand(count, 2, generator=generator) + 1) * 8 * 2**level
        corner = torch.rand(count, 2, generator=generator) * (SIZE - width)
        image = torch.randint(0, IMAGES, (count, 1), generator=generator).float()
        levels.append((maps, torch.cat([image, corner, corner + width], dim=1), scale))
    return levels


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--sampling", type=int, default=1)
    args = parser.parse_args()
    levels = level_inputs(torch.Generator().manual_seed(0))

    def step(op):
        def run() -> None:
            pooled = [op(maps, rois, (7, 7), scale, args.sampling) for maps, rois, scale in levels]
            torch.cat(pooled).sum().backward()

        return run

    runs = {"torchvision": step(torchvision_roi_align), "grid_sample": step(roi_align)}
    print(
        f"{IMAGES} images, {CHANNELS} channels, {ROIS} RoIs on 4 levels, sampling {args.sampling}"
    )
    for threads in args.threads:
        torch.set_num_threads(threads)
        times = interleaved_times(runs, args.repeats, torch.device("cpu"))
        medians = {name: statistics.median(values) * 1e3 for name, values in times.items()}
        ratios = [t / g for t, g in zip(times["torchvision"], times["grid_sample"], strict=True)]
        print(
            f"  {threads} thread(s): torchvision {medians['torchvision']:6.1f} ms, "
            f"grid_sample {medians['grid_sample']:6.1f} ms, "
            f"speed-up {statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    main()
