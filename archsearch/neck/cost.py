"""Parameters and FLOPs of a neck, counted by torch's own `FlopCounterMode`.

A neck here is any module fed by backbone maps with ``in_channels`` and ``levels``
attributes: a `FusionNeck`, or a module neck of `archsearch.neck.catalog`.

FLOPs count what `FlopCounterMode` counts (convolutions and matrix products, 2 per
multiply-add); resizes and elementwise sums are not FLOPs to it, so latency is measured
separately by the benchmarks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


@dataclass(frozen=True)
class NeckCost:
    params: int
    flops: int
    image_size: tuple[int, int]


def backbone_shapes(neck: nn.Module, image_size: tuple[int, int], batch: int = 1) -> list:
    """Shapes of the backbone maps a neck expects for an image of ``image_size`` (H, W).

    The map feeding level ``l`` has stride ``2**l`` (C3 at 1/8 for P3).
    """
    height, width = image_size
    return [
        (batch, channels, math.ceil(height / 2**level), math.ceil(width / 2**level))
        for channels, level in zip(neck.in_channels, neck.levels, strict=False)
    ]


def count_params(module: nn.Module) -> int:
    """The number of parameters of ``module``, trainable or not."""
    return sum(p.numel() for p in module.parameters())


def neck_cost(neck: nn.Module, image_size: tuple[int, int] = (512, 512)) -> NeckCost:
    """Parameters and forward FLOPs of ``neck`` for one image of ``image_size``."""
    device = next(neck.parameters()).device
    features = [torch.zeros(shape, device=device) for shape in backbone_shapes(neck, image_size)]
    was_training = neck.training
    neck.eval()
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        neck(features)
    neck.train(was_training)
    return NeckCost(count_params(neck), int(counter.get_total_flops()), tuple(image_size))
