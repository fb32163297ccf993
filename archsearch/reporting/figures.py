"""The paper's figures, drawn from graphs and histories alone.

* `draw_architecture` / `architecture_figure`: a fusion graph as the paper's Figures 1 and 3
  draw it: pyramid levels as rows (P3 at the bottom, coarser levels above, as a pyramid
  reads), layers as columns, inputs, blocks and outputs as distinct markers; line widths
  follow the posterior means, pruned connections are dashed;
* `active_connections_figure`: active connections against iterations (Figures 2 top, 5);
* `posterior_means_figure`: a few posterior means against iterations (Figure 2 bottom).

Figures are built as `matplotlib.figure.Figure` objects, never through pyplot: no global
state, no display, any backend-less process (a CLI, a test, a server) can draw them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch

from archsearch.graph import FusionGraph
from archsearch.graph.fusion_graph import BLOCK, INPUT, OUTPUT
from archsearch.io import atomic_write

if TYPE_CHECKING:  # drawing needs a history's lists, not torch, which importing it loads
    from archsearch.strategies.history import History

NODE_STYLE = {  # kind -> marker, fill colour, size (points²)
    INPUT: ("s", "#d9d9d9", 170),
    BLOCK: ("o", "#f4a261", 200),
    OUTPUT: ("D", "#8ecae6", 110),
}
KEPT, PRUNED, TAP = "#1d3557", "#adb5bd", "#6c757d"
KEPT_EDGE = {"color": KEPT, "linestyle": "-", "alpha": 0.85, "zorder": 1}
PRUNED_EDGE = {"color": PRUNED, "linestyle": "--", "alpha": 0.8, "linewidth": 0.7, "zorder": 0}
TAP_EDGE = {"color": TAP, "linestyle": "-", "alpha": 1.0, "linewidth": 0.7, "zorder": 1}
CURVE_SAME_LAYER = 0.45  # pathway edges inside one column, e.g. P5_td -> P4_td
CURVE_AROUND = 0.22  # edges whose straight line would cross another node


def draw_architecture(
    graph: FusionGraph,
    ax: Axes,
    weights: Mapping[str, float] | None = None,
    reference: FusionGraph | None = None,
) -> Axes:
    """Draw ``graph`` on ``ax``; return ``ax``.

    ``weights`` ({connection id: value}, e.g. `final_means` of a history) sets each kept
    connection's width by its magnitude relative to the largest (fast normalized fusion uses
    a weight's size; a missing id draws at the thinnest width). ``reference``, the initial
    graph, adds what pruning removed, faded: its connections dashed, its blocks hollow.
    Output taps carry no weight and are drawn thin.
    """
    base = reference if reference is not None else graph
    position = {n: _place(base, n) for n in base.nodes()}
    position.update({n: _place(graph, n) for n in graph.nodes() if n not in position})
    kept = set(graph.connection_ids)
    scale = max((abs(v) for c, v in (weights or {}).items() if c in kept), default=0.0) or 1.0
    for conn in base.connections() if reference is not None else []:
        if conn.id not in kept:
            _edge(ax, position, conn.source, conn.target, conn.id, PRUNED_EDGE)
    for conn in graph.connections():
        width = 1.0 if not weights else 0.6 + 2.6 * abs(weights.get(conn.id, 0.0)) / scale
        _edge(ax, position, conn.source, conn.target, conn.id, {**KEPT_EDGE, "linewidth": width})
    for output in graph.nodes(OUTPUT):
        source = next(iter(graph.nx.predecessors(output)))
        _edge(ax, position, source, output, f"{source}->{output}", TAP_EDGE)
    for node in base.nodes():
        _node(ax, base.node(node)["kind"], position[node], alive=node in graph.nx)
    _axes(ax, graph, position)
    counts = graph.counts()
    ax.set_title(f"{graph.name}: {counts.connections} connections, {counts.blocks} blocks")
    return ax


def _place(graph: FusionGraph, node: str) -> tuple[float, float]:
    return graph.node(node)["layer"], graph.node(node)["level"]


def _edge(
    ax: Axes,
    position: Mapping[str, tuple[float, float]],
    source: str,
    target: str,
    gid: str,
    style: Mapping[str, object],
) -> None:
    """One edge, straight unless it would hide: curved inside a column, or around a node."""
    (x0, y0), (x1, y1) = position[source], position[target]
    if x0 == x1:
        rad = CURVE_SAME_LAYER
    elif _crosses(position, source, target):
        rad = CURVE_AROUND
    else:
        rad = 0.0
    arrow = FancyArrowPatch(
        (x0, y0),
        (x1, y1),
        connectionstyle=f"arc3,rad={rad}",
        arrowstyle="-|>",
        gid=gid,
        shrinkA=8,
        shrinkB=8,
        **style,
    )
    arrow.set_mutation_scale(6 + 2 * arrow.get_linewidth())
    ax.add_patch(arrow)


def _crosses(position: Mapping[str, tuple[float, float]], source: str, target: str) -> bool:
    """Whether the straight line source -> target passes through another node's marker."""
    start, end = np.array(position[source]), np.array(position[target])
    direction = end - start
    for node, point in position.items():
        if node in (source, target):
            continue
        t = float(np.dot(np.array(point) - start, direction) / np.dot(direction, direction))
        if 0 < t < 1 and np.linalg.norm(start + t * direction - point) < 0.15:
            return True
    return False


