"""Table layouts of the paper, and mean ± sd checked against plain pandas."""

import pandas as pd
import pytest

from archsearch.errors import ConfigError
from archsearch.reporting import records_frame, table1, table3, table4
from archsearch.reporting.tables import params_text
from tests.reporting import as_records, make_record, table1_records, table3_records

TABLE3_MODELS = [
    "No Pruning",
    "Random Pruning",
    "Lasso-based",
    "Taylor (Molchanov et al., 2019)",
    "Lottery ticket (Frankle & Carbin, 2019)",
    "ARD",
    "FullARD",
    "Laplace",
]


def test_table3_layout_and_values_match_pandas():
    records = table3_records()
    table = table3(records_frame(as_records(records)))
    assert list(table.display.columns) == ["AP", "Cons", "Inference", "Params"]
    assert list(table.display.index) == [("Faster RCNN", model) for model in TABLE3_MODELS]
    for strategy, model in zip(
        ["dense", "random", "lasso", "taylor", "lottery", "ard", "fullard", "laplace"],
        TABLE3_MODELS,
        strict=True,
    ):
        ap = pd.Series(
            [r["metrics"]["AP"] for r in records if r["settings"]["strategy"] == strategy]
        )
        row = table.numbers.loc[("Faster RCNN", model)]
        assert row["runs"] == 2
        assert row["AP_mean"] == pytest.approx(ap.mean())
        assert row["AP_sd"] == pytest.approx(ap.std())
        cell = table.display.loc[("Faster RCNN", model), "AP"]
        assert cell == f"{ap.mean():.3f} ± {ap.std():.3f}"
    assert table.display.loc[("Faster RCNN", "No Pruning"), "Cons"] == "63"
    assert table.display.loc[("Faster RCNN", "ARD"), "Cons"] == "9"
    # inference: mean of the medians (6 and 7 ms), ± the pooled timing sd
    assert table.display.loc[("Faster RCNN", "ARD"), "Inference"] == "6.5 ± 0.10"
    assert table.display.loc[("Faster RCNN", "ARD"), "Params"] == "1.74M"


def test_one_seed_has_no_sd():
    table = table3(records_frame(as_records([make_record("dense"), make_record("ard")])))
    assert table.display.loc[("Faster RCNN", "ARD"), "AP"] == "0.300"
    assert table.display.loc[("Faster RCNN", "ARD"), "Inference"] == "6.0 ± 0.10"
    assert pd.isna(table.numbers.loc[("Faster RCNN", "ARD"), "AP_sd"])


def test_table1_rows_are_detector_by_model_with_mask_ap_for_mask_rcnn():
    records = [*table1_records(), make_record("lasso", experiment="table1_necks")]
    table = table1(records_frame(as_records(records)))
    models = ["BiFPN", "PANet", "PConv", "ARD", "FullARD"]  # lasso is Table 3's
    assert list(table.display.index) == [
        (network, model) for network in ("Faster RCNN", "Mask RCNN") for model in models
    ]
    assert list(table.display.columns) == [
        "AP",
        "AP50",
        "AP75",
        "APS",
        "APM",
        "APL",
        "Params",
        "Inference",
    ]
    mask = pd.Series(
        [
            r["metrics"]["mask_AP50"]
            for r in records
            if r["settings"]["detector"] == "mask_rcnn" and r["settings"]["neck"] == "panet"
        ]
    )
    assert table.numbers.loc[("Mask RCNN", "PANet"), "AP50_mean"] == pytest.approx(mask.mean())
    assert (
        table.display.loc[("Mask RCNN", "PANet"), "AP50"] == f"{mask.mean():.3f} ± {mask.std():.3f}"
    )


def test_table4_holds_dense_and_every_prior_with_their_connections():
    frame = records_frame(as_records(table3_records()))
    table = table4(frame)
    assert list(table.display.index) == [
        ("Faster RCNN", model) for model in ("No Pruning", "ARD", "FullARD", "Laplace")
    ]
    *metrics, params, inference = table1(frame).display.columns
    assert list(table.display.columns) == [*metrics, "Cons", params, inference]
    dense = frame[frame["strategy"] == "dense"]
    assert table.numbers.loc[("Faster RCNN", "No Pruning"), "Cons_mean"] == pytest.approx(
        dense["connections"].mean()
    )


def test_strategy_sweeps_are_separate_rows():
    low, high = make_record("ard"), make_record("ard", seed=1)
    high["settings"]["strategy_params"] = {"target": 9, "kl_factor": 0.1}
    table = table3(records_frame(as_records([make_record("dense"), low, high])))
    assert [model for _, model in table.display.index] == [
        "No Pruning",
        "ARD (kl_factor=0.1, target=9)",
        "ARD (target=9)",
    ]
    low["settings"]["strategy_params"] = {}  # the strategy's own defaults
    table = table3(records_frame(as_records([make_record("dense"), low, high])))
    assert "ARD (defaults)" in [model for _, model in table.display.index]


def test_mixed_presets_are_refused_and_empty_tables_named():
    other = make_record("lasso")
    other["preset"] = "quick"
    with pytest.raises(ConfigError, match="table3: records mix presets"):
        table3(records_frame(as_records([make_record("ard"), other])))
    with pytest.raises(ConfigError, match="table4: no run records"):
        table4(records_frame(as_records([make_record("dense"), make_record("lasso")])))


def test_written_files(tmp_path):
    table = table3(records_frame(as_records(table3_records())))
    paths = table.write(tmp_path / "table3")
    assert [p.name for p in paths] == ["table3.md", "table3.tex", "table3.csv"]
    markdown = paths[0].read_text()
    assert "| Network | Model | AP | Cons | Inference | Params |" in markdown
    assert "| Faster RCNN | No Pruning |" in markdown and "|  | ARD |" in markdown
    latex = paths[1].read_text()
    assert r"\pm" in latex and r"\begin{table}" in latex and r"Frankle \& Carbin" in latex
    csv = pd.read_csv(paths[2], index_col=[0, 1])
    assert csv.loc[("Faster RCNN", "ARD"), "AP_mean"] == pytest.approx(
        table.numbers.loc[("Faster RCNN", "ARD"), "AP_mean"]
    )
    assert csv["Cons_mean"].dtype.kind == "f"


def test_params_text():
    assert params_text(1_740_000) == "1.74M"
    assert params_text(123_456) == "123k"
    assert params_text(512) == "512"
