"""Run records: the JSON files `archsearch run` writes, read back for tables and figures.

A record is one run (settings, COCO metrics, neck size and speed, and for graph necks the
final graph, the initial graph and the strategy's `History`). Reading one never trains and
never builds a neck: the reporting layer needs nothing but the record.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from archsearch.errors import ConfigError
from archsearch.graph import FusionGraph, from_dict
from archsearch.io import read_json

if TYPE_CHECKING:
    from archsearch.strategies.history import History

METRICS = ("AP", "AP50", "AP75", "APS", "APM", "APL")
NUMBER = (int, float)
# key -> types it may hold; ``None`` (JSON null) is always allowed for the optional ones.
REQUIRED = {"experiment": str, "profile": str, "run": str, "settings": dict, "metrics": dict}
REQUIRED_SETTINGS = {
    "strategy": (str, type(None)),
    "neck": str,
    "detector": str,
    "data": str,
    "seed": int,
}
OPTIONAL = {
    "connections": int,
    "blocks": int,
    "neck_params": NUMBER,
    "neck_gflops": NUMBER,
    "inference_ms": dict,
    "train_seconds": NUMBER,
    "graph": dict,
    "initial_graph": dict,
    "history": dict,
    "uncertainty": dict,
}
HISTORY_KEYS = ("connection_ids", "steps", "active", "mean", "variance")


def load_records(folder: str | Path) -> list[dict[str, Any]]:
    """Every ``*.json`` record in ``folder``, sorted by file name, each validated.

    Raises `ConfigError` naming the folder when it holds none, or the file and key at fault.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ConfigError(f"{folder}: no such folder of run records")
    paths = sorted(folder.glob("*.json"))
    if not paths:
        raise ConfigError(f"{folder}: no run records (*.json) in it")
    return [load_record(path) for path in paths]


def load_record(path: str | Path) -> dict[str, Any]:
    """One record file, validated (`validate_record`)."""
    return validate_record(read_json(Path(path)), str(path))


def load_weights(path: str | Path) -> tuple[dict[str, float], FusionGraph | None]:
    """Connection weights to draw from a run record or a bare history JSON.

    Returns (`final_means` of the history, the record's initial graph or None): a drawing
    of the final graph then shows what was pruned, where the record knows it.
    """
    data = read_json(Path(path))
    if "connection_ids" in data:  # a bare History.to_dict()
        data = {"run": str(path), "history": data}
        missing = [key for key in HISTORY_KEYS if key not in data["history"]]
        if missing:
            raise ConfigError(f"{path}: key '{missing[0]}' of the history is missing")
    else:
        validate_record(data, str(path))
    history = record_history(data)
    if history is None:
        raise ConfigError(f"{path}: key 'history' is null: no weights to draw")
    return final_means(history), record_graph(data, "initial_graph")


def validate_record(record: Any, source: str = "<record>") -> dict[str, Any]:
    """Check the keys and value types tables and figures rely on; return ``record``.

    Graphs and histories are only checked for shape here; they are parsed when drawn, so a
    folder of hundreds of records loads fast.
    """
    if not isinstance(record, dict):
        raise ConfigError(f"{source}: a run record must be a JSON object")
    _check(record, REQUIRED, source, "", optional=False)
    _check(record["settings"], REQUIRED_SETTINGS, source, "settings.", optional=False)
    _check(record, OPTIONAL, source, "", optional=True)
    _check(record["settings"], {"strategy_params": dict}, source, "settings.", optional=True)
    for name, value in record["metrics"].items():
        if value is not None and not isinstance(value, NUMBER):
            raise ConfigError(f"{source}: key 'metrics.{name}' must be a number or null")
    timing = record.get("inference_ms")
    if timing is not None:
        _check(timing, {"median": NUMBER}, source, "inference_ms.", optional=False)
        _check(timing, {"sd": NUMBER}, source, "inference_ms.", optional=True)
    history = record.get("history")
    missing = [key for key in HISTORY_KEYS if history is not None and key not in history]
    if missing:
        raise ConfigError(f"{source}: key 'history.{missing[0]}' is missing")
    return record