def _node(ax: Axes, kind: str, xy: tuple[float, float], alive: bool) -> None:
    marker, color, size = NODE_STYLE[kind]
    ax.scatter(
        *xy,
        s=size,
        marker=marker,
        facecolor=color if alive else "white",
        edgecolor="#343a40" if alive else PRUNED,
        linewidth=1.0,
        linestyle="-" if alive else "--",
        zorder=3,
    )


def _axes(ax: Axes, graph: FusionGraph, position: Mapping[str, tuple[float, float]]) -> None:
    layers = sorted({x for x, _ in position.values()})
    last = max(layers)
    ax.set_xticks(layers, ["in" if x == 0 else "out" if x == last else str(x) for x in layers])
    ax.set_xlabel("layer")
    ax.set_yticks(list(graph.level_range), [f"P{level}" for level in graph.level_range])
    ax.set_xlim(min(layers) - 0.45, last + 0.45)
    ax.set_ylim(graph.levels[0] - 0.6, graph.levels[1] + 0.6)
    ax.tick_params(length=0)
    for spine in ax.spines.values():
        spine.set_visible(False)


def architecture_figure(
    initial_graph: FusionGraph | None,
    final_graph: FusionGraph,
    weights: Mapping[str, float] | None,
    title: str,
) -> Figure:
    """The initial graph and the learned one side by side (paper, Figures 1 and 3).

    Without ``initial_graph`` (a neck used as designed) the final graph is drawn alone.
    """
    panels = 1 if initial_graph is None else 2
    columns = len({final_graph.node(n)["layer"] for n in final_graph.nodes()})
    fig = Figure(figsize=(panels * max(4.6, 0.6 * columns + 2), 4.8), layout="constrained")
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    if initial_graph is not None:
        draw_architecture(initial_graph, axes[0])
        axes[0].set_title(f"initial: {len(initial_graph.connection_ids)} connections")
    draw_architecture(final_graph, axes[-1], weights, reference=initial_graph)
    if initial_graph is not None:
        axes[-1].set_title(f"learned: {len(final_graph.connection_ids)} connections")
    fig.suptitle(title)
    fig.legend(
        handles=_legend_handles(weights is not None, pruned=initial_graph is not None),
        loc="outside lower center",
        ncols=3 if panels == 2 or columns > 6 else 2,
        frameon=False,
        fontsize="small",
    )
    return fig


def _legend_handles(weighted: bool, pruned: bool) -> list[Line2D]:
    def marker(kind: str, label: str) -> Line2D:
        shape, color, size = NODE_STYLE[kind]
        return Line2D(
            [],
            [],
            marker=shape,
            markersize=math.sqrt(size) * 0.7,
            linestyle="",
            markerfacecolor=color,
            markeredgecolor="#343a40",
            label=label,
        )

    handles = [
        marker(INPUT, "input (backbone level)"),
        marker(BLOCK, "fusion block"),
        marker(OUTPUT, "output"),
        Line2D(
            [],
            [],
            color=KEPT,
            lw=2,
            label="kept connection" + (" (width: |mean weight|)" if weighted else ""),
        ),
        Line2D([], [], color=TAP, lw=0.7, label="output tap (no weight)"),
    ]
    if pruned:
        handles.append(
            Line2D([], [], color=PRUNED, lw=1, linestyle="--", label="pruned connection")
        )
    return handles


def active_connections_figure(histories: Mapping[str, History]) -> Figure:
    """Active connections against iterations, one line per strategy (Figures 2 top, 5)."""
    fig = Figure(figsize=(8.4, 4.0), layout="constrained")
    ax = fig.subplots()
    styles = ("-", "--", "-.", ":")  # strategies often settle on the same count: keep them apart
    for index, (label, history) in enumerate(histories.items()):
        ax.plot(
            history.steps,
            history.active,
            drawstyle="steps-post",
            lw=1.8,
            linestyle=styles[index % len(styles)],
            label=label,
        )
    ax.set_xlabel("iteration")
    ax.set_ylabel("active connections")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    fig.legend(loc="outside right upper", fontsize="small", frameon=False)  # clear of the lines
    return fig


