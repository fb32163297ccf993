"""Necks compiled from fusion graphs, and their adapters to torchvision detectors."""

from archsearch.neck.backbone import (
    BackboneWithFusion,
    BackboneWithNeck,
    anchor_sizes,
    detection_kwargs,
    level_anchors,
    level_roi_pool,
)
from archsearch.neck.catalog import build_neck, list_necks
from archsearch.neck.cost import NeckCost, backbone_shapes, count_params, neck_cost
from archsearch.neck.fusion_neck import FusionNeck, Laterals, resize
from archsearch.neck.ops import FUSION_OPS, FastNormalizedFusion, SeparableConvBlock, register_op

__all__ = [
    "FUSION_OPS",
    "BackboneWithFusion",
    "BackboneWithNeck",
    "FastNormalizedFusion",
    "FusionNeck",
    "Laterals",
    "NeckCost",
    "SeparableConvBlock",
    "anchor_sizes",
    "backbone_shapes",
    "build_neck",
    "count_params",
    "detection_kwargs",
    "level_anchors",
    "level_roi_pool",
    "list_necks",
    "neck_cost",
    "register_op",
    "resize",
]
