"""A whole report from a folder of run records: tables, figures and an index.

Layout of ``out_dir``::

    index.md                     every file below, tables inline, figures as images
    tables/table{1,2,3,4}.{md,tex,csv}
    tables/count_gaps.{md,tex,csv}  where a model ran at several targets
    figures/count-curves/ap-against-{connections,neck-latency}.{png,svg}
    figures/<experiment>-<preset>/architecture-<run>.{png,svg}
    figures/<experiment>-<preset>/active-connections.{png,svg}
    figures/<experiment>-<preset>/posterior-means-<run>.{png,svg}

Tables are written per (preset, data set), suffixed with both when the records hold more
than one, since averaging a demo run with a full one would mean nothing. Figures show one
run per model and data set (its first seed): a seed's wiring is a result, an average of
wirings is not.
Runs of one model in several experiments (ARD in the necks and the pruning study) pool in
the tables; the ``runs`` column of the CSV counts them. Every file is written atomically, so
a report being rewritten is never half read.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from archsearch.errors import ConfigError
from archsearch.io import atomic_write_text
from archsearch.reporting.curves import count_gaps, curves_figure, has_count_gaps, has_curves
from archsearch.reporting.figures import (
    active_connections_figure,
    architecture_figure,
    posterior_means_figure,
    save_figure,
)
from archsearch.reporting.records import (
    RunRecord,
    final_means,
    records_frame,
)
from archsearch.reporting.tables import (
    Table,
    in_paper_order,
    labelled,
    table1,
    table2,
    table3,
    table4,
)

if TYPE_CHECKING:
    from archsearch.strategies.history import History

# The priors of the paper's main text; a run under any other makes the table of priors.
PAPER_PRIORS = ("ard", "fullard")


def write_report(records: Sequence[RunRecord], out_dir: str | Path) -> list[Path]:
    """Write the tables ``records`` support, their figures and ``index.md``; return every path.

    Table 1 needs several necks, Table 3 several strategies on the dense graph, Table 4 a
    prior beyond the paper's ARD and FullARD, Table 2 runs scored on sampled networks (an
    experiment's ``samples``); a model run at several targets adds the count curves and,
    beside random pruning, their paired gaps (`archsearch.reporting.curves`).
    Figures: an architecture per model, the active connections of every strategy per
    experiment, and the posterior means of each variational model.
    """
    if not records:
        raise ConfigError("no run records to report")
    out_dir = Path(out_dir)
    frame = records_frame(records)
    index = ["# Report", "", f"{len(records)} run records.", "", "## Tables", ""]
    written: list[Path] = []
    settings = list(frame.groupby(["preset", "data"], sort=True))
    for (preset, data), rows in settings:
        suffix = "" if len(settings) == 1 else f"-{slug(preset)}-{slug(data)}"
        for table in supported_tables(rows):
            paths = table.write(out_dir / "tables" / f"{table.name}{suffix}")
            written += paths
            index += [
                f"### {table.name}{suffix}: {preset}, {data}",
                "",
                table.markdown(),
                _links(paths, out_dir),
                "",
            ]
        if has_curves(rows):
            folder = out_dir / "figures" / f"count-curves{suffix}"
            for x, title in (("connections", "connections"), ("inference_ms", "neck latency")):
                paths = save_figure(curves_figure(rows, x), folder / slug(f"ap-against-{title}"))
                written += paths
                index += [f"![AP against {title}]({paths[0].relative_to(out_dir)})", ""]
    index += ["## Figures", ""]
    for (experiment, preset), rows in frame.groupby(["experiment", "preset"], sort=True):
        folder = out_dir / "figures" / slug(f"{experiment}-{preset}")
        index += [f"### {experiment} ({preset})", ""]
        for title, paths in _experiment_figures(records, rows, folder):
            written += paths
            index += [
                f"![{title}]({paths[0].relative_to(out_dir)})",
                "",
                f"{title}: {_links(paths, out_dir)}",
                "",
            ]
    written.append(atomic_write_text(out_dir / "index.md", "\n".join(index)))
    return written


def supported_tables(frame: pd.DataFrame) -> list[Table]:
    """The tables whose comparison ``frame`` (one preset, one data set) can make."""
    tables = []
    if frame["neck"].nunique() > 1:
        tables.append(table1(frame))
    if frame.loc[frame["neck"] == "dense", "strategy"].nunique() > 1:
        tables.append(table3(frame))
    if (frame["variational"] & ~frame["strategy"].isin(PAPER_PRIORS)).any():
        tables.append(table4(frame))
    if "box_variance" in frame and frame["box_variance"].notna().any():
        tables.append(table2(frame))
    if has_curves(frame) and has_count_gaps(frame):
        tables.append(count_gaps(frame))
    return tables


def _experiment_figures(
    records: Sequence[RunRecord], rows: pd.DataFrame, folder: Path
) -> list[tuple[str, list[Path]]]:
    """(title, paths) of each figure of one experiment: one run per model and data set, its
    first seed (Figure 3 compares one model's wiring across data sets)."""
    # the paper order puts each model's lowest seed first
    firsts = in_paper_order(labelled(rows)).drop_duplicates(["Network", "Model", "data"])
    apart = [column for column in ("Network", "data") if firsts[column].nunique() > 1]
    figures, histories = [], {}
    for index, row in firsts.iterrows():  # frame row i is records[i]
        label = " ".join([row["Model"], *(f"({row[column]})" for column in apart)])
        history = records[index].strategy_history()
        if history is not None:
            histories[label] = history
        figures += _run_figures(records[index], row, label, history, folder)
    if histories:
        fig = active_connections_figure(histories)
        fig.suptitle(f"Active connections: {rows['experiment'].iloc[0]}")
        figures.append(("active connections", save_figure(fig, folder / "active-connections")))
    return figures


def _run_figures(
    record: RunRecord, row: pd.Series, label: str, history: History | None, folder: Path
) -> list[tuple[str, list[Path]]]:
    """The architecture of one run, and its posterior means if it had a posterior."""
    figures = []
    graph, run = record.fusion_graph(), slug(row["run"])
    if graph is not None:
        title = f"{row['Model']}: {row['Network']} on {row['data']}, seed {row['seed']}"
        weights = final_means(history) if history is not None else None
        fig = architecture_figure(record.fusion_graph(initial=True), graph, weights, title)
        figures.append((f"architecture, {label}", save_figure(fig, folder / f"architecture-{run}")))
    if history is not None and row["variational"]:
        from archsearch.strategies.criteria import threshold_of  # a history means torch anyway

        settings = record.settings.strategy_settings
        criterion = settings.get("criterion")
        threshold = threshold_of(settings) if criterion is not None else None
        fig = posterior_means_figure(history, criterion=criterion, threshold=threshold)
        shown = "posterior means" + (f" and {criterion}" if criterion else "")
        fig.suptitle(f"{label}: {shown}, seed {row['seed']}")
        path = folder / f"posterior-means-{run}"
        figures.append((f"posterior means, {label}", save_figure(fig, path)))
    return figures


def _links(paths: list[Path], root: Path) -> str:
    return " · ".join(f"[{p.suffix[1:]}]({p.relative_to(root)})" for p in paths)


def slug(text: str) -> str:
    """``text`` as a file name: letters, digits, ``-`` and ``_`` only (no dots: they would
    read as a suffix)."""
    return re.sub(r"[^A-Za-z0-9_-]+", "-", str(text)).strip("-") or "unnamed"
