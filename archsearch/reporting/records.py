"""Run records: the JSON files `archsearch run` writes, read back for tables and figures.

A record is one run (settings, COCO metrics, neck size and speed, and for graph necks the
final graph, the initial graph and the strategy's `History`). Reading one never trains and
never builds a neck: the reporting layer needs nothing but the record.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
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
REQUIRED = {"experiment": str, "preset": str, "run": str, "settings": dict, "metrics": dict}
REQUIRED_SETTINGS = {
    "strategy": (str, type(None)),
    "neck": str,
    "detector": str,
    "data": str,
    "seed": int,
}
OPTIONAL_SETTINGS = {"strategy_params": dict, "strategy_settings": dict}
OPTIONAL = {
    "connections": int,
    "blocks": int,
    "neck_params": NUMBER,
    "neck_gflops": NUMBER,
    "inference_ms": dict,
    "train_seconds": NUMBER,
    "run_seconds": NUMBER,
    "steps": int,
    "shared_steps": int,
    "graph": dict,
    "initial_graph": dict,
    "history": dict,
    "uncertainty": dict,
}
HISTORY_KEYS = ("connection_ids", "steps", "active", "mean", "variance")
# Keys records written before issue 22 hold under another name: old name -> new name.
RENAMED = {"profile": "preset"}


@dataclass(frozen=True)
class RunSettings:
    """What a record says about how its run was set up (the rest is in the run's spec)."""

    strategy: str | None
    neck: str
    detector: str
    data: str
    seed: int
    # the hyper-parameters the run file gave, and every one in force (defaults change)
    strategy_params: dict[str, Any] = field(default_factory=dict)
    strategy_settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RunRecord:
    """One run as `archsearch run` writes it and the reporting layer reads it.

    Settings, COCO metrics (``mask_*`` for masks), the neck's size and speed, and for graph
    necks the final graph, the initial graph and the strategy's `History` (kept as their
    JSON, parsed only when drawn, so that hundreds of records load fast). ``preset`` is the
    experiment file's preset (``demo``, ``quick``, ``paper``) the run belongs to.
    """

    experiment: str
    preset: str
    run: str
    settings: RunSettings
    metrics: dict[str, float | None]
    connections: int | None = None
    blocks: int | None = None
    neck_params: float | None = None
    neck_gflops: float | None = None
    inference_ms: dict[str, float] | None = None
    train_seconds: float | None = None
    run_seconds: float | None = None
    steps: int | None = None
    shared_steps: int | None = None
    graph: dict[str, Any] | None = None
    initial_graph: dict[str, Any] | None = None
    history: dict[str, Any] | None = None
    uncertainty: dict[str, Any] | None = None

    @classmethod
    def from_dict(cls, data: Any, source: str = "<record>") -> RunRecord:
        """The record a JSON object holds, its keys and value types checked.

        Raises `ConfigError` naming ``source`` and the key at fault. Keys of older records
        (`RENAMED`) are read under their new names; keys this version does not know are
        left out, so a record of a newer version still reports.
        """
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: a run record must be a JSON object")
        data = {RENAMED.get(key, key): value for key, value in data.items()}
        _check(data, REQUIRED, source, "", optional=False)
        _check(data["settings"], REQUIRED_SETTINGS, source, "settings.", optional=False)
        _check(data, OPTIONAL, source, "", optional=True)
        _check(data["settings"], OPTIONAL_SETTINGS, source, "settings.", optional=True)
        for name, value in data["metrics"].items():
            if value is not None and not isinstance(value, NUMBER):
                raise ConfigError(f"{source}: key 'metrics.{name}' must be a number or null")
        timing = data.get("inference_ms")
        if timing is not None:
            _check(timing, {"median": NUMBER}, source, "inference_ms.", optional=False)
            _check(timing, {"sd": NUMBER}, source, "inference_ms.", optional=True)
        history = data.get("history")
        missing = [key for key in HISTORY_KEYS if history is not None and key not in history]
        if missing:
            raise ConfigError(f"{source}: key 'history.{missing[0]}' is missing")
        settings = {
            key: data["settings"].get(key) or {} if key in OPTIONAL_SETTINGS else value
            for key, value in data["settings"].items()
            if key in REQUIRED_SETTINGS or key in OPTIONAL_SETTINGS
        }
        known = {key: data.get(key) for key in OPTIONAL}
        return cls(
            experiment=data["experiment"],
            preset=data["preset"],
            run=data["run"],
            settings=RunSettings(**settings),
            metrics=dict(data["metrics"]),
            **known,
        )

    def to_dict(self) -> dict[str, Any]:
        """The record's JSON object, as written to a record file."""
        return asdict(self)

    def fusion_graph(self, initial: bool = False) -> FusionGraph | None:
        """The run's final graph (or, with ``initial``, the graph it started from), or None."""
        key = "initial_graph" if initial else "graph"
        data = getattr(self, key)
        return None if data is None else from_dict(data, source=f"run {self.run} {key}")

    def strategy_history(self) -> History | None:
        """The strategy's history of the run, or None when it had no strategy."""
        # imported here: the strategies package loads torch, which tables never need
        from archsearch.strategies.history import History

        return None if self.history is None else History.from_dict(self.history)

    @property
    def variational(self) -> bool:
        """Whether the run's connection weights had a posterior variance at some step.

        Read from the data, not from a list of names, so a plugin's variational strategy is
        reported like the built-in ones.
        """
        history = self.history or {}
        return any(
            value is not None and math.isfinite(value)
            for values in (history.get("variance") or {}).values()
            for value in values
        )


def load_records(folder: str | Path) -> list[RunRecord]:
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


def load_record(path: str | Path) -> RunRecord:
    """One record file (`RunRecord.from_dict`)."""
    return RunRecord.from_dict(read_json(Path(path)), str(path))


def load_weights(path: str | Path) -> tuple[dict[str, float], FusionGraph | None]:
    """Connection weights to draw from a run record or a bare history JSON.

    Returns (`final_means` of the history, the record's initial graph or None): a drawing
    of the final graph then shows what was pruned, where the record knows it.
    """
    data = read_json(Path(path))
    if isinstance(data, dict) and "connection_ids" in data:  # a bare History.to_dict()
        missing = [key for key in HISTORY_KEYS if key not in data]
        if missing:
            raise ConfigError(f"{path}: key '{missing[0]}' of the history is missing")
        from archsearch.strategies.history import History

        return final_means(History.from_dict(data)), None
    record = RunRecord.from_dict(data, str(path))
    history = record.strategy_history()
    if history is None:
        raise ConfigError(f"{path}: key 'history' is null: no weights to draw")
    return final_means(history), record.fusion_graph(initial=True)


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


def records_frame(records: Sequence[RunRecord]) -> pd.DataFrame:
    """One row per run (row ``i`` is ``records[i]``), flat columns: settings, every metric,
    size, speed; ``target`` and ``model_params`` (`archsearch.reporting.curves`).

    Metrics below zero are COCOeval's "no ground truth to score" marker (e.g. APL on a data
    set without large objects) and become NaN, so they never enter a mean. ``variational``
    says whether the strategy's weights had a variance (a posterior), read from the history.
    """
    metric_names = list(METRICS) + sorted(
        {name for r in records for name in r.metrics} - set(METRICS)
    )
    rows = []
    for record in records:
        settings = record.settings
        timing = record.inference_ms or {}
        row = {
            "experiment": record.experiment,
            "preset": record.preset,
            "run": record.run,
            "strategy": settings.strategy or "dense",
            "neck": settings.neck,
            "detector": settings.detector,
            "data": settings.data,
            "seed": settings.seed,
            "strategy_params": _params_text(settings.strategy_params),
            "variational": record.variational,
            **_target(settings),
        }
        for name in metric_names:
            value = record.metrics.get(name)
            row[name] = math.nan if value is None or value < 0 else float(value)
        for key in ("connections", "blocks", "neck_params", "neck_gflops", "train_seconds"):
            row[key] = _number(getattr(record, key))
        row["inference_ms"] = _number(timing.get("median"))
        row["inference_sd"] = _number(timing.get("sd"))
        row.update(uncertainty_columns(record))
        rows.append(row)
    return pd.DataFrame(rows)


def uncertainty_columns(record: RunRecord) -> dict[str, float]:
    """``{decoder}_{metric}`` and ``box_variance`` of a run scored on sampled networks
    (`archsearch.uncertainty`, Table 2); empty for any other run."""
    uncertainty = record.uncertainty
    if not uncertainty:
        return {}
    columns = {
        f"{decoder}_{name}": _number(value)
        for decoder, values in uncertainty["metrics"].items()
        for name, value in values.items()
    }
    columns["box_variance"] = _number(uncertainty.get("mean_box_variance"))
    return columns


def _target(settings: RunSettings) -> dict[str, Any]:
    """A run's ``target`` (NaN without one) and its model's parameters apart from it (and
    from random pruning's ``seed``: its draws are one model), as `archsearch.reporting.curves`
    groups runs."""
    params = settings.strategy_params
    target = params.get("target")
    whole = isinstance(target, int | float) and not isinstance(target, bool)
    left_out = {"target", "seed"} if settings.strategy == "random" else {"target"}
    model = {key: value for key, value in params.items() if key not in left_out}
    return {"target": float(target) if whole else math.nan, "model_params": _params_text(model)}


def _params_text(params: dict[str, Any]) -> str:
    return ", ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


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
