"""Merging K detection sets of one image into clusters: D_f = {B_mean, B_var, S_mean, S_var}.

The K sampled fusion networks find mostly the same objects, so their sets overlap heavily
(sec. 4.2.1). Per class, boxes are grouped greedily by IoU: the highest-scoring box not yet
grouped opens a cluster, and each other sample adds its box of that class with the highest
IoU with the opener, if that IoU reaches ``iou_threshold`` (so a cluster holds at most one
box per sample). Boxes of different classes never share a cluster, however close.

A cluster's statistics are over its members: the mean and the population variance of each
coordinate and of the score (zero for a cluster of one box, or of K identical boxes), and
its ``support``, the number of samples that found it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torchvision.ops import box_iou


@dataclass(frozen=True)
class Clusters:
    """The merged detections of one image; row i of every field describes cluster i.

    ``boxes``/``box_variances``: ``[M, 4]`` mean and variance of ``(x1, y1, x2, y2)``;
    ``scores``/``score_variances``: ``[M]``; ``labels``: ``[M]``; ``support``: ``[M]``.
    """

    boxes: torch.Tensor
    box_variances: torch.Tensor
    scores: torch.Tensor
    score_variances: torch.Tensor
    labels: torch.Tensor
    support: torch.Tensor

    def __len__(self) -> int:
        return len(self.labels)


def cluster_detections(
    sets: Sequence[Mapping[str, torch.Tensor]], iou_threshold: float = 0.5
) -> Clusters:
    """Cluster the K detection sets (dicts with ``boxes``, ``scores``, ``labels``) of one image.

    Example: two samples that both find a "3" at nearly the same place give one cluster of
    support 2, its box the mean of the two; a "5" overlapping it stays its own cluster.
    """
    boxes = torch.cat([s["boxes"] for s in sets]).float()
    scores = torch.cat([s["scores"] for s in sets]).float()
    labels = torch.cat([s["labels"] for s in sets])
    sample = torch.cat([torch.full((len(s["labels"]),), k) for k, s in enumerate(sets)])
    group = torch.full((len(labels),), -1, dtype=torch.long)
    opened = 0
    for label in labels.unique().tolist():
        index = (labels == label).nonzero().flatten()
        local = _group_one_class(boxes[index], scores[index], sample[index], iou_threshold)
        group[index] = local + opened
        opened += int(local.max()) + 1
    return _statistics(boxes, scores, labels, sample, group, opened)


def _group_one_class(
    boxes: torch.Tensor, scores: torch.Tensor, sample: torch.Tensor, iou_threshold: float
) -> torch.Tensor:
    """Cluster ids ``0..`` of one class's boxes, by the greedy rule of the module docstring."""
    iou = box_iou(boxes, boxes)
    group = torch.full((len(boxes),), -1, dtype=torch.long)
    opened = 0
    for seed in scores.argsort(descending=True, stable=True).tolist():
        if group[seed] >= 0:
            continue
        group[seed] = opened
        free = (group < 0) & (iou[seed] >= iou_threshold) & (sample != sample[seed])
        for k in sample[free].unique().tolist():
            candidates = free & (sample == k)
            group[torch.where(candidates, iou[seed], -1.0).argmax()] = opened
        opened += 1
    return group


def _statistics(
    boxes: torch.Tensor,
    scores: torch.Tensor,
    labels: torch.Tensor,
    sample: torch.Tensor,
    group: torch.Tensor,
    count: int,
) -> Clusters:
    """Mean and population variance per cluster, by scatter sums over the cluster ids."""
    if count == 0:
        none = boxes.new_zeros((0,))
        return Clusters(boxes[:0], boxes[:0], none, none, labels[:0], sample[:0])
    support = torch.bincount(group, minlength=count)
    values = torch.cat([boxes, scores[:, None]], dim=1)
    mean = values.new_zeros((count, 5)).index_add_(0, group, values) / support[:, None]
    squares = (values - mean[group]).square()
    variance = values.new_zeros((count, 5)).index_add_(0, group, squares) / support[:, None]
    first = torch.full((count,), len(group), dtype=torch.long).scatter_reduce(
        0, group, torch.arange(len(group)), "amin"
    )
    return Clusters(
        boxes=mean[:, :4],
        box_variances=variance[:, :4],
        scores=mean[:, 4],
        score_variances=variance[:, 4],
        labels=labels[first],
        support=support,
    )
