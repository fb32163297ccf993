"""Plugging a `FusionNeck` into torchvision's detectors.

`BackboneWithFusion` mirrors torchvision's `BackboneWithFPN`: a body returning intermediate
layers, a neck on top, and ``out_channels``. Its maps are named after their levels
(``"P3"``…``"P7"``), so `detection_kwargs` gives the anchor generator and RoI poolers that
follow the neck's levels: nobody configures feature-map names by hand.
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

    def forward(self, images: torch.Tensor) -> OrderedDict[str, torch.Tensor]:
        return self.neck(list(self.body(images).values()))


def anchor_generator(
    levels: Sequence[int], aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0), scale: float = 4.0
) -> AnchorGenerator:
    """One anchor size per level, ``scale`` times its stride (P3: 32 px … P7: 512 px)."""
    sizes = tuple((int(scale * 2**level),) for level in levels)
    return AnchorGenerator(sizes, (tuple(aspect_ratios),) * len(sizes))


def roi_pool(levels: Sequence[int], output_size: int = 7) -> MultiScaleRoIAlign:
    """RoIAlign over every level but the top one, as torchvision pools P2–P5 of P2–P6."""
    names = [f"P{level}" for level in levels[:-1]] or [f"P{levels[0]}"]
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
