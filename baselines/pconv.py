"""PConv, the pyramid convolution of SEPC (Wang et al., 2020): a module neck, not a graph.

Pyramid convolution is a 3-D convolution over (level, height, width): at every level the
output sums three kernels, shared by all levels, applied to the level below (stride 2), the
level itself, and the level above (then upsampled); the sums pass one batch norm whose
statistics span every level (SEPC's integrated BN) and a ReLU. Its kernels are shared across
levels and each output reads all three neighbours, so it is no graph of fusion blocks.

One cell on the neck's laterals, with the neck's residuals (sec. 4.1.1), so it compares
with the graph necks like for like. SEPC uses full 3×3 kernels; we use the paper's 3×3
depthwise-separable ones, as its Table 1 suggests: PConv's 1.25M parameters are 0.35M below
BiFPN's 1.60M, the size of five separable 256-channel blocks, three of them being PConv's
kernels and eight BiFPN's blocks.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from archsearch.graph import DEFAULT_LEVELS
from archsearch.neck.catalog import register_neck_module
from archsearch.neck.fusion_neck import Laterals, resize


def separable(channels: int, stride: int = 1) -> nn.Sequential:
    """A 3×3 depthwise-separable conv without bias (a batch norm follows)."""
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, stride, 1, groups=channels, bias=False),
        nn.Conv2d(channels, channels, 1, bias=False),
    )


def integrated_norm(maps: list[torch.Tensor], norm: nn.BatchNorm1d) -> list[torch.Tensor]:
    """Batch-normalize every level with statistics over all of them (SEPC's iBN)."""
    flat = torch.cat([m.flatten(2) for m in maps], dim=2)
    parts = norm(flat).split([m.shape[-2] * m.shape[-1] for m in maps], dim=2)
    return [part.view_as(m) for part, m in zip(parts, maps, strict=True)]


@register_neck_module("pconv")
class PConv(nn.Module):
    """Laterals, one pyramid convolution, residuals: ``{"P3": ...}`` from backbone maps.

    Args:
        in_channels: channels of the backbone maps feeding the lowest levels (C3–C5).
        channels: width of every pyramid map.
        levels: the inclusive output level range, P3–P7 by default.
    """

    def __init__(
        self, in_channels: Sequence[int], channels: int, levels: tuple[int, int] = DEFAULT_LEVELS
    ) -> None:
        super().__init__()
        self.in_channels = list(in_channels)
        self.out_channels = channels
        self.levels = list(range(levels[0], levels[1] + 1))
        self.laterals = Laterals(in_channels, channels, len(self.levels))
        self.below = separable(channels, stride=2)
        self.same = separable(channels)
        self.above = separable(channels)
        self.norm = nn.BatchNorm1d(channels)

    def forward(self, features: Sequence[torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
        inputs = self.laterals(features)
        sums = []
        for index, x in enumerate(inputs):
            size = x.shape[-2:]
            fused = self.same(x)
            if index > 0:
                fused = fused + resize(self.below(inputs[index - 1]), size)
            if index + 1 < len(inputs):
                fused = fused + resize(self.above(inputs[index + 1]), size)
            sums.append(fused)
        fused = integrated_norm(sums, self.norm)
        return OrderedDict(
            (f"P{level}", F.relu(y) + x)
            for level, y, x in zip(self.levels, fused, inputs, strict=True)
        )
