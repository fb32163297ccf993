"""The three decoders of Table 2: detections from one pass, or from K merged samples.

* ``baseline``: the pass with the posterior mean weights (the weight scaling rule, eq. 18),
  then per-class NMS;
* ``mean``: test-time averaging: the clusters' mean boxes and scores (`cluster_detections`),
  then per-class NMS;
* ``varvote``: the same clusters through variance voting (He et al. 2019, "Bounding box
  regression with uncertainty", Algorithm 1): NMS picks a cluster, then each coordinate of
  its box becomes the average of that coordinate over every cluster of its class that
  overlaps it (IoU > 0), weighted by ``p_i / σ²_i`` with ``p_i = exp(-(1 - IoU_i)² / σ_t)``
  and σ²_i the cluster's variance of that coordinate.

Each decoder returns a torchvision-style dict (``boxes``, ``scores``, ``labels``), sorted by
score and capped at ``max_detections``; ``mean`` and ``varvote`` add ``box_variances``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
from torchvision.ops import batched_nms, box_iou

from archsearch.uncertainty.merging import Clusters

DECODERS = ("baseline", "mean", "varvote")


@dataclass(frozen=True)
class DecoderSettings:
    """Thresholds of merging and decoding.

    ``cluster_iou``: IoU with a cluster's opener needed to join it (`cluster_detections`).
    ``nms_iou``: per-class NMS threshold (torchvision's detectors use 0.5 too).
    ``sigma_t``: temperature of var voting's IoU weight; at 0.02 only clusters that nearly
    coincide with the kept one (IoU above about 0.8) carry real weight.
    ``min_variance``: floor on σ² in px², so that a zero variance (a cluster of one box, or of
    identical boxes) gives a finite weight: no coordinate is trusted beyond half a pixel.
    ``max_detections``: per image, as torchvision's ``box_detections_per_img``.
    """

    cluster_iou: float = 0.5
    nms_iou: float = 0.5
    sigma_t: float = 0.02
    min_variance: float = 0.25
    max_detections: int = 100


def _kept(
    boxes: torch.Tensor, scores: torch.Tensor, labels: torch.Tensor, settings: DecoderSettings
) -> torch.Tensor:
    """Indices NMS keeps per class, best score first, at most ``max_detections``."""
    return batched_nms(boxes, scores, labels, settings.nms_iou)[: settings.max_detections]


def baseline(detections: Mapping[str, torch.Tensor], settings: DecoderSettings) -> dict:
    """The mean-weights pass's detections after per-class NMS (eq. 18, then NMS)."""
    keep = _kept(detections["boxes"], detections["scores"], detections["labels"], settings)
    return {name: detections[name][keep] for name in ("boxes", "scores", "labels")}


def mean(clusters: Clusters, settings: DecoderSettings) -> dict:
    """Test-time averaging: each cluster's mean box and score, then per-class NMS."""
    keep = _kept(clusters.boxes, clusters.scores, clusters.labels, settings)
    return {
        "boxes": clusters.boxes[keep],
        "scores": clusters.scores[keep],
        "labels": clusters.labels[keep],
        "box_variances": clusters.box_variances[keep],
    }


def var_vote(clusters: Clusters, settings: DecoderSettings) -> dict:
    """Variance voting over the clusters; scores and variances stay the kept clusters'."""
    kept = mean(clusters, settings)
    iou = box_iou(kept["boxes"], clusters.boxes)  # [kept, all]
    voters = (iou > 0) & (kept["labels"][:, None] == clusters.labels[None, :])
    closeness = torch.exp(-(1 - iou).square() / settings.sigma_t) * voters
    weight = closeness[:, :, None] / clusters.box_variances.clamp(min=settings.min_variance)
    boxes = (weight * clusters.boxes[None]).sum(1) / weight.sum(1)
    return {**kept, "boxes": boxes}


def decode(
    first: Mapping[str, torch.Tensor], clusters: Clusters, settings: DecoderSettings
) -> dict[str, dict]:
    """All three decoders of one image: ``first`` the mean-weights pass, ``clusters`` the K."""
    return {
        "baseline": baseline(first, settings),
        "mean": mean(clusters, settings),
        "varvote": var_vote(clusters, settings),
    }
