"""Synthetic but real run records for the reporting tests.

Graphs are the real dense graph pruned by `select_top`, histories real `History` objects
filled step by step, so every record is what `archsearch run` would write, minus training.
"""

from __future__ import annotations

import functools
import json
import math
import random
from pathlib import Path
from typing import Any

from archsearch.graph import FusionGraph, build_graph, dense, select_top, to_dict
from archsearch.reporting import RunRecord
from archsearch.strategies.history import History

METRICS = {"AP": 0.30, "AP50": 0.50, "AP75": 0.32, "APS": 0.16, "APM": 0.33, "APL": 0.38}
STEPS = 12


def make_record(
    strategy: str = "ard",
    neck: str = "dense",
    seed: int = 0,
    ap: float = 0.30,
    detector: str = "faster_rcnn",
    experiment: str = "table3_pruning",
    variational: bool | None = None,
) -> dict[str, Any]:
    """One run; the dense graph keeps 9 connections unless ``strategy`` is ``dense``."""
    variational = strategy in ("ard", "fullard", "laplace") if variational is None else variational
    record: dict[str, Any] = {
        "experiment": experiment,
        "preset": "demo",
        "run": f"{detector}-{neck}-{strategy}-s{seed}",
        "settings": {
            "strategy": strategy,
            "neck": neck,
            "detector": detector,
            "data": "digits-mixed",
            "seed": seed,
            "strategy_params": {"target": 9},
            "strategy_settings": {"target": 9, "criterion": "snr", "threshold": None}
            if variational
            else {"target": 9},
        },
        "metrics": {name: value + ap - 0.30 for name, value in METRICS.items()},
        "neck_params": 1_740_000 - 10_000 * seed,
        "neck_gflops": 0.5,
        "inference_ms": {"median": 6.0 + seed, "sd": 0.1},
        "train_seconds": 60.0,
        "graph": None,
        "initial_graph": None,
        "history": None,
    }
    if detector == "mask_rcnn":
        record["metrics"].update({f"mask_{k}": v - 0.02 for k, v in record["metrics"].items()})
    if neck == "dense":
        keep = 63 if strategy == "dense" else 9
        graph, history = pruned_run(seed, strategy, keep, variational)
        record.update(
            graph=to_dict(graph), initial_graph=to_dict(dense()), history=history.to_dict()
        )
    elif neck != "pconv":
        graph = build_graph(neck)
        record["graph"] = to_dict(graph)
    if record["graph"] is not None:
        record["connections"] = len(graph.connection_ids)
        record["blocks"] = graph.counts().blocks
    return record


@functools.cache  # select_top takes a tenth of a second: one wiring per seed serves all
def _wiring(seed: int, keep: int) -> tuple[dict[str, float], FusionGraph]:
    initial = dense()
    rng = random.Random(seed)
    scores = {c: rng.random() for c in initial.connection_ids}
    return scores, initial.prune(select_top(initial, scores, keep))


def pruned_run(
    seed: int, strategy: str = "ard", keep: int = 9, variational: bool = True
) -> tuple[FusionGraph, History]:
    """(final graph, history) of a run pruning the dense graph to ``keep`` connections.

    A pruned connection's mean decays towards zero and reads NaN from a step drawn per
    strategy (so strategies' curves differ); kept ones settle at their score. The active
    count is the number of finite means.
    """
    scores, final = _wiring(seed, keep)
    kept = set(final.connection_ids)
    timing = random.Random(f"{strategy}-{seed}")
    pruned_at = {c: 1 + int(timing.random() * (STEPS - 2)) for c in scores}
    history = History.for_connections(list(scores))
    for step in range(STEPS):
        progress = step / (STEPS - 1)
        for c, score in scores.items():
            alive = c in kept or step < pruned_at[c]
            mean = 0.5 + ((score if c in kept else 0.0) - 0.5) * progress
            history.mean[c].append(mean if alive else math.nan)
            history.variance[c].append(0.1 if alive and variational else math.nan)
            history.score[c].append(mean * mean / 0.1 if alive and variational else math.nan)
        history.steps.append(step * 10)
        history.active.append(sum(math.isfinite(v[-1]) for v in history.mean.values()))
    return final, history


def as_records(records: list[dict[str, Any]]) -> list[RunRecord]:
    """The `RunRecord`s of record JSON objects, as `load_records` reads them."""
    return [RunRecord.from_dict(record) for record in records]


def write_records(folder: Path, records: list[dict[str, Any]]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for record in records:
        name = f"{record['experiment']}-{record['run']}.json"
        (folder / name).write_text(json.dumps(record))
    return folder


def table3_records() -> list[dict[str, Any]]:
    """Two seeds of every built-in strategy on the dense graph."""
    strategies = ["dense", "random", "lasso", "taylor", "lottery", "ard", "fullard", "laplace"]
    return [
        make_record(strategy, seed=seed, ap=0.25 + 0.01 * i + 0.004 * seed)
        for i, strategy in enumerate(strategies)
        for seed in (0, 1)
    ]


def table1_records() -> list[dict[str, Any]]:
    """Baseline necks and ARD/FullARD with both detectors, two seeds each."""
    return [
        make_record(strategy, neck, seed, 0.28 + 0.002 * seed, detector, "table1_necks")
        for detector in ("faster_rcnn", "mask_rcnn")
        for neck, strategy in [
            ("bifpn", "dense"),
            ("panet", "dense"),
            ("pconv", "dense"),
            ("dense", "ard"),
            ("dense", "fullard"),
        ]
        for seed in (0, 1)
    ]
