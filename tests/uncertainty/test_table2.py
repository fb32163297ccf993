"""Table 2 in the report: decoders as rows, mean ± sd over seeds checked against pandas."""

import pandas as pd
import pytest

from archsearch.reporting import records_frame, write_report
from archsearch.reporting.report import supported_tables
from archsearch.reporting.tables import table2
from tests.reporting import as_records, make_record

DECODERS = {"baseline": "Baseline", "mean": "Mean", "varvote": "Var voting"}


def sampled_record(seed: int) -> dict:
    record = make_record("ard", seed=seed, experiment="table2_uncertainty")
    metrics = {
        decoder: {"AP": 0.3 + 0.01 * i + 0.002 * seed, "AP50": 0.5 + 0.01 * seed, "AP75": 0.32}
        for i, decoder in enumerate(DECODERS)
    }
    record["uncertainty"] = {"metrics": metrics, "mean_box_variance": 2.0 + seed, "samples": 10}
    return record


def test_table2_rows_are_decoders_with_seed_statistics():
    records = [sampled_record(seed) for seed in range(3)]
    table = table2(records_frame(as_records(records)))
    assert list(table.display.index) == [("Faster RCNN", name) for name in DECODERS.values()]
    assert list(table.display.columns) == ["AP", "AP50", "AP75", "Box variance"]
    for decoder, name in DECODERS.items():
        ap = pd.Series([r["uncertainty"]["metrics"][decoder]["AP"] for r in records])
        row = table.numbers.loc[("Faster RCNN", name)]
        assert row["runs"] == 3
        assert row["AP_mean"] == pytest.approx(ap.mean()) and row["AP_sd"] == pytest.approx(
            ap.std()
        )
    assert table.display.loc[("Faster RCNN", "Baseline"), "Box variance"] == "–"
    assert table.display.loc[("Faster RCNN", "Var voting"), "Box variance"] == "3.000 ± 1.000"


def test_report_writes_table2_only_for_sampled_runs(tmp_path):
    paths = write_report(as_records([sampled_record(0)]), tmp_path)
    assert tmp_path / "tables" / "table2.md" in paths
    assert "Var voting" in (tmp_path / "index.md").read_text()
    plain = records_frame(as_records([make_record("ard"), make_record("dense")]))
    assert "table2" not in [table.name for table in supported_tables(plain)]
