"""Plugging a `FusionNeck` into torchvision's detectors.

`BackboneWithFusion` mirrors torchvision's `BackboneWithFPN`: a body returning intermediate
layers, a neck on top, and ``out_channels``. Its maps are named as torchvision's detectors
expect by default, by position, lowest stride first (``"0"``, ``"1"``...), so a dense neck
over P3–P7 drops into `FasterRCNN`, `MaskRCNN`, `RetinaNet` and `FCOS` with their default
anchor generators and poolers, as `BackboneWithFPN` does; ``levels`` says which pyramid
level each map is. `detection_kwargs` gives anchors and poolers that follow the neck's
levels for any other level range.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping, Sequence

import torch
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.detection.anchor_utils import AnchorGenerator
from torchvision.ops import MultiScaleRoIAlign

from archsearch.graph import FusionGraph
from archsearch.neck.fusion_neck import FusionNeck
from archsearch.weights import ConnectionWeights


class BackboneWithFusion(nn.Module):
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
        super().__init__()
        self.body = IntermediateLayerGetter(backbone, return_layers=dict(return_layers))
        self.neck = FusionNeck(graph, in_channels_list, channels, weights)
        self.out_channels = channels

    @property
    def levels(self) -> list[int]:
        """The pyramid level of each output map: map ``str(i)`` is level ``levels[i]``."""
        return list(self.neck.levels)

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        maps = self.neck(list(self.body(images).values())).values()
        return OrderedDict((str(index), m) for index, m in enumerate(maps))


def anchor_generator(
    levels: Sequence[int], aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0), scale: float = 4.0
) -> AnchorGenerator:
    """One anchor size per level, ``scale`` times its stride (P3: 32 px … P7: 512 px)."""
    sizes = tuple((int(scale * 2**level),) for level in levels)
    return AnchorGenerator(sizes, (tuple(aspect_ratios),) * len(sizes))


def roi_pool(levels: Sequence[int], output_size: int = 7) -> MultiScaleRoIAlign:
    """RoIAlign over every level but the top one, as torchvision pools P2–P5 of P2–P6."""
    names = [str(index) for index in range(max(len(levels) - 1, 1))]
    return MultiScaleRoIAlign(featmap_names=names, output_size=output_size, sampling_ratio=2)


def detection_kwargs(levels: Sequence[int], masks: bool = False) -> dict[str, nn.Module]:
    """Keyword arguments for `FasterRCNN` / `MaskRCNN` that follow the neck's levels."""
    kwargs: dict[str, nn.Module] = {
        "rpn_anchor_generator": anchor_generator(levels),
        "box_roi_pool": roi_pool(levels),
    }
    if masks:
        kwargs["mask_roi_pool"] = roi_pool(levels, output_size=14)
    return kwargs
