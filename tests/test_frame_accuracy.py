"""The context analysis: frame accuracy on ground-truth boxes, against the annotations.

A box head made to rank one category first whatever it sees must score that category's
share of the objects, counted from the annotations (three categories, ids not 1..K), and
the shares of all categories sum to 1.
"""

import pytest
import torch

from archsearch.detection.profiles import detector_from_profile
from experiments.analysis.frame_accuracy import frame_accuracy
from tests.detection import TINY, TinyScenes


def test_a_head_that_always_says_one_category_scores_its_share():
    scenes = TinyScenes(images=6, seed=4)
    model = detector_from_profile(TINY, "faster_rcnn", "fpn", scenes.num_classes)
    labels = torch.cat([scenes[i][1]["labels"] for i in range(len(scenes))])
    accuracies = []
    for label in range(1, scenes.num_classes):
        score = model.roi_heads.box_predictor.cls_score
        torch.nn.init.zeros_(score.weight)
        with torch.no_grad():
            score.bias.copy_(torch.nn.functional.one_hot(torch.tensor(label), scenes.num_classes))
        accuracy = frame_accuracy(model, scenes)
        assert accuracy == pytest.approx(float((labels == label).float().mean()))
        accuracies.append(accuracy)
    assert sum(accuracies) == pytest.approx(1.0)
    assert max(accuracies) < 1.0  # the scenes hold more than one category
