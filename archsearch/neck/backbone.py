"""The one adapter between a neck and torchvision's detectors, and the anchors and poolers
that follow its levels.

`BackboneWithNeck` mirrors torchvision's `BackboneWithFPN`: a body returning its maps lowest
stride first, any neck on top, and ``out_channels``. Its maps are named as torchvision's
detectors expect by default, by position (``"0"``, ``"1"``...), so a neck over P3–P7 drops
into `FasterRCNN`, `MaskRCNN`, `RetinaNet` and `FCOS` with their default anchor generators
and poolers, as `BackboneWithFPN` does; ``levels`` says which pyramid level each map is.
`BackboneWithFusion` builds one from a torchvision classifier and a fusion graph. The
experiments use the same class (`archsearch.detection.build_detector`), with the anchors
and poolers of `detection_kwargs`, which follow the neck's levels for any level range.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.detection.anchor_utils import AnchorGenerator

from archsearch.graph import FusionGraph
from archsearch.neck.fusion_neck import FusionNeck
from archsearch.neck.roi_align import MultiScaleRoIAlign
from archsearch.weights import ConnectionWeights


def by_position(maps: Mapping[str, torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
    """A neck's maps (``{"P3": ...}``) under torchvision's names, ``"0"``, ``"1"``..."""
    return OrderedDict((str(index), value) for index, value in enumerate(maps.values()))


class BackboneWithNeck(nn.Module):
    """A body followed by any neck, with ``out_channels`` and ``levels``, as torchvision's
    detectors take a backbone.

    The body returns its maps lowest stride first, as a sequence or a mapping
    (`IntermediateLayerGetter`'s). The neck is ``self.neck`` so that a pruning strategy
    swaps it in one assignment.
    """

    def __init__(self, body: nn.Module, neck: nn.Module) -> None:
        super().__init__()
        self.body, self.neck = body, neck
        self.out_channels = neck.out_channels

    @property
    def levels(self) -> list[int]:
        """The pyramid level of each output map: map ``str(i)`` is level ``levels[i]``."""
        return list(self.neck.levels)

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        maps = self.body(images)
        return by_position(self.neck(list(maps.values()) if isinstance(maps, Mapping) else maps))


class BackboneWithFusion(BackboneWithNeck):
    """A backbone's intermediate layers followed by a `FusionNeck`.

    Args mirror `torchvision.models.detection.backbone_utils.BackboneWithFPN`:
        backbone: e.g. a torchvision ResNet.
        return_layers: ``{module name: any name}`` of the layers feeding the neck, lowest first
            (``{"layer2": "C3", "layer3": "C4", "layer4": "C5"}`` for a ResNet).
        in_channels_list: their channels.
        graph: the fusion graph; channels: the neck's width; weights: optional weight object.
    """

    def __init__(
        self,
        backbone: nn.Module,
        return_layers: Mapping[str, str],
        in_channels_list: Sequence[int],
        graph: FusionGraph,
        channels: int,
        weights: ConnectionWeights | None = None,
    ) -> None:
        body = IntermediateLayerGetter(backbone, return_layers=dict(return_layers))
        super().__init__(body, FusionNeck(graph, in_channels_list, channels, weights))


def anchor_sizes(levels: Sequence[int], smallest: float, largest: float) -> list[float]:
    """One anchor size per level, geometric from ``smallest`` (lowest) to ``largest``.

    Sizes follow the strides in order, spread over the objects' range rather than fixed at
    a multiple of the stride, so small images get anchors that match their objects.
    """
    if len(levels) == 1:
        return [math.sqrt(smallest * largest)]
    ratio = (largest / smallest) ** (1 / (len(levels) - 1))
    return [smallest * ratio**index for index in range(len(levels))]


def level_anchors(
    levels: Sequence[int],
    sizes: Sequence[float] | None = None,
    aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
    scales: Sequence[float] = (1.0,),
) -> AnchorGenerator:
    """Anchors following the levels: ``sizes[i]`` (default 4× the stride) times each scale."""
    sizes = sizes or [4.0 * 2**level for level in levels]
    per_level = tuple(tuple(round(size * scale, 2) for scale in scales) for size in sizes)
    return AnchorGenerator(per_level, (tuple(aspect_ratios),) * len(per_level))


def level_roi_pool(
    levels: Sequence[int], output_size: int = 7, canonical_scale: int = 224, sampling: int = 2
) -> MultiScaleRoIAlign:
    """RoIAlign over every level but the top one (torchvision pools P2–P5 of P2–P6), by the
    positional names of `BackboneWithNeck`.

    ``canonical_scale`` is the box size assigned to level 4 (FPN eq. 1); lower it for small
    images so that their boxes spread over the levels rather than all falling to the lowest.
    ``sampling``: points per bin side (torchvision: 2); 1 quarters RoIAlign's cost. On the
    CPU, training pools with `archsearch.neck.roi_align` (torchvision's function, faster).
    """
    names = [str(index) for index in range(max(len(levels) - 1, 1))]
    return MultiScaleRoIAlign(names, output_size, sampling, canonical_scale=canonical_scale)


def detection_kwargs(levels: Sequence[int], masks: bool = False) -> dict[str, nn.Module]:
    """Keyword arguments for `FasterRCNN` / `MaskRCNN` whose anchors and poolers follow the
    neck's levels (anchors 4× each level's stride), for any level range."""
    kwargs: dict[str, nn.Module] = {
        "rpn_anchor_generator": level_anchors(levels),
        "box_roi_pool": level_roi_pool(levels),
    }
    if masks:
        kwargs["mask_roi_pool"] = level_roi_pool(levels, output_size=14)
    return kwargs
