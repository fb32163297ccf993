"""The Pareto front of a multi-objective tuning study: AP against the neck's cost.

Plain data in, a matplotlib `Figure` out (write it with `save_figure`): the reporting layer
draws what trials measured and never trains. Built without pyplot, like `figures`: no global
state, any process can draw it.
"""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

Point = tuple[int, float, float]  # trial number, cost, AP


def pareto_figure(
    points: Sequence[Point], front: Sequence[Point], cost_label: str, title: str = ""
) -> Figure:
    """Every trial as a grey dot, the Pareto-optimal ones joined by a staircase.

    The staircase reads as "the best AP affordable at this cost": it steps up at each
    front member, sorted by cost, and each member is labelled with its trial number.
    """
    fig = Figure(figsize=(5.5, 4.0))
    ax = fig.add_subplot()
    ax.scatter([p[1] for p in points], [p[2] for p in points], s=18, c="0.7", label="trials")
    ordered = sorted(front, key=lambda p: p[1])
    if ordered:
        costs, aps = [p[1] for p in ordered], [p[2] for p in ordered]
        ax.step(costs, aps, where="post", c="tab:red", lw=1.2)
        ax.scatter(costs, aps, s=28, c="tab:red", zorder=3, label="Pareto front")
        for number, cost, ap in ordered:
            ax.annotate(f"#{number}", (cost, ap), textcoords="offset points", xytext=(4, 4))
    ax.set_xlabel(cost_label)
    ax.set_ylabel("validation box AP")
    ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
