"""How far each backbone map sees: the input extent that reaches one location of it.

The gradient of one location's channels (the map's centre) with respect to a random input
is non-zero exactly over the pixels that location depends on; its extent along a side is the
receptive field. Measured at initialization, on the training profile's backbone:

    python -m experiments.analysis.receptive_field --profile quick --size 256

Whether a pyramid level can see context at a given distance (the `context` scenes' frame)
follows from it.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping

import torch
from torch import nn

from archsearch.detection.profiles import detector_from_profile, get_profile


def receptive_fields(body: nn.Module, size: int, seed: int = 0) -> list[int]:
    """Per map of ``body`` (lowest stride first), the side in pixels of the input region
    that its centre location depends on (gradient above 1e-4 of its largest)."""
    torch.manual_seed(seed)
    body.eval()
    image = torch.randn(1, 3, size, size, requires_grad=True)
    maps = body(image)
    maps = list(maps.values()) if isinstance(maps, Mapping) else list(maps)
    sides = []
    for feature in maps:
        (gradient,) = torch.autograd.grad(
            feature[0, :, feature.shape[-2] // 2, feature.shape[-1] // 2].sum(),
            image,
            retain_graph=True,
        )
        reach = gradient[0].abs().sum(0)
        rows = (reach > 1e-4 * reach.max()).nonzero()[:, 0]
        sides.append(int(rows.max() - rows.min() + 1))
    return sides


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", help="training profile (default quick)")
    parser.add_argument("--size", type=int, default=256, help="input side in pixels")
    args = parser.parse_args()
    profile = get_profile(args.profile)
    body = detector_from_profile(profile, "faster_rcnn", "dense", num_classes=2).backbone.body
    for index, side in enumerate(receptive_fields(body, args.size)):
        print(f"C{profile.levels[0] + index}: {side} px")


if __name__ == "__main__":
    main()
