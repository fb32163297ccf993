"""The paper's tables from a frame of run records: mean ± sd over seeds.

Each table is a `Table`: the text a reader sees (``display``, "0.315 ± 0.004") and the
numbers behind it (``numbers``: a mean and an sd column per quantity, and the run count),
written as Markdown and LaTeX from the first and CSV from the second, so a plot or a test
never parses formatted text.

Layouts (paper, Tables 1–4): rows are (Network, Model); Table 1 reports AP, AP50, AP75,
APS, APM, APL, Params, Inference, and Table 4 (grown into the table of priors) the same with
Cons; Table 3 reports AP, Cons, Inference, Params. Mask
R-CNN rows report mask AP, as the paper's do (its Table 3 is instance segmentation, and its
Mask R-CNN rows of Table 1 match it). Inference is the mean over seeds of each run's median
latency, ± the pooled within-run sd (the paper's ± is timing spread, not seed spread).
Params show their mean alone, Cons its sd only where seeds disagree; the CSV holds every sd.
Table 2's rows are (Network, decoder), its columns AP, AP50, AP75 and the mean box variance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from pandas.api.typing import DataFrameGroupBy, SeriesGroupBy

from archsearch.errors import ConfigError
from archsearch.io import atomic_write_text
from archsearch.reporting.records import METRICS

DETECTOR_NAMES = {"faster_rcnn": "Faster RCNN", "mask_rcnn": "Mask RCNN"}
NECK_NAMES = {
    "fpn": "FPN",
    "bifpn": "BiFPN",
    "panet": "PANet",
    "nasfpn": "NAS-FPN",
    "pconv": "PConv",
    "hrfpn": "HRNet",
    "dense": "Dense",
}
STRATEGY_NAMES = {
    "dense": "No Pruning",
    "random": "Random Pruning",
    "lasso": "Lasso-based",
    "taylor": "Taylor (Molchanov et al., 2019)",
    "lottery": "Lottery ticket (Frankle & Carbin, 2019)",
    "ard": "ARD",
    "fullard": "FullARD",
    "laplace": "Laplace",
    "student_t": "Student-t",
    "log_normal": "Log-normal",
    "horseshoe": "Horseshoe",
}
DECODER_NAMES = {"baseline": "Baseline", "mean": "Mean", "varvote": "Var voting"}
TABLE2_METRICS = ("AP", "AP50", "AP75")
INDEX = ["Network", "Model"]


@dataclass(frozen=True)
class Table:
    """One table: formatted cells for readers, mean/sd numbers for machines."""

    name: str
    caption: str
    display: pd.DataFrame
    numbers: pd.DataFrame

    def markdown(self) -> str:
        """A GitHub-flavoured Markdown table with the caption above it."""
        frame = self.display.reset_index()
        # the network is named once per block of rows, as in the paper
        frame["Network"] = frame["Network"].where(frame["Network"] != frame["Network"].shift())
        frame = frame.fillna("")
        lines = [
            "| " + " | ".join(frame.columns) + " |",
            "|" + "|".join("---" for _ in frame.columns) + "|",
            *("| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)),
        ]
        return f"**{self.caption}**\n\n" + "\n".join(lines) + "\n"

    def latex(self) -> str:
        """A booktabs ``table``; names are escaped ("Frankle & Carbin")."""
        text = self.display.to_latex(caption=self.caption, label=f"tab:{self.name}", escape=True)
        return text.replace("±", r"$\pm$").replace("–", "--")

    def write(self, stem: Path) -> list[Path]:
        """Write ``stem``.md, .tex and .csv atomically; return the paths."""
        stem = Path(stem)
        return [
            atomic_write_text(stem.with_suffix(".md"), self.markdown()),
            atomic_write_text(stem.with_suffix(".tex"), self.latex()),
            atomic_write_text(stem.with_suffix(".csv"), self.numbers.to_csv()),
        ]


def model_label(neck: str, strategy: str) -> str:
    """How a run is named in a table row and a figure legend.

    The dense graph is named by what pruned it ("ARD", "Lasso-based"); a hand-designed neck
    by its paper name, with the strategy appended when one pruned it.
    """
    if neck == "dense":
        return STRATEGY_NAMES.get(strategy, strategy)
    name = NECK_NAMES.get(neck, neck)
    return name if strategy == "dense" else f"{name} + {STRATEGY_NAMES.get(strategy, strategy)}"


def labelled(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with Network and Model columns.

    Runs of one model with different strategy parameters are different rows: their
    parameters join the label (only where they differ), so a sweep is never averaged.
    """
    frame = frame.assign(
        Network=[DETECTOR_NAMES.get(d, d) for d in frame["detector"]],
        Model=[model_label(n, s) for n, s in zip(frame["neck"], frame["strategy"], strict=True)],
    )
    varied = frame.groupby("Model")["strategy_params"].transform("nunique") > 1
    params = frame.loc[varied, "strategy_params"].replace("", "defaults")
    frame.loc[varied, "Model"] += " (" + params + ")"
    return frame


