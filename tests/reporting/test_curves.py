"""Accuracy against connection count: points, bands and paired gaps against hand-made means."""

import math
import statistics

import pytest

from archsearch.errors import ConfigError
from archsearch.reporting import count_gaps, records_frame, write_report
from archsearch.reporting.curves import curve_points, has_count_gaps, has_curves
from tests.reporting import as_records, make_record

# AP of (strategy, target, seed, draw): random has two draws a seed, Taylor one run.
AP = {
    ("random", 5, 0, 0): 0.40, ("random", 5, 0, 1): 0.44, ("random", 5, 1, 0): 0.42,
    ("random", 5, 1, 1): 0.46, ("random", 9, 0, 0): 0.50, ("random", 9, 0, 1): 0.52,
    ("random", 9, 1, 0): 0.49, ("random", 9, 1, 1): 0.55, ("taylor", 5, 0, 0): 0.47,
    ("taylor", 5, 1, 0): 0.41, ("taylor", 9, 0, 0): 0.53, ("taylor", 9, 1, 0): 0.56,
}  # fmt: skip


def _records():
    records = []
    for (strategy, target, seed, draw), ap in AP.items():
        record = make_record(strategy, seed=seed, ap=ap)
        params = {"target": target, **({"seed": draw} if strategy == "random" else {})}
        record["settings"]["strategy_params"] = params
        record["run"] += f"-t{target}-d{draw}"
        record["connections"] = target
        records.append(record)
    dense = make_record("dense", seed=0, ap=0.51)
    dense["settings"]["strategy_params"] = {}
    return [*records, dense]


def test_a_model_at_several_targets_is_one_curve_of_means_and_sds():
    frame = records_frame(as_records(_records()))
    assert has_curves(frame)
    points = curve_points(frame).set_index(["Model", "target"])
    random9 = [AP[("random", 9, s, d)] for s in (0, 1) for d in (0, 1)]
    assert points.loc[("Random Pruning", 9.0), "runs"] == 4
    assert points.loc[("Random Pruning", 9.0), "AP_mean"] == pytest.approx(statistics.mean(random9))
    assert points.loc[("Random Pruning", 9.0), "AP_sd"] == pytest.approx(statistics.stdev(random9))
    assert points.loc[("Random Pruning", 5.0), "x_mean"] == 5
    dense = points.loc["No Pruning"]
    assert len(dense) == 1 and math.isnan(dense.index[0]) and dense["x_mean"].iloc[0] == 63


def test_gaps_pair_each_run_with_the_mean_of_randoms_draws_of_its_seed():
    table = count_gaps(records_frame(as_records(_records())))
    row = table.numbers.loc[("Faster RCNN", "Taylor (Molchanov et al., 2019)")]
    for target in (5, 9):
        gaps = [
            AP[("taylor", target, s, 0)]
            - statistics.mean(AP[("random", target, s, d)] for d in (0, 1))
            for s in (0, 1)
        ]
        assert row.loc[float(target), "gap_mean"] == pytest.approx(statistics.mean(gaps))
        assert row.loc[float(target), "gap_sd"] == pytest.approx(statistics.stdev(gaps))
    assert "Random Pruning" not in table.display.index.get_level_values("Model")
    assert list(table.display.columns) == ["5", "9"]


def test_the_report_draws_the_curves_and_tables_the_gaps(tmp_path):
    records = [{**r, "graph": None, "initial_graph": None, "history": None} for r in _records()]
    written = write_report(as_records(records), tmp_path)  # no graphs: no architectures to draw
    names = {path.name for path in written}
    assert {"ap-against-connections.png", "ap-against-neck-latency.png"} <= names
    assert "count_gaps.csv" in names
    assert "AP against connections" in (tmp_path / "index.md").read_text()


def test_one_target_per_model_draws_no_curve():
    records = [make_record("random", seed=s) for s in (0, 1)] + [make_record("dense")]
    assert not has_curves(records_frame(as_records(records)))
    taylor = make_record("taylor")
    taylor["settings"]["strategy_params"] = {"target": 5}
    with pytest.raises(ConfigError, match="no run shares a target"):
        count_gaps(records_frame(as_records([make_record("random"), taylor])))


def test_random_alone_at_two_targets_draws_curves_but_tables_no_gaps(tmp_path):
    """The wiring study: random pruning at 5 and 9 beside a fixed neck has nothing to pair."""
    records = [make_record("random", seed=s) for s in (0, 1)] + [make_record("dense", "fpn")]
    records[0]["settings"]["strategy_params"] = {"target": 5}
    records = [{**r, "graph": None, "initial_graph": None, "history": None} for r in records]
    frame = records_frame(as_records(records))
    assert has_curves(frame) and not has_count_gaps(frame)
    names = {path.name for path in write_report(as_records(records), tmp_path)}
    assert "ap-against-connections.png" in names and "count_gaps.csv" not in names
