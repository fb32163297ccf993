"""Figure 4's analog: one image, the baseline boxes beside the variance-voted ones.

Boxes are blue, as in the paper; each var-voted box carries a green circle at each corner
whose radius is that corner's standard deviation across the K sampled networks (the root
of the mean of its two coordinates' variances), so a wide circle marks a corner the sampled
fusion networks disagree on. Built as a `matplotlib.figure.Figure`, never through pyplot.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Circle, Rectangle

BOX, SPREAD = "#1f4e9c", "#2ca02c"
LABEL_BOX = {"facecolor": "white", "alpha": 0.6, "pad": 1, "lw": 0}
# corner (x index, y index) into (x1, y1, x2, y2)
CORNERS = ((0, 1), (2, 1), (2, 3), (0, 3))


def corner_deviations(box_variances: torch.Tensor) -> torch.Tensor:
    """``[N, 4]`` standard deviation of each corner (order of `CORNERS`) from ``[N, 4]``
    coordinate variances."""
    return torch.stack(
        [((box_variances[:, x] + box_variances[:, y]) / 2).sqrt() for x, y in CORNERS], dim=1
    )


def detections_figure(
    image: torch.Tensor,
    baseline: Mapping[str, torch.Tensor],
    voted: Mapping[str, torch.Tensor],
    names: Sequence[str] | None = None,
    min_score: float = 0.2,
) -> Figure:
    """Two panels of ``image`` (``[3, H, W]`` in 0..1): ``baseline`` left, ``voted`` right.

    ``names[label - 1]`` labels a box (default: the label number); boxes scoring under
    ``min_score`` are left out (a quick-profile detector scores its true boxes from about 0.2).
    """
    figure = Figure(figsize=(8, 4.3), layout="constrained")
    left, right = figure.subplots(1, 2)
    panels = ((left, baseline, "baseline: mean weights, NMS"), (right, voted, "variance voting"))
    for axes, detections, title in panels:
        axes.imshow(image.permute(1, 2, 0).clamp(0, 1).cpu().numpy())
        axes.set_title(title, fontsize=10)
        axes.set_axis_off()
        _draw(axes, detections, names, min_score)
    return figure


def _draw(
    axes: Axes,
    detections: Mapping[str, torch.Tensor],
    names: Sequence[str] | None,
    min_score: float,
) -> None:
    shown = detections["scores"] >= min_score
    boxes, scores, labels = (detections[k][shown] for k in ("boxes", "scores", "labels"))
    variances = detections.get("box_variances")
    spreads = corner_deviations(variances[shown]) if variances is not None else None
    for index, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        axes.add_patch(Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, color=BOX, lw=1.5))
        label = int(labels[index])
        name = names[label - 1] if names else str(label)
        caption = f"{name} {float(scores[index]):.2f}"
        axes.text(x1, y1 - 1, caption, color=BOX, fontsize=7, va="bottom", bbox=LABEL_BOX)
        if spreads is None:
            continue
        corners = ((x1, y1), (x2, y1), (x2, y2), (x1, y2))
        for (x, y), radius in zip(corners, spreads[index].tolist(), strict=True):
            # drawn at least half a pixel wide, so that a corner all samples agree on shows
            axes.add_patch(Circle((x, y), max(radius, 0.5), fill=False, color=SPREAD, lw=1.2))
