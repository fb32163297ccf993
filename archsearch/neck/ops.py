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
    """3×3 depthwise-separable conv, BN, ReLU: the paper's block (sec. 4.1.1).

    ``block(feature, weight)`` is ``block(weight * feature)`` for one weight (shape ``[]`` or
    ``[1]``), with the weight folded into the depthwise kernel (the conv is linear and has
    no bias): the kernel has 9 values per channel where the map has thousands, so a
    one-input block, the commonest kind in a pruned neck, skips a pass over its map
    forward and two backward.
    """

    def __init__(self, channels: int) -> None:
        super().__init__(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.Conv2d(channels, channels, 1, bias=False),
            nn.BatchNorm2d(channels),
            nn.ReLU(inplace=True),
        )

    def forward(self, feature: torch.Tensor, weight: torch.Tensor | None = None) -> torch.Tensor:
        depthwise, *rest = self
        kernel = depthwise.weight if weight is None else depthwise.weight * weight
        feature = depthwise._conv_forward(feature, kernel, None)  # Conv2d's own call
        for module in rest:
            feature = module(feature)
        return feature


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


def weighted_sum(features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
    """``Σ w_i F_i``, each weight a scalar or one value per sample group (see `scale`)."""
    parts = weights.unbind(-1)  # one autograd node for all m weights, not m selections
    fused = scale(features[0], parts[0])
    for feature, weight in zip(features[1:], parts[1:], strict=True):
        fused = fused + scale(feature, weight)
    return fused


def convolve_weighted_sum(
    conv: SeparableConvBlock, features: list[torch.Tensor], weights: torch.Tensor
) -> torch.Tensor:
    """``conv(Σ w_i F_i)``; a lone input's weight (shape ``[1]``) goes into the kernel instead."""
    if len(features) == 1 and weights.dim() == 1:
        return conv(features[0], weights)
    return conv(weighted_sum(features, weights))


@register_op("fast_normalized")
class FastNormalizedFusion(nn.Module):
    """Fast normalized fusion, eq. 1: ``Conv(Σ w_i F_i / (Σ w_i + ε))`` with ``w_i ≥ 0``.

    A block with one input is ``Conv(F)``: its one normalized weight is 1 whatever the
    positive weight (ε only guards the division), so the weight carries nothing but its
    sign. Taken literally, a draw at or below 0 from a posterior would switch the block's
    level off (``ReLU``), and since the loss gives such a weight no gradient while it is
    positive, the KL alone drives its mean toward 0: the level would be dropped in about
    half the training steps, and kept at evaluation.
    """

    def __init__(self, channels: int, num_inputs: int, eps: float = 1e-4) -> None:
        super().__init__()
        self.eps = eps
        self.conv = SeparableConvBlock(channels)

    def forward(self, features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        if len(features) == 1:
            return self.conv(features[0])
        # Normalizing the m weights instead of the fused map saves a pass over the map.
        normalized = weights / (weights.sum(-1, keepdim=True) + self.eps)
        return convolve_weighted_sum(self.conv, features, normalized)


@register_op("sum")
class WeightedSum(nn.Module):
    """The sum merge of FPN, PANet and NAS-FPN: ``Conv(Σ w_i F_i)``, eq. 1 without normalizing.

    The originals add their inputs plainly; here each input keeps its connection weight so
    that every connection of every baseline can be scaled, sampled and pruned alike. With the
    weights at their initial value 1 this is the plain sum.
    """

    def __init__(self, channels: int, num_inputs: int) -> None:
        super().__init__()
        self.conv = SeparableConvBlock(channels)

    def forward(self, features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        return convolve_weighted_sum(self.conv, features, weights)


@register_op("concat")
class ConcatFusion(nn.Module):
    """HRNet's fusion (HRFPN): ``Conv(Conv1×1([w_1 F_1, …, w_m F_m]))``.

    The inputs, weighted, are concatenated along channels in the graph's input order and
    reduced back to ``channels`` by a 1×1 conv, then pass the paper's block. The 1×1 conv
    has ``num_inputs · channels`` input channels, so a pruned block is built afresh.
    """

    def __init__(self, channels: int, num_inputs: int) -> None:
        super().__init__()
        self.reduce = nn.Conv2d(num_inputs * channels, channels, 1, bias=False)
        self.conv = SeparableConvBlock(channels)

    def forward(self, features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        weighted = [scale(feature, weights[..., i]) for i, feature in enumerate(features)]
        return self.conv(self.reduce(torch.cat(weighted, dim=1)))


@register_op("global_pool")
class GlobalPoolFusion(nn.Module):
    """NAS-FPN's global-pooling merge cell (Ghiasi et al., 2019, Figure 6), weighted.

    With ``A = w_m F_m`` the **last** input (in the graph's input order: deepest layer, then
    highest level, which in the NAS-FPN cell is always the coarser map of the pair),
    ``G = w_{m-1} F_{m-1}`` the one before it and ``P_i = w_i F_i`` any earlier ones::

        Conv(A + G · sigmoid(GAP(A)) + Σ_i P_i)

    so the coarser map's global context gates the finer one (as in the authors' TensorFlow
    code, which pools with a global max; we follow the paper's global pooling, an average).
    The earlier inputs are NAS-FPN's output cells adding their own level's unused input,
    "sum(P5, gp(P4_out, P3_out))", as one block of three connections. The gate is computed
    from the weighted ``A``, so a zero weight silences that connection entirely; a block
    left with one input by pruning is ``Conv(A)``.
    """

    def __init__(self, channels: int, num_inputs: int) -> None:
        super().__init__()
        self.conv = SeparableConvBlock(channels)

    def forward(self, features: list[torch.Tensor], weights: torch.Tensor) -> torch.Tensor:
        if len(features) == 1:
            return convolve_weighted_sum(self.conv, features, weights)
        fused = scale(features[-1], weights[..., -1])
        gate = torch.sigmoid(fused.mean(dim=(-2, -1), keepdim=True))
        fused = fused + scale(features[-2], weights[..., -2]) * gate
        if len(features) > 2:
            fused = fused + weighted_sum(features[:-2], weights[..., :-2])
        return self.conv(fused)
