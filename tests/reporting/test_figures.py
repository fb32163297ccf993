"""Figures: what each draws, and that every file is written and non-empty."""

import math

from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch

from archsearch.graph import build_graph, dense
from archsearch.reporting import (
    active_connections_figure,
    architecture_figure,
    draw_architecture,
    final_means,
    pick_connections,
    posterior_means_figure,
    save_figure,
)
from tests.reporting import pruned_run


def edges(ax) -> dict[str, FancyArrowPatch]:
    return {p.get_gid(): p for p in ax.patches if isinstance(p, FancyArrowPatch)}


def test_architecture_draws_kept_pruned_and_taps():
    final, history = pruned_run(0)
    weights = final_means(history)
    ax = Figure().subplots()
    draw_architecture(final, ax, weights, reference=dense())
    drawn = edges(ax)
    assert len(drawn) == 63 + 5  # every connection of the reference, and the taps
    kept = set(final.connection_ids)
    assert all(drawn[c].get_linestyle() == "--" for c in dense().connection_ids if c not in kept)
    assert all(drawn[c].get_linestyle() == "-" for c in kept)
    strongest = max(kept, key=lambda c: abs(weights[c]))
    weakest = min(kept, key=lambda c: abs(weights[c]))
    assert drawn[strongest].get_linewidth() > drawn[weakest].get_linewidth()
    assert drawn["P7_bu->P7_out"].get_linewidth() < drawn[weakest].get_linewidth()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["P3", "P4", "P5", "P6", "P7"]


def test_pathway_and_skip_edges_are_curved():
    ax = Figure().subplots()
    drawn = edges(draw_architecture(dense(), ax))
    assert drawn["P5_td->P4_td"].get_connectionstyle().rad != 0  # same layer
    assert drawn["P4_in->P4_bu"].get_connectionstyle().rad != 0  # would cross P4_td
    assert drawn["P4_in->P4_td"].get_connectionstyle().rad == 0


def test_figure_files_are_written(tmp_path):
    final, history = pruned_run(0)
    _, other = pruned_run(1, "lasso", variational=False)
    figures = {
        "architecture": architecture_figure(dense(), final, final_means(history), "ARD"),
        "designed": architecture_figure(None, build_graph("bifpn"), None, "BiFPN"),
        "active": active_connections_figure({"ARD": history, "Lasso-based": other}),
        "means": posterior_means_figure(history),
    }
    for name, figure in figures.items():
        paths = save_figure(figure, tmp_path / name)
        assert [p.suffix for p in paths] == [".png", ".svg"]
        assert paths[0].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert all(p.stat().st_size > 1000 for p in paths)
    (line_ard, line_lasso) = figures["active"].axes[0].get_lines()
    assert list(line_ard.get_ydata()) == history.active and line_lasso.get_label() == "Lasso-based"


def test_pick_connections_mixes_kept_and_pruned():
    final, history = pruned_run(0)
    chosen = pick_connections(history, k=6)
    assert len(chosen) == len(set(chosen)) == 6
    alive = [math.isfinite(history.mean[c][-1]) for c in chosen]
    assert alive.count(True) == 3 and alive.count(False) == 3
    assert all(c in final.connection_ids for c, a in zip(chosen, alive, strict=True) if a)
    figure = posterior_means_figure(history, connections=chosen[:2])
    assert [line.get_label() for line in figure.axes[0].get_lines()][:1] == [chosen[0]]


def test_the_pruning_criterion_is_drawn_beside_the_means_with_its_threshold():
    _, history = pruned_run(0)
    for connection, means in history.mean.items():
        history.score[connection] = [m * m / 0.1 for m in means]  # an SNR with variance 0.1
    chosen = pick_connections(history, k=4)
    figure = posterior_means_figure(history, chosen, criterion="snr", threshold=0.05)
    means, scores = figure.axes
    assert {line.get_label() for line in scores.get_lines()} >= {*chosen, "threshold"}
    drawn = next(line for line in scores.get_lines() if line.get_label() == chosen[0])
    assert list(drawn.get_ydata()) == history.score[chosen[0]]
    threshold = next(line for line in scores.get_lines() if line.get_label() == "threshold")
    assert list(threshold.get_ydata()) == [0.05, 0.05]
    assert scores.get_ylabel() == "pruning criterion: snr"
    history.score = {c: [math.nan] * len(history.steps) for c in history.connection_ids}
    assert len(posterior_means_figure(history, chosen).axes) == 1
