"""Clustering K detection sets: groups checked by hand, statistics against NumPy float64."""

import numpy as np
import pytest
import torch

from archsearch.uncertainty import cluster_detections


def detections(boxes, scores, labels):
    return {
        "boxes": torch.tensor(boxes, dtype=torch.float32).reshape(-1, 4),
        "scores": torch.tensor(scores, dtype=torch.float32),
        "labels": torch.tensor(labels, dtype=torch.int64),
    }


# Three samples. Object A (class 1) and object B (class 2) nearly coincide (IoU > 0.8), so
# only their classes keep them apart; object C (class 1, far away) is missed by sample 2.
A = [[10, 10, 30, 30], [11, 10, 31, 31], [9, 11, 30, 29]]
B = [[12, 11, 31, 29], [12, 12, 32, 30], [13, 11, 31, 30]]
C = [[60, 60, 80, 90], [61, 59, 81, 92]]
SETS = [
    detections([A[0], B[0], C[0]], [0.9, 0.8, 0.6], [1, 2, 1]),
    detections([C[1], A[1], B[1]], [0.5, 0.7, 0.85], [1, 1, 2]),
    detections([B[2], A[2]], [0.75, 0.95], [2, 1]),
]


def nearest(clusters, label, near):
    """Index of the cluster of ``label`` whose mean box is closest to ``near``."""
    distance = (clusters.boxes - torch.tensor(near, dtype=torch.float32)).abs().sum(1)
    distance[clusters.labels != label] = float("inf")
    return int(distance.argmin())


def test_groups_follow_objects_and_classes():
    clusters = cluster_detections(SETS, iou_threshold=0.5)
    assert len(clusters) == 3
    expected = [(1, A, [0.9, 0.7, 0.95]), (2, B, [0.8, 0.85, 0.75]), (1, C, [0.6, 0.5])]
    for label, boxes, scores in expected:
        index = nearest(clusters, label, np.mean(boxes, axis=0))
        reference = np.asarray(boxes, dtype=np.float64)
        assert clusters.support[index] == len(boxes)
        np.testing.assert_allclose(clusters.boxes[index], reference.mean(0), rtol=1e-6)
        np.testing.assert_allclose(clusters.box_variances[index], reference.var(0), atol=1e-5)
        np.testing.assert_allclose(clusters.scores[index], np.mean(scores), rtol=1e-6)
        np.testing.assert_allclose(clusters.score_variances[index], np.var(scores), atol=1e-7)


def test_a_cluster_takes_at_most_one_box_per_sample():
    # sample 0 holds two overlapping class-1 boxes: they must land in different clusters
    sets = [
        detections([[0, 0, 10, 10], [0, 0, 10, 11]], [0.9, 0.8], [1, 1]),
        detections([[0, 0, 10, 10.5]], [0.85], [1]),
    ]
    clusters = cluster_detections(sets)
    assert sorted(clusters.support.tolist()) == [1, 2]
    assert clusters.scores.max() == pytest.approx(0.875)


def test_threshold_separates_shifted_boxes():
    sets = [detections([[0, 0, 10, 10]], [0.9], [1]), detections([[5, 0, 15, 10]], [0.8], [1])]
    assert len(cluster_detections(sets, iou_threshold=0.5)) == 2  # IoU 1/3
    assert len(cluster_detections(sets, iou_threshold=0.3)) == 1


def test_no_detections_give_no_clusters():
    clusters = cluster_detections([detections([], [], []), detections([], [], [])])
    assert len(clusters) == 0 and clusters.boxes.shape == (0, 4)
