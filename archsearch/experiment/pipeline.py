"""An experiment file to a finished study, and a study to a report: what `run`, `report` and
`demo` share, so the three commands cannot drift apart."""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import optuna
from optuna.trial import TrialState

from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.storage import HEARTBEAT_SECONDS, open_study
from archsearch.experiment.study import enqueue, export_records, work


def study_name(experiment: str, preset: str) -> str:
    """One study per experiment and preset: ``table3_pruning-quick``."""
    return f"{experiment}-{preset}"


def run_experiment(
    path: Path,
    preset: str,
    seeds: int | None = None,
    storage: str | None = None,
    root: Path = Path("runs"),
    heartbeat: int = HEARTBEAT_SECONDS,
    progress: bool = True,
) -> optuna.Study:
    """Check ``path``'s runs of ``preset``, enqueue those not done, and work until none waits.

    Every config error is raised before any training. Other workers on the same storage
    share the runs; on return this worker found nothing left to start.
    """
    config = load_experiment(path)
    runs = expand_runs(config, preset, seeds)
    study = open_study(study_name(config["name"], preset), storage, root, heartbeat)
    added = enqueue(study, runs)
    standing = progress_line(study, len(runs), len(added))
    print(f"study {study.study_name}: {standing}", file=sys.stderr)
    work(study, runs, root, progress=progress)
    return study


def progress_line(study: optuna.Study, runs: int, added: int) -> str:
    """``16 runs: 2 complete, 2 running, 12 waiting (6 queued now)``: where a study stands
    when a worker joins it, so that a resumed study does not read as finished."""
    states = Counter(t.state for t in study.get_trials(deepcopy=False))
    line = (
        f"{runs} runs: {states[TrialState.COMPLETE]} complete, "
        f"{states[TrialState.RUNNING]} running, {states[TrialState.WAITING]} waiting"
    )
    return f"{line} ({added} queued now)" if added else line


def report_study(study: optuna.Study, root: Path, out: Path) -> list[Path]:
    """Export the study's records to ``out/records`` and write the report beside them.

    The records stay with the report, so the tables can be remade without the database.
    """
    # imported here: matplotlib and pandas are slow to load and only reports need them
    from archsearch.reporting import load_records, write_report

    export_records(study, root, out / "records")
    return write_report(load_records(out / "records"), out)
