"""An experiment file to a finished study, and a study to a report: what `run`, `report` and
`demo` share, so the three commands cannot drift apart."""

from __future__ import annotations

import sys
from pathlib import Path

import optuna

from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.study import HEARTBEAT_SECONDS, enqueue, export_records, open_study, work


def study_name(experiment: str, profile: str) -> str:
    """One study per experiment and profile: ``table3_pruning-quick``."""
    return f"{experiment}-{profile}"


def run_experiment(
    path: Path,
    profile: str,
    seeds: int | None = None,
    storage: str | None = None,
    root: Path = Path("runs"),
    heartbeat: int = HEARTBEAT_SECONDS,
    progress: bool = True,
) -> optuna.Study:
    """Check ``path``'s runs of ``profile``, enqueue those not done, and work until none waits.

    Every config error is raised before any training. Other workers on the same storage
    share the runs; on return this worker found nothing left to start.
    """
    config = load_experiment(path)
    runs = expand_runs(config, profile, seeds)
    study = open_study(study_name(config["name"], profile), storage, root, heartbeat)
    added = enqueue(study, runs)
    print(f"study {study.study_name}: {len(runs)} runs, {len(added)} to do", file=sys.stderr)
    work(study, runs, root, progress=progress)
    return study


def report_study(study: optuna.Study, root: Path, out: Path) -> list[Path]:
    """Export the study's records to ``out/records`` and write the report beside them.

    The records stay with the report, so the tables can be remade without the database.
    """
    # imported here: matplotlib and pandas are slow to load and only reports need them
    from archsearch.reporting import load_records, write_report

    export_records(study, root, out / "records")
    return write_report(load_records(out / "records"), out)