def posterior_means_figure(
    history: History,
    connections: Sequence[str] | None = None,
    k: int = 6,
    criterion: str | None = None,
    threshold: float | None = None,
) -> Figure:
    """Means of a few connections against iterations (Figure 2, bottom), and beside them the
    score the strategy pruned by (its ``criterion``) when the history has one, with the
    ``threshold`` it cut at: the separation of kept and pruned connections as it happens.

    By default `pick_connections`: a mix of kept and pruned ones. A pruned connection's line
    ends with a cross at its last value.
    """
    chosen = list(connections) if connections is not None else pick_connections(history, k)
    scored = any(math.isfinite(v) for c in chosen for v in history.score.get(c, ()))
    fig = Figure(figsize=(11.0 if scored else 6.4, 4.0), layout="constrained")
    axes = fig.subplots(1, 2 if scored else 1, squeeze=False)[0]
    _trajectories(axes[0], history.steps, {c: history.mean[c] for c in chosen})
    axes[0].axhline(0, color="#343a40", lw=0.6)
    axes[0].set_ylabel("posterior mean")
    if scored:
        _trajectories(axes[1], history.steps, {c: history.score[c] for c in chosen})
        axes[1].set_ylabel(f"pruning criterion: {criterion or 'score'}")
        if threshold is not None:
            axes[1].axhline(threshold, color="#c92a2a", lw=1.0, ls="--", label="threshold")
        if _spans_decades(history, chosen):
            axes[1].set_yscale("log")
    axes[0].legend(fontsize="x-small", frameon=False, title="× pruned", title_fontsize="x-small")
    if scored and threshold is not None:
        axes[1].legend(handles=axes[1].lines[-1:], fontsize="x-small", frameon=False)
    return fig


def _trajectories(ax: Axes, steps: Sequence[int], series: Mapping[str, Sequence[float]]) -> None:
    """One line per connection; a pruned one's line ends with a cross at its last value."""
    for connection, raw in series.items():
        values = np.asarray(raw, dtype=float)
        (line,) = ax.plot(steps, values, lw=1.6, label=connection)
        finite = np.flatnonzero(np.isfinite(values))
        if len(finite) and finite[-1] < len(values) - 1:
            ax.plot(
                steps[finite[-1]],
                values[finite[-1]],
                "x",
                color=line.get_color(),
                markersize=8,
                markeredgewidth=2,
            )
    ax.set_xlabel("iteration")
    ax.grid(alpha=0.3)


def _spans_decades(history: History, connections: Sequence[str]) -> bool:
    """Whether the positive scores of ``connections`` span more than two decades (SNR)."""
    values = np.asarray([history.score[c] for c in connections], dtype=float)
    positive = values[np.isfinite(values) & (values > 0)]
    return positive.size > 0 and positive.max() > 100 * positive.min()


def pick_connections(history: History, k: int = 6) -> list[str]:
    """About half kept, half pruned, each spread over its ranking, so the plot shows strong
    and weak survivors and early and late prunings, not k near-identical lines.

    Kept ones rank by final |mean|, pruned ones by how long they survived.
    """
    if not history.steps:
        return []
    last_finite = {c: _last_finite(v) for c, v in history.mean.items()}
    alive = len(history.steps) - 1
    kept = sorted(
        (c for c, i in last_finite.items() if i == alive), key=lambda c: -abs(history.mean[c][-1])
    )
    pruned = sorted(
        (c for c, i in last_finite.items() if 0 <= i < alive), key=lambda c: -last_finite[c]
    )
    take_pruned = min(len(pruned), k - min(len(kept), (k + 1) // 2))
    return _spread(kept, k - take_pruned) + _spread(pruned, take_pruned)


def _last_finite(values: Sequence[float]) -> int:
    finite = [i for i, v in enumerate(values) if math.isfinite(v)]
    return finite[-1] if finite else -1


def _spread(items: list[str], count: int) -> list[str]:
    """``count`` items evenly spaced over ``items``, first and last included."""
    if count <= 0 or not items:
        return []
    return [items[round(i)] for i in np.linspace(0, len(items) - 1, min(count, len(items)))]


def save_figure(
    fig: Figure, path: str | Path, formats: Iterable[str] = ("png", "svg")
) -> list[Path]:
    """Write ``fig`` as ``path`` with each suffix in ``formats``, atomically; return the paths."""
    written = []
    for fmt in formats:
        target = Path(path).with_suffix(f".{fmt}")
        atomic_write(target, lambda tmp, fmt=fmt: fig.savefig(tmp, format=fmt, dpi=150))
        written.append(target)
    return written
