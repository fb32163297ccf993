"""Decoders: variance voting against an independent NumPy float64 transcription of
He et al. 2019 (Algorithm 1), NMS by hand-made overlaps."""

import dataclasses

import numpy as np
import pytest
import torch

from archsearch.uncertainty import (
    Clusters,
    DecoderSettings,
    baseline,
    cluster_detections,
    decode,
    mean,
    var_vote,
)

# Hand-made clusters of one image: three class-1 hypotheses of one object (the first best
# scored, the second close to it but less certain, the third a loose fit), a class-2 box on
# the same spot, and a lone class-1 box elsewhere.
BOXES = [
    [10.0, 10.0, 50.0, 50.0],
    [11.0, 9.0, 52.0, 49.0],
    [14.0, 12.0, 58.0, 55.0],
    [10.5, 10.5, 50.5, 50.5],
    [80.0, 80.0, 100.0, 110.0],
]
VARIANCES = [
    [1.0, 2.0, 0.5, 1.5],
    [4.0, 0.1, 3.0, 2.0],
    [9.0, 9.0, 9.0, 9.0],
    [0.3, 0.3, 0.3, 0.3],
    [0.0, 0.0, 0.0, 0.0],
]
SCORES = [0.9, 0.8, 0.7, 0.85, 0.6]
LABELS = [1, 1, 1, 2, 1]


def clusters() -> Clusters:
    n = len(LABELS)
    return Clusters(
        boxes=torch.tensor(BOXES),
        box_variances=torch.tensor(VARIANCES),
        scores=torch.tensor(SCORES),
        score_variances=torch.zeros(n),
        labels=torch.tensor(LABELS),
        support=torch.full((n,), 3),
    )


def iou(a: np.ndarray, b: np.ndarray) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    area = lambda box: (box[2] - box[0]) * (box[3] - box[1])  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def reference_var_vote(kept: list[int], settings: DecoderSettings) -> np.ndarray:
    """Each kept box's coordinates: Σ p_i x_i / σ²_i / Σ p_i / σ²_i over same-class overlaps."""
    boxes, variances = np.array(BOXES, np.float64), np.array(VARIANCES, np.float64)
    variances = np.maximum(variances, settings.min_variance)
    refined = []
    for m in kept:
        numerator, denominator = np.zeros(4), np.zeros(4)
        for i in range(len(boxes)):
            overlap = iou(boxes[m], boxes[i])
            if LABELS[i] != LABELS[m] or overlap <= 0:
                continue
            p = np.exp(-((1 - overlap) ** 2) / settings.sigma_t)
            numerator += p * boxes[i] / variances[i]
            denominator += p / variances[i]
        refined.append(numerator / denominator)
    return np.array(refined)


def test_mean_keeps_the_best_of_each_overlap_per_class():
    out = mean(clusters(), DecoderSettings(nms_iou=0.5))
    # box 1 and 2 overlap box 0 (same class) above 0.5; box 3 is class 2, box 4 is apart
    assert out["scores"].tolist() == pytest.approx([0.9, 0.85, 0.6])
    assert out["labels"].tolist() == [1, 2, 1]
    np.testing.assert_array_equal(out["box_variances"][0], VARIANCES[0])


@pytest.mark.parametrize("sigma_t", [0.02, 0.5, 5.0])
def test_var_vote_matches_numpy(sigma_t):
    settings = DecoderSettings(sigma_t=sigma_t, nms_iou=0.5)
    out = var_vote(clusters(), settings)
    expected = reference_var_vote([0, 3, 4], settings)
    np.testing.assert_allclose(out["boxes"].double(), expected, rtol=1e-5)
    assert out["scores"].tolist() == pytest.approx([0.9, 0.85, 0.6])
    if sigma_t == 5.0:  # a wide temperature lets the neighbours pull the box
        assert not np.allclose(expected[0], BOXES[0], atol=0.1)


def test_var_vote_with_lone_boxes_changes_nothing():
    settings = DecoderSettings(nms_iou=0.5)
    every = clusters()
    lone = Clusters(*(getattr(every, f.name)[3:] for f in dataclasses.fields(Clusters)))
    np.testing.assert_allclose(var_vote(lone, settings)["boxes"], lone.boxes)


def test_baseline_applies_per_class_nms():
    detections = {
        "boxes": torch.tensor(BOXES),
        "scores": torch.tensor(SCORES),
        "labels": torch.tensor(LABELS),
    }
    out = baseline(detections, DecoderSettings(nms_iou=0.5, max_detections=2))
    assert out["scores"].tolist() == pytest.approx([0.9, 0.85])


def test_an_image_without_detections_decodes_to_none():
    none = {"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "labels": torch.zeros(0).long()}
    empty = cluster_detections([none, none])
    for decoded in decode(none, empty, DecoderSettings()).values():
        assert decoded["boxes"].shape == (0, 4) and len(decoded["labels"]) == 0