def _check(data: dict, spec: dict, source: str, prefix: str, optional: bool) -> None:
    for key, types in spec.items():
        if key not in data:
            if optional:
                continue
            raise ConfigError(f"{source}: key '{prefix}{key}' is missing")
        value = data[key]
        if value is None and optional:
            continue
        # bool is an int to Python, never a count or a seed to us
        if isinstance(value, bool) or not isinstance(value, types):
            raise ConfigError(
                f"{source}: key '{prefix}{key}' has the wrong type ({type(value).__name__})"
            )


def records_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    """One row per run (row ``i`` is ``records[i]``), flat columns: settings, every metric,
    size, speed; ``target`` and ``model_params`` (`archsearch.reporting.curves`).

    Metrics below zero are COCOeval's "no ground truth to score" marker (e.g. APL on a data
    set without large objects) and become NaN, so they never enter a mean. ``variational``
    says whether the strategy's weights had a variance (a posterior), read from the history.
    """
    metric_names = list(METRICS) + sorted(
        {name for r in records for name in r["metrics"]} - set(METRICS)
    )
    rows = []
    for record in records:
        settings = record["settings"]
        timing = record.get("inference_ms") or {}
        row = {
            "experiment": record["experiment"],
            "profile": record["profile"],
            "run": record["run"],
            "strategy": settings["strategy"] or "dense",
            "neck": settings["neck"],
            "detector": settings["detector"],
            "data": settings["data"],
            "seed": settings["seed"],
            "strategy_params": _params_text(settings.get("strategy_params") or {}),
            "variational": is_variational(record),
            **_budget(settings),
        }
        for name in metric_names:
            value = record["metrics"].get(name)
            row[name] = math.nan if value is None or value < 0 else float(value)
        for key in ("connections", "blocks", "neck_params", "neck_gflops", "train_seconds"):
            row[key] = _number(record.get(key))
        row["inference_ms"] = _number(timing.get("median"))
        row["inference_sd"] = _number(timing.get("sd"))
        row.update(uncertainty_columns(record))
        rows.append(row)
    return pd.DataFrame(rows)


def uncertainty_columns(record: dict[str, Any]) -> dict[str, float]:
    """``{decoder}_{metric}`` and ``box_variance`` of a run scored on sampled networks
    (`archsearch.uncertainty`, Table 2); empty for any other run."""
    uncertainty = record.get("uncertainty")
    if not uncertainty:
        return {}
    columns = {
        f"{decoder}_{name}": _number(value)
        for decoder, values in uncertainty["metrics"].items()
        for name, value in values.items()
    }
    columns["box_variance"] = _number(uncertainty.get("mean_box_variance"))
    return columns


def _budget(settings: dict[str, Any]) -> dict[str, Any]:
    """A run's ``target`` (NaN without one) and its model's parameters apart from it (and
    from random pruning's ``seed``: its draws are one model), as `archsearch.reporting.curves`
    groups runs."""
    params = settings.get("strategy_params") or {}
    target = params.get("target")
    whole = isinstance(target, int | float) and not isinstance(target, bool)
    left_out = {"target", "seed"} if settings["strategy"] == "random" else {"target"}
    model = {key: value for key, value in params.items() if key not in left_out}
    return {"target": float(target) if whole else math.nan, "model_params": _params_text(model)}


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def record_graph(record: dict[str, Any], key: str = "graph") -> FusionGraph | None:
    """The graph stored under ``key`` (``graph`` or ``initial_graph``), or None."""
    data = record.get(key)
    return None if data is None else from_dict(data, source=f"run {record['run']} {key}")


def record_history(record: dict[str, Any]) -> History | None:
    """The strategy's history of the run, or None when it had no strategy."""
    # imported here: the strategies package loads torch, which tables never need
    from archsearch.strategies.history import History

    data = record.get("history")
    return None if data is None else History.from_dict(data)


def is_variational(record: dict[str, Any]) -> bool:
    """Whether the run's connection weights had a posterior variance at some step.

    Read from the data, not from a list of names, so a plugin's variational strategy is
    reported like the built-in ones.
    """
    history = record.get("history") or {}
    return any(
        value is not None and math.isfinite(value)
        for values in (history.get("variance") or {}).values()
        for value in values
    )


def final_means(history: History) -> dict[str, float]:
    """The last finite mean of every connection: its value when it was pruned, or at the end.

    Connections that never had a finite mean are left out.
    """
    means = {}
    for connection, values in history.mean.items():
        finite = [v for v in values if math.isfinite(v)]
        if finite:
            means[connection] = finite[-1]
    return means
