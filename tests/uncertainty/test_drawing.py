"""Figure 4's analog: corner spreads from coordinate variances, circles where variances are."""

import numpy as np
import torch
from matplotlib.patches import Circle, Rectangle

from archsearch.uncertainty.drawing import corner_deviations, detections_figure


def test_corner_deviation_is_the_rms_of_its_two_coordinates():
    variances = torch.tensor([[1.0, 4.0, 9.0, 16.0]])
    x1, y1, x2, y2 = variances[0].double().numpy()
    expected = np.sqrt([(x1 + y1) / 2, (x2 + y1) / 2, (x2 + y2) / 2, (x1 + y2) / 2])
    np.testing.assert_allclose(corner_deviations(variances)[0], expected, rtol=1e-6)


def test_circles_only_on_the_voted_side_and_only_confident_boxes():
    boxes = torch.tensor([[2.0, 2.0, 20.0, 20.0], [30.0, 5.0, 50.0, 40.0]])
    detections = {
        "boxes": boxes,
        "scores": torch.tensor([0.9, 0.1]),
        "labels": torch.tensor([1, 2]),
    }
    voted = {**detections, "box_variances": torch.tensor([[1.0, 1.0, 4.0, 4.0]] * 2)}
    figure = detections_figure(torch.rand(3, 64, 64), detections, voted, ["three", "five"])
    left, right = figure.axes
    assert sum(isinstance(p, Rectangle) for p in left.patches) == 1
    assert not any(isinstance(p, Circle) for p in left.patches)
    circles = [p for p in right.patches if isinstance(p, Circle)]
    np.testing.assert_allclose(sorted(c.radius for c in circles), [1, 2.5**0.5, 2.5**0.5, 2])
    assert [t.get_text() for t in right.texts] == ["three 0.90"]