def table1(frame: pd.DataFrame) -> Table:
    """Necks compared (paper, Table 1): hand-designed necks and the variationally pruned
    dense graph; the dense graph pruned by a deterministic method belongs to Table 3."""
    rows = frame[(frame["neck"] != "dense") | frame["variational"]]
    return _detection_table("table1", "Feature fusion necks compared", rows)


def table4(frame: pd.DataFrame) -> Table:
    """The table of priors: the paper's Table 4 (its Laplace prior, appendix A) grown to every
    prior: Table 1's layout plus the connections kept, the dense graph's rows first as the
    reference, then each variational neck."""
    rows = frame[
        (frame["neck"] == "dense") & (frame["variational"] | (frame["strategy"] == "dense"))
    ]
    if not rows["variational"].any():
        rows = rows[:0]
    caption = "The dense graph pruned under each prior"
    return _detection_table("table4", caption, rows, connections=True)


def table3(frame: pd.DataFrame) -> Table:
    """Pruning strategies on the dense graph (paper, Table 3): AP, Cons, Inference, Params."""
    rows = frame[frame["neck"] == "dense"]
    columns = {
        "AP": "AP",
        "Cons": "connections",
        "Inference": "inference_ms",
        "Params": "neck_params",
    }
    return _summarize("table3", "Pruning strategies on the dense graph", rows, columns)


def table2(frame: pd.DataFrame) -> Table:
    """Uncertainty of the variational neck (paper, Table 2): per detector, the baseline (mean
    weights), test-time averaging ("Mean") and variance voting over K sampled fusion
    networks, and the mean box variance (px², over the kept boxes; none for the baseline)."""
    rows = frame[frame["box_variance"].notna()] if "box_variance" in frame else frame[:0]
    if rows.empty:
        raise ConfigError("table2: no run records with sampled evaluations (samples: K)")
    networks = [DETECTOR_NAMES.get(d, d) for d in rows["detector"]]
    decoders = [
        pd.DataFrame(
            {
                "Network": networks,
                "Model": name,
                **{metric: rows[f"{decoder}_{metric}"].to_numpy() for metric in TABLE2_METRICS},
                "box_variance": math.nan if decoder == "baseline" else rows["box_variance"],
            }
        )
        for decoder, name in DECODER_NAMES.items()
    ]
    long = pd.concat(decoders).sort_values("Network", kind="stable")
    columns = {metric: metric for metric in TABLE2_METRICS} | {"Box variance": "box_variance"}
    numbers, display = _cells(long.groupby(INDEX, sort=False), columns)
    caption = "Uncertainty: sampled fusion networks decoded three ways"
    return Table("table2", caption, display, numbers)


