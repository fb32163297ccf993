"""Detectors built from objects: a backbone body, a neck, torchvision's heads.

`build_detector(kind, backbone, neck, num_classes)` composes torchvision's Faster R-CNN,
Mask R-CNN, RetinaNet or FCOS around `archsearch.neck.BackboneWithNeck`, the adapter users
put in their own detectors too. The anchor generator and the RoI poolers are derived from
the neck's ``levels``, so no caller names feature maps or lists anchor sizes by hand.

Backbones are bodies that return their maps lowest stride first: a torchvision ResNet cut at
the stages feeding the neck (C3–C5 for P3–P7, C2–C4 for P2–P6), or `SmallResNet`, a
three-stage residual net sized for 128 px images on a CPU. Weights load from a local file
only: nothing is downloaded.
"""

from __future__ import annotations

import difflib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path

import torch
import torchvision
from torch import nn
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.detection import FCOS, FasterRCNN, MaskRCNN, RetinaNet
from torchvision.models.detection.faster_rcnn import FastRCNNPredictor, TwoMLPHead
from torchvision.models.detection.mask_rcnn import MaskRCNNHeads, MaskRCNNPredictor
from torchvision.models.resnet import BasicBlock
from torchvision.ops import FeaturePyramidNetwork
from torchvision.ops.feature_pyramid_network import LastLevelMaxPool, LastLevelP6P7
from torchvision.ops.misc import FrozenBatchNorm2d

from archsearch.errors import ConfigError
from archsearch.neck.backbone import (
    BackboneWithNeck,
    anchor_sizes,
    level_anchors,
    level_roi_pool,
)

DETECTORS = ("faster_rcnn", "mask_rcnn", "retinanet", "fcos")
RESNETS = ("resnet18", "resnet34", "resnet50", "resnet101")


class SmallResNet(nn.Module):
    """A residual body with maps at strides 4, 8, 16 (widths 32/64/128 by default).

    Sized for the CPU quick profile: at 128 px its three maps feed P2–P4 of a P2–P6 neck.
    A stride-2 stem then one stage of ``depth`` basic blocks per width, each halving the map.
    """

    def __init__(self, widths: Sequence[int] = (32, 64, 128), depth: int = 1) -> None:
        super().__init__()
        stem = widths[0] // 2
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.ReLU(inplace=True)
        )
        self.stages = nn.ModuleList()
        previous = stem
        for width in widths:
            down = nn.Sequential(
                nn.Conv2d(previous, width, 1, 2, bias=False), nn.BatchNorm2d(width)
            )
            blocks = [BasicBlock(previous, width, 2, down)]
            blocks += [BasicBlock(width, width) for _ in range(depth - 1)]
            self.stages.append(nn.Sequential(*blocks))
            previous = width
        self.out_channels_list = list(widths)
        self.strides = [4 * 2**index for index in range(len(widths))]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        maps, x = [], self.stem(images)
        for stage in self.stages:
            x = stage(x)
            maps.append(x)
        return maps


class ResNetBody(nn.Module):
    """A torchvision ResNet returning the three stages that feed the neck's lowest levels.

    ``lowest_level`` 3 returns C3–C5 (the paper's P3–P7); 2 returns C2–C4 (for P2–P6).
    ``weights_path``: a local ``state_dict`` file (e.g. ImageNet weights copied by hand); with
    it, batch norm is frozen as torchvision does for pretrained detection backbones.
    """

    def __init__(
        self, name: str = "resnet50", lowest_level: int = 3, weights_path: Path | None = None
    ) -> None:
        super().__init__()
        if name not in RESNETS:
            raise ConfigError(f"unknown backbone {name!r}; known: small, {', '.join(RESNETS)}")
        if lowest_level not in (2, 3):
            raise ConfigError(f"a ResNet feeds levels from P2 or P3, not P{lowest_level}")
        norm = FrozenBatchNorm2d if weights_path else nn.BatchNorm2d
        resnet = getattr(torchvision.models, name)(weights=None, norm_layer=norm)
        if weights_path:
            _load_into(resnet, weights_path, name, ignore=("fc.",))
        stages = range(lowest_level - 1, lowest_level + 2)
        layers = {f"layer{stage}": f"C{stage + 1}" for stage in stages}
        self.body = IntermediateLayerGetter(resnet, return_layers=layers)
        expansion = 4 if name in ("resnet50", "resnet101") else 1
        self.out_channels_list = [64 * 2 ** (stage - 1) * expansion for stage in stages]
        self.strides = [2 ** (stage + 1) for stage in stages]

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body(images).values())


