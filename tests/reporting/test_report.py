"""A whole report, and the `report` and `graph draw` commands."""

import json

import pytest

from archsearch.cli import main
from archsearch.errors import ConfigError
from archsearch.graph import save_json
from archsearch.reporting import records_frame, supported_tables, write_report
from tests.reporting import as_records, make_record, pruned_run, write_records


def small_study() -> list[dict]:
    """Table 1, 3 and 4 material: two necks, two strategies, one of them Laplace, two ARD
    seeds."""
    return [
        make_record("ard"),
        make_record("ard", seed=1, ap=0.31),
        make_record("laplace"),
        make_record("dense", "bifpn", experiment="table1_necks"),
    ]


def test_cli_report_writes_tables_figures_and_an_index(tmp_path, capsys):
    records = write_records(tmp_path / "records", small_study())
    out = tmp_path / "reports"
    assert main(["report", str(records), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert f"tables: 9 files under {out / 'tables'} (table1, table3, table4)" in printed
    assert str(out / "index.md") in printed
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    index = (out / "index.md").read_text()
    assert all(name in index for name in written if name != "index.md")
    figures = "figures/table3_pruning-demo/"
    for stem in (
        "architecture-faster_rcnn-dense-ard-s0",  # the first seed only
        "architecture-faster_rcnn-dense-laplace-s0",
        "posterior-means-faster_rcnn-dense-ard-s0",
        "posterior-means-faster_rcnn-dense-laplace-s0",
        "active-connections",
    ):
        assert f"{figures}{stem}.png" in written and f"{figures}{stem}.svg" in written
    assert f"{figures}architecture-faster_rcnn-dense-ard-s1.png" not in written
    assert "posterior-means-faster_rcnn-bifpn" not in index  # no history, no posterior
    assert "figures/table1_necks-demo/architecture-faster_rcnn-bifpn-dense-s0.png" in written
    assert all((out / name).stat().st_size > 0 for name in written)


def test_figure3_draws_one_architecture_per_data_set(tmp_path):
    """One model on three data sets (Figure 3): three architectures, labelled by data set."""
    records = []
    for seed, data in enumerate(("digits-mixed", "digits-large", "digits-small")):
        record = make_record("fullard", seed=seed, experiment="figure3_datasets")
        record["settings"]["data"] = data
        record["run"] += f"-{data}"
        records.append(record)
    out = tmp_path / "reports"
    written = [p.relative_to(out).as_posix() for p in write_report(as_records(records), out)]
    figures = "figures/figure3_datasets-demo/"
    for record in records:
        assert f"{figures}architecture-{record['run']}.png" in written
    index = (out / "index.md").read_text()
    assert all(f"FullARD ({data})" in index for data in ("digits-mixed", "digits-small"))


def test_tables_follow_what_the_records_support(tmp_path):
    no_graphs = [make_record("dense", "pconv"), make_record("dense", "fpn")]
    for record in no_graphs:
        record["graph"] = None
    quick = make_record("dense", "pconv", seed=1)
    quick.update(preset="quick", graph=None)
    written = write_report(as_records([*no_graphs, quick]), tmp_path)
    names = sorted(p.relative_to(tmp_path).as_posix() for p in written)
    assert names == sorted(
        ["index.md", *(f"tables/table1-demo-digits-mixed.{s}" for s in ("md", "tex", "csv"))]
    )  # one neck in the quick preset: no table of it, and no graph to draw
    assert [t.name for t in supported_tables(records_frame(as_records([make_record("ard")])))] == []
    with pytest.raises(ConfigError, match="no run records"):
        write_report(as_records([]), tmp_path)


def test_graph_draw_with_and_without_weights(tmp_path, capsys):
    final, history = pruned_run(0)
    graph = save_json(final, tmp_path / "g.json")
    record = make_record("ard")
    (tmp_path / "record.json").write_text(json.dumps(record))
    (tmp_path / "history.json").write_text(json.dumps(history.to_dict()))
    for weights, out in [(None, "plain.svg"), ("record.json", "r.png"), ("history.json", "h")]:
        extra = [] if weights is None else ["--weights", str(tmp_path / weights)]
        assert main(["graph", "draw", str(graph), "--out", str(tmp_path / out), *extra]) == 0
    assert (tmp_path / "plain.svg").read_text().lstrip().startswith("<?xml")
    assert (tmp_path / "r.png").stat().st_size > 0 and (tmp_path / "h.png").stat().st_size > 0
    assert "9 connections" in capsys.readouterr().out


def test_cli_errors_name_the_file(tmp_path, capsys):
    bad = make_record("ard")
    del bad["settings"]["seed"]
    records = write_records(tmp_path / "records", [bad])
    assert main(["report", str(records), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "key 'settings.seed' is missing" in err
    assert main(["graph", "draw", str(tmp_path / "none.json"), "--out", "x.png"]) == 2
    assert "none.json: no such file" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
