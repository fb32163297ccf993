"""Accuracy against connection count: where the choice of connections starts to matter.

A table at one budget (Table 3's 9 connections) ranks strategies by noise wherever almost
any wiring of that size does as well; a curve over several budgets shows where they part.
A *model* is a strategy on the dense graph with its settings but ``target`` (and random
pruning's ``seed``: its draws are runs of one model). A model run at several targets is a
curve (a point per target: mean AP ± sd over its runs, at their mean connection count or
neck latency); a model at one count, such as the dense graph, is a point. Plain frames in,
matplotlib figures and a `Table` out: nothing here trains.

`count_gaps` pairs each model with random pruning at the same target and seed: the gap of a
run is its AP minus the mean AP of random's draws for that seed and target, and the table
gives the gaps' mean ± sd over seeds.
"""

from __future__ import annotations

import math

import pandas as pd
from matplotlib.figure import Figure

from archsearch.errors import ConfigError
from archsearch.reporting.tables import Table, headline, in_paper_order, labelled

REFERENCE = "random"  # what every model is paired with at a target


def count_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """The dense graph's runs of ``frame`` with a ``Model`` label that leaves out ``target``
    (and random pruning's ``seed``), so that one model's targets share a label."""
    rows = headline(frame[frame["neck"] == "dense"]).copy()
    rows["strategy_params"] = rows["model_params"]
    return labelled(in_paper_order(rows))


def has_curves(frame: pd.DataFrame) -> bool:
    """Whether some model of ``frame`` ran at more than one target."""
    rows = count_frame(frame)
    return bool((rows.groupby("Model")["target"].nunique() > 1).any())


def has_count_gaps(frame: pd.DataFrame) -> bool:
    """Whether a model other than random pruning ran at a target and seed random pruning
    ran at: whether `count_gaps` has anything to pair."""
    return not _paired_gaps(count_frame(frame)).empty


def _paired_gaps(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows of models other than random pruning that it pairs with, ``gap`` their AP
    minus random pruning's at the same detector, target and seed (its draws averaged)."""
    reference = rows[rows["strategy"] == REFERENCE]
    baseline = reference.groupby(["detector", "target", "seed"])["AP"].mean()
    others = rows[(rows["strategy"] != REFERENCE) & rows["target"].notna()]
    keys = pd.MultiIndex.from_frame(others[["detector", "target", "seed"]])
    gaps = others.assign(gap=others["AP"].to_numpy() - baseline.reindex(keys).to_numpy())
    return gaps[gaps["gap"].notna()]


def curve_points(frame: pd.DataFrame, x: str = "connections") -> pd.DataFrame:
    """Per (Model, target): runs, mean and sd of AP and of ``x`` (``connections`` or
    ``inference_ms``), in the paper's order of models and by target."""
    rows = count_frame(frame)
    rows = rows.assign(target=rows["target"].fillna(-1.0))  # a model without a target: one point
    groups = rows.groupby(["Model", "target"], sort=False)
    points = pd.DataFrame(
        {
            "runs": groups.size(),
            "AP_mean": groups["AP"].mean(),
            "AP_sd": groups["AP"].std(),
            "x_mean": groups[x].mean(),
            "x_sd": groups[x].std(),
        }
    ).reset_index()
    points["target"] = points["target"].where(points["target"] >= 0)
    order = {model: rank for rank, model in enumerate(dict.fromkeys(rows["Model"]))}
    points = points.assign(rank=points["Model"].map(order))
    return points.sort_values(["rank", "x_mean"], kind="stable").drop(columns="rank")


def curves_figure(frame: pd.DataFrame, x: str = "connections") -> Figure:
    """AP against ``x``: a line and a one-sd band per model run at several targets, a point
    with error bars for a model at one count."""
    labels = {"connections": "connections kept", "inference_ms": "neck latency (ms)"}
    points = curve_points(frame, x)
    fig = Figure(figsize=(6.0, 4.2))
    ax = fig.add_subplot()
    for model, rows in points.groupby("Model", sort=False):
        sd = rows["AP_sd"].fillna(0.0)
        if len(rows) > 1:
            (line,) = ax.plot(rows["x_mean"], rows["AP_mean"], marker="o", ms=4, label=model)
            upper, lower = rows["AP_mean"] + sd, rows["AP_mean"] - sd
            ax.fill_between(rows["x_mean"], lower, upper, color=line.get_color(), alpha=0.15)
        else:
            ax.errorbar(
                rows["x_mean"], rows["AP_mean"], yerr=sd, fmt="s", ms=5, capsize=3, label=model
            )
    if x == "connections":  # 5 to 63: a log scale spreads the budgets evenly
        ticks = sorted({round(value) for value in points["x_mean"].dropna()})
        ax.set_xscale("log")
        ax.set_xticks(ticks, [str(tick) for tick in ticks])
        ax.minorticks_off()
    ax.set_xlabel(labels.get(x, x))
    ax.set_ylabel("validation box AP (mask AP for Mask R-CNN)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def count_gaps(frame: pd.DataFrame) -> Table:
    """Every model's AP minus random pruning's at the same target, paired by seed (random's
    draws of a seed averaged first): mean ± sd over seeds, a column per target."""
    rows = count_frame(frame)
    if not (rows["strategy"] == REFERENCE).any():
        raise ConfigError("count gaps: no random-pruning runs to pair with")
    gaps = _paired_gaps(rows)
    if gaps.empty:
        raise ConfigError("count gaps: no run shares a target and seed with random pruning")
    groups = gaps.groupby(["Network", "Model", "target"], sort=False)["gap"]
    numbers = pd.DataFrame(
        {"runs": groups.size(), "gap_mean": groups.mean(), "gap_sd": groups.std()}
    )
    targets = sorted(gaps["target"].unique())
    display = pd.DataFrame(index=numbers.droplevel("target").index.unique())
    for target in targets:
        cells = numbers.xs(target, level="target")
        display[f"{target:.0f}"] = [_gap_cell(cells, index) for index in display.index]
    caption = "AP minus random pruning's at the same number of connections (paired by seed)"
    return Table("count_gaps", caption, display, numbers)


def _gap_cell(cells: pd.DataFrame, index: tuple) -> str:
    if index not in cells.index:
        return "–"
    mean, sd, runs = cells.loc[index, ["gap_mean", "gap_sd", "runs"]]
    if runs == 1 or math.isnan(sd):
        return f"{mean:+.3f}"
    return f"{mean:+.3f} ± {sd:.3f}"