class TimmBody(nn.Module):
    """Any timm model built with ``features_only``: the three maps of strides
    2^``lowest_level`` to 2^(``lowest_level`` + 2), channels and strides from timm's own
    ``feature_info``. Random initialization, or a local ``state_dict`` file (the model's, its
    classifier's keys ignored); nothing is downloaded.
    """

    def __init__(self, name: str, lowest_level: int = 3, weights_path: Path | None = None):
        super().__init__()
        try:
            import timm
        except ImportError:
            raise ConfigError(
                f"backbone 'timm:{name}' needs timm: pip install -e \".[timm]\""
            ) from None
        known = timm.list_models()
        if name not in known:
            close = ", ".join(difflib.get_close_matches(name, known, n=3)) or "none close"
            raise ConfigError(f"unknown timm model {name!r}; closest: {close}")
        every = timm.create_model(name, features_only=True, pretrained=False)
        reductions = every.feature_info.reduction()
        wanted = [2**level for level in range(lowest_level, lowest_level + 3)]
        if not set(wanted) <= set(reductions):
            raise ConfigError(
                f"timm model {name!r} has maps of strides {reductions}, not {wanted} "
                f"for levels P{lowest_level}-P{lowest_level + 2}"
            )
        indices = [reductions.index(stride) for stride in wanted]
        # timm's own loader maps a whole model's keys onto the feature model's; a local file
        # in place of the hub (``pretrained_cfg_overlay``), so nothing is downloaded
        local = {"pretrained": True, "pretrained_cfg_overlay": {"file": str(weights_path)}}
        if weights_path and not Path(weights_path).is_file():
            raise ConfigError(f"backbone weights file {weights_path} does not exist")
        try:
            self.body = timm.create_model(
                name,
                features_only=True,
                out_indices=indices,
                **(local if weights_path else {"pretrained": False}),
            )
        except Exception as error:  # timm raises several types for a file that does not fit
            reason = " ".join(str(error).split())[:160]
            raise ConfigError(
                f"{weights_path}: not weights of timm model {name!r} ({reason})"
            ) from None
        self.out_channels_list = list(self.body.feature_info.channels())
        self.strides = list(self.body.feature_info.reduction())

    def forward(self, images: torch.Tensor) -> list[torch.Tensor]:
        return list(self.body(images))


def build_backbone(
    name: str, lowest_level: int = 3, weights_path: Path | None = None, **kwargs
) -> nn.Module:
    """``"small"`` (`SmallResNet`, kwargs ``widths``/``depth``), a torchvision ResNet name,
    or ``"timm:<model>"`` (`TimmBody`)."""
    if name.startswith("timm:"):
        return TimmBody(name.removeprefix("timm:"), lowest_level, weights_path)
    if name == "small":
        body = SmallResNet(**kwargs)
        if lowest_level != 2:
            raise ConfigError("the small backbone's maps (strides 4, 8, 16) feed P2 upward")
        if weights_path:
            _load_into(body, weights_path, name)
        return body
    return ResNetBody(name, lowest_level, weights_path)


