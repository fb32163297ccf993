"""Loading and flattening run records; malformed files name the file and the key."""

import json
import math

import pytest

from archsearch.errors import ConfigError
from archsearch.reporting import (
    RunRecord,
    final_means,
    load_records,
    load_weights,
    records_frame,
)
from tests.reporting import as_records, make_record, write_records


def test_load_records_round_trip(tmp_path):
    records = [make_record("ard", seed=1), make_record("lasso"), make_record("dense", "pconv")]
    loaded = load_records(write_records(tmp_path, records))
    assert sorted(r.run for r in loaded) == sorted(r["run"] for r in records)
    assert sorted(r.to_dict()["run"] for r in loaded) == sorted(r["run"] for r in records)
    ard = next(r for r in loaded if r.settings.strategy == "ard")
    assert len(ard.fusion_graph().connection_ids) == 9
    assert len(ard.fusion_graph(initial=True).connection_ids) == 63
    assert ard.strategy_history().active[-1] == 9
    pconv = next(r for r in loaded if r.settings.neck == "pconv")
    assert pconv.fusion_graph() is None and pconv.strategy_history() is None


def test_a_record_reads_back_what_it_wrote_and_older_records_alike():
    record = RunRecord.from_dict(make_record("ard", seed=1))
    assert RunRecord.from_dict(json.loads(json.dumps(record.to_dict()))) == record
    older = {
        ("profile" if key == "preset" else key): value
        for key, value in make_record("ard", seed=1).items()
    }
    assert RunRecord.from_dict(older) == record  # written before issue 22 named it "preset"


def test_records_frame_is_flat_one_row_per_run():
    record = make_record("ard", detector="mask_rcnn")
    record["metrics"]["APL"] = -1.0  # COCOeval: no large objects to score
    frame = records_frame(as_records([record, make_record("lasso", seed=3)]))
    assert len(frame) == 2
    row = frame.iloc[0]
    assert row["strategy"] == "ard" and row["neck"] == "dense" and row["seed"] == 0
    assert row["AP"] == pytest.approx(record["metrics"]["AP"])
    assert row["mask_AP"] == pytest.approx(record["metrics"]["mask_AP"])
    assert math.isnan(row["APL"])
    assert row["connections"] == 9 and row["inference_ms"] == 6.0
    assert row["inference_sd"] == 0.1 and row["strategy_params"] == "target=9"
    assert list(frame["variational"]) == [True, False]
    assert math.isnan(frame.iloc[1]["mask_AP"])


def test_variational_is_read_from_the_history():
    ard, plain, bifpn = as_records(
        [make_record("ard"), make_record("ard", variational=False), make_record("dense", "bifpn")]
    )
    assert ard.variational and not plain.variational and not bifpn.variational


def test_final_means_are_the_last_finite_values():
    history = RunRecord.from_dict(make_record("ard")).strategy_history()
    means = final_means(history)
    assert set(means) == set(history.connection_ids)
    for connection, values in history.mean.items():
        finite = [v for v in values if not math.isnan(v)]
        assert means[connection] == finite[-1]


def test_load_weights_from_a_record_or_a_history(tmp_path):
    record = make_record("ard")
    (tmp_path / "record.json").write_text(json.dumps(record))
    (tmp_path / "history.json").write_text(json.dumps(record["history"]))
    weights, reference = load_weights(tmp_path / "record.json")
    assert len(reference.connection_ids) == 63 and len(weights) == 63
    assert load_weights(tmp_path / "history.json") == (weights, None)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (lambda r: r.pop("metrics"), "'metrics' is missing"),
        (lambda r: r["settings"].pop("neck"), "'settings.neck' is missing"),
        (lambda r: r["settings"].update(seed="0"), "'settings.seed' has the wrong type"),
        (lambda r: r["settings"].update(seed=True), "'settings.seed' has the wrong type"),
        (lambda r: r["metrics"].update(AP="high"), "'metrics.AP' must be a number"),
        (lambda r: r.update(connections=9.5), "'connections' has the wrong type"),
        (lambda r: r.update(inference_ms={"sd": 1}), "'inference_ms.median' is missing"),
        (lambda r: r["inference_ms"].update(sd="x"), "'inference_ms.sd' has the wrong type"),
        (lambda r: r["settings"].update(strategy_params=[]), "'settings.strategy_params' has"),
        (lambda r: r["history"].pop("active"), "'history.active' is missing"),
    ],
)
def test_malformed_records_name_file_and_key(tmp_path, change, key):
    good, bad = make_record("ard"), make_record("lasso")
    change(bad)
    write_records(tmp_path, [good, bad])
    with pytest.raises(ConfigError, match=rf"{bad['run']}\.json: key {key}"):
        load_records(tmp_path)


def test_unreadable_folders_and_files(tmp_path):
    with pytest.raises(ConfigError, match="no such folder"):
        load_records(tmp_path / "missing")
    with pytest.raises(ConfigError, match="no run records"):
        load_records(tmp_path)
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(ConfigError, match="broken.json: not JSON"):
        load_records(tmp_path)
    (tmp_path / "broken.json").write_text("[]")
    with pytest.raises(ConfigError, match="broken.json: a run record must be a JSON object"):
        load_records(tmp_path)