def _detection_table(
    name: str, caption: str, rows: pd.DataFrame, connections: bool = False
) -> Table:
    """Table 1's columns (the AP family, Params, Inference), with Cons before Params when
    ``connections``."""
    columns = {metric: metric for metric in METRICS}
    if connections:
        columns["Cons"] = "connections"
    columns.update(Params="neck_params", Inference="inference_ms")
    return _summarize(name, caption, rows, columns)


def _summarize(name: str, caption: str, rows: pd.DataFrame, columns: dict[str, str]) -> Table:
    """Group ``rows`` by (Network, Model), in the paper's order, and format each column."""
    if rows.empty:
        raise ConfigError(f"{name}: no run records fit this table")
    settings = rows[["preset", "data"]].drop_duplicates()
    if len(settings) > 1:
        raise ConfigError(
            f"{name}: records mix presets/data sets "
            f"{sorted(map(tuple, settings.to_numpy()))}; report one at a time"
        )
    rows = in_paper_order(labelled(headline(rows)))
    numbers, display = _cells(rows.groupby(INDEX, sort=False), columns)
    return Table(name, caption, display, numbers)


def _cells(groups: DataFrameGroupBy, columns: dict[str, str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run counts and each column's mean and sd per group (numbers), and their text (display)."""
    numbers = pd.DataFrame({"runs": groups.size()})
    display = pd.DataFrame(index=numbers.index)
    for header, column in columns.items():
        mean = groups[column].mean()
        sd = _pooled(groups["inference_sd"]) if column == "inference_ms" else groups[column].std()
        numbers[f"{header}_mean"], numbers[f"{header}_sd"] = mean, sd
        display[header] = [
            _cell(column, m, s, n) for m, s, n in zip(mean, sd, numbers["runs"], strict=True)
        ]
    return numbers, display


def headline(rows: pd.DataFrame) -> pd.DataFrame:
    """Mask AP in place of box AP for the runs that have it (Mask R-CNN)."""
    rows = rows.copy()
    for metric in METRICS:
        mask = f"mask_{metric}"
        if mask in rows:
            rows[metric] = rows[mask].where(rows[mask].notna(), rows[metric])
    return rows


def in_paper_order(rows: pd.DataFrame) -> pd.DataFrame:
    """Paper order: detectors as listed, baselines before the dense graph, strategies as in
    Table 3; unknown names last, alphabetically."""
    detectors = list(DETECTOR_NAMES)
    necks, strategies = list(NECK_NAMES), list(STRATEGY_NAMES)

    def rank(order: list[str], name: str) -> tuple[int, str]:
        return (order.index(name) if name in order else len(order), name)

    keys = [
        (rank(detectors, d), rank(necks, n), rank(strategies, s), p, seed)
        for d, n, s, p, seed in rows[
            ["detector", "neck", "strategy", "strategy_params", "seed"]
        ].itertuples(index=False)
    ]
    return rows.iloc[sorted(range(len(rows)), key=keys.__getitem__)]


def _pooled(sds: SeriesGroupBy) -> pd.Series:
    return sds.apply(lambda s: math.sqrt((s**2).mean()))


def _cell(column: str, mean: float, sd: float, runs: int) -> str:
    """The text of one cell; the sd is left out with one run (or one finite value)."""
    if math.isnan(mean):
        return "–"
    if column == "neck_params":
        return params_text(mean)
    if column == "inference_ms":  # its sd is the timing spread: there even for one run
        return f"{mean:.1f}" if math.isnan(sd) else f"{mean:.1f} ± {sd:.2f}"
    alone = runs == 1 or math.isnan(sd)
    if column == "connections":
        return f"{mean:.0f}" if alone or sd == 0 else f"{mean:.1f} ± {sd:.1f}"
    return f"{mean:.3f}" if alone else f"{mean:.3f} ± {sd:.3f}"


def params_text(count: float) -> str:
    """A parameter count as the paper writes it: ``1.74M``, or ``123k`` below a million."""
    if count >= 1e6:
        return f"{count / 1e6:.2f}M"
    if count >= 1e3:
        return f"{count / 1e3:.0f}k"
    return f"{count:.0f}"