def _load_into(module: nn.Module, path: Path, name: str, ignore: tuple[str, ...] = ()) -> None:
    """Load a local weights file (data only) into ``module``: every parameter of ``module``
    but those under ``ignore`` (a classifier the detector drops) must be in it, in shape."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"backbone weights file {path} does not exist")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        missing, unexpected = module.load_state_dict(state, strict=False)
    except Exception as error:  # not a state dict, unpicklable, or tensors of other shapes
        reason = " ".join(str(error).split())[:160]
        raise ConfigError(f"{path}: not weights of backbone {name!r} ({reason})") from None
    wrong = [key for key in [*missing, *unexpected] if not key.startswith(ignore)]
    if wrong:
        raise ConfigError(f"{path}: not weights of backbone {name!r} (key {wrong[0]!r})")


class TorchvisionFPN(nn.Module):
    """torchvision's own `FeaturePyramidNetwork`, named and shaped like our necks.

    The reference the fusion neck is measured against: FPN over the backbone maps, then one
    extra level by max-pooling (torchvision's default) or two by stride-2 convs (P6, P7 as
    in RetinaNet), so it yields the same levels as a `FusionNeck` over ``levels``.
    """

    def __init__(
        self, in_channels: Sequence[int], channels: int, levels: tuple[int, int] = (3, 7)
    ) -> None:
        super().__init__()
        self.in_channels, self.out_channels = list(in_channels), channels
        self.levels = list(range(levels[0], levels[1] + 1))
        extra = len(self.levels) - len(self.in_channels)
        blocks = {0: None, 1: LastLevelMaxPool(), 2: LastLevelP6P7(channels, channels)}
        if extra not in blocks:
            raise ConfigError(f"torchvision's FPN cannot add {extra} levels to its inputs")
        self.fpn = FeaturePyramidNetwork(self.in_channels, channels, blocks[extra])

    def forward(self, features: Sequence[torch.Tensor]) -> OrderedDict[str, torch.Tensor]:
        maps = self.fpn(OrderedDict((str(i), f) for i, f in enumerate(features)))
        return OrderedDict(zip((f"P{level}" for level in self.levels), maps.values(), strict=True))


def build_detector(
    kind: str,
    backbone: nn.Module,
    neck: nn.Module,
    num_classes: int,
    *,
    anchor_range: tuple[float, float] | None = None,
    aspect_ratios: Sequence[float] = (0.5, 1.0, 2.0),
    canonical_scale: int = 224,
    roi_sampling: int = 2,
    box_head_width: int = 1024,
    mask_head_width: int = 256,
    **kwargs,
) -> nn.Module:
    """A torchvision detector over ``backbone`` → ``neck``, configured from ``neck.levels``.

    Args:
        kind: one of `DETECTORS`.
        backbone: a body returning maps lowest stride first (`build_backbone`).
        neck: any neck with ``levels`` and ``out_channels`` (`archsearch.neck.build_neck`,
            a `FusionNeck`, `TorchvisionFPN`).
        num_classes: including the background class.
        anchor_range: smallest and largest anchor size, spread over the levels; default
            4× each level's stride (FCOS always uses the strides).
        canonical_scale, roi_sampling: see `level_roi_pool`.
        box_head_width, mask_head_width: R-CNN head widths (torchvision: 1024 and 256).
        kwargs: passed to the torchvision detector (``min_size``, ``rpn_*``, ``box_*``...).
    """
    levels = list(neck.levels)
    sizes = anchor_sizes(levels, *anchor_range) if anchor_range else None
    body = BackboneWithNeck(backbone, neck)
    if kind == "fcos":
        # FCOS places one point per location; its anchor size is the level's stride.
        strides = [float(2**level) for level in levels]
        anchors = level_anchors(levels, strides, (1.0,))
        return FCOS(body, num_classes, anchor_generator=anchors, **kwargs)
    if kind == "retinanet":
        scales = (1.0, 2 ** (1 / 3), 2 ** (2 / 3))
        anchors = level_anchors(levels, sizes, aspect_ratios, scales)
        return RetinaNet(body, num_classes, anchor_generator=anchors, **kwargs)
    if kind not in ("faster_rcnn", "mask_rcnn"):
        raise ConfigError(f"unknown detector {kind!r}; known: {', '.join(DETECTORS)}")
    heads = {
        "rpn_anchor_generator": level_anchors(levels, sizes, aspect_ratios),
        "box_roi_pool": level_roi_pool(levels, 7, canonical_scale, roi_sampling),
        "box_head": TwoMLPHead(neck.out_channels * 49, box_head_width),
        "box_predictor": FastRCNNPredictor(box_head_width, num_classes),
    }
    if kind == "faster_rcnn":
        return FasterRCNN(body, **heads, **kwargs)
    return MaskRCNN(
        body,
        **heads,
        mask_roi_pool=level_roi_pool(levels, 14, canonical_scale, roi_sampling),
        mask_head=MaskRCNNHeads(neck.out_channels, (mask_head_width,) * 4, 1),
        mask_predictor=MaskRCNNPredictor(mask_head_width, mask_head_width, num_classes),
        **kwargs,
    )
