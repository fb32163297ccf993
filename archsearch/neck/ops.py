"""Fusion operations: what a block does with its (resized) inputs and their weights.

Each op is a module built as ``op(channels, num_inputs)`` and called as
``op(features, weights)``: ``features`` a list of maps already resized to the block's level,
``weights`` the block's slice of the connection-weight vector after ReLU, shape ``[m]``, or
``[K, m]`` for K weight samples over a batch of K·B images. Ops register by name; a graph
node's ``op`` attribute names one.
"""

from __future__ import annotations

import torch
from torch import nn

from archsearch.errors import GraphError
from archsearch.registry import Registry

FUSION_OPS: Registry[type[nn.Module]] = Registry("fusion op", "archsearch.fusion_ops", GraphError)
register_op = FUSION_OPS.register


class SeparableConvBlock(nn.Sequential):
    """3×3 depthwise-separable conv, BN, ReLU: the paper's block (sec. 4.1.1)."""

    def __init__(self, channels: int) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )


def scale(feature: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """``feature * weight`` where ``weight`` is a scalar, or one value per sample group.

    With ``weight`` of shape ``[K]`` and ``feature`` a batch of K·B maps, sample group k (B
    consecutive images) is scaled by ``weight[k]``: this is how K weight samples share one
    batched pass.
    """
    if weight.dim() == 0:
        return feature * weight
    groups = weight.shape[0]
    batch = feature.shape[0] // groups
    return feature * weight.repeat_interleave(batch).view(-1, 1, 1, 1)


@register_op("fast_normalized")
class FastNormalizedFusion(nn.Module):
    """Fast normalized fusion, eq. 1: ``Conv(Σ w_i F_i / (Σ w_i + ε))`` with ``w_i ≥ 0``."""

    def __init__(self, channels: int, num_inputs: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps
        self.conv = SeparableConvBlock(channels)

    def forward(self, features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        fused = scale(features[0], weights[..., 0])
        for index in range(1, len(features)):
            fused = fused + scale(features[index], weights[..., index])
        return self.conv(scale(fused, 1.0 / (weights.sum(-1) + self.eps)))
