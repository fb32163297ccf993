"""Runs as trials of an Optuna study: Optuna is the queue, the result store and the lock.

One study per experiment and preset (`archsearch.experiment.storage` opens it). Each run
is an enqueued trial whose user attribute ``run`` is the run's id; a worker pops the next
waiting trial, trains it (checkpointing in ``runs/<study>/<run id>/``, so a retry resumes),
stores the metrics on the trial and the whole record in the study's artifact store. A
worker killed mid-run stops beating its heartbeat; the next worker marks its trial failed
and `RetryHeartbeatStaleTrialCallback` enqueues it again. A completed run is never enqueued again.

The run id is an attribute, not a parameter: a parameter's choices are fixed for the life of
a study, and an experiment file may gain runs after its study has started.
"""

from __future__ import annotations

import json
import logging
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optuna
from optuna.artifacts import FileSystemArtifactStore, download_artifact, upload_artifact
from optuna.trial import TrialState

from archsearch.experiment.config import RunSpec
from archsearch.experiment.engine import execute
from archsearch.experiment.storage import artifact_store
from archsearch.progress import progress as progress_bar
from archsearch.reporting.records import RunRecord

RECORD_KEY = "record_artifact"
RUN_KEY = "run"  # the run id of an enqueued trial
SPARE_KEY = "spare"  # a trial a worker opened after losing a race: it runs nothing
log = logging.getLogger("archsearch.experiment")


def enqueue(study: optuna.Study, runs: Sequence[RunSpec]) -> list[str]:
    """Enqueue every run that is neither complete, waiting nor running; return their ids.

    Trials of dead workers are failed first, so that their runs are enqueued again.
    """
    optuna.storages.fail_stale_trials(study)
    busy = {TrialState.COMPLETE, TrialState.WAITING, TrialState.RUNNING}
    present = {_run_of(t) for t in study.get_trials(deepcopy=False, states=tuple(busy))}
    added = []
    for run in runs:
        if run.id not in present:
            study.enqueue_trial({}, user_attrs={RUN_KEY: run.id, "spec": run.to_dict()})
            added.append(run.id)
    return added


def work(study: optuna.Study, runs: Sequence[RunSpec], root: Path, progress: bool = True) -> int:
    """Pop and execute waiting runs of ``runs`` until none is left; returns how many ran.

    A popped trial of a run that is not in ``runs`` (a worker started with other seeds
    queued it) goes back into the queue, for a worker that knows it.
    """
    by_id = {run.id: run for run in runs}
    store = artifact_store(root, study.study_name)
    ran: list[str] = []

    def objective(trial: optuna.Trial) -> float:
        trials = study.get_trials(deepcopy=False)
        (popped,) = (t for t in trials if t.number == trial.number)
        run_id = _run_of(popped)
        if run_id is None:
            # Two workers saw the last waiting trial: the loser's `optimize` opened a new
            # trial, with no run. Never run anything twice; list it nowhere.
            raise spare(trial, "no waiting run left")
        run = by_id.get(run_id)
        if run is None:
            # Another worker's run (it was started with other seeds or another version of
            # the file): put it back in the queue for a worker that knows it.
            study.enqueue_trial({}, user_attrs={RUN_KEY: run_id, **popped.user_attrs})
            raise spare(trial, f"run {run_id} is not one of this worker's runs")
        if _taken(trials, run.id, trial.number):
            raise spare(trial, f"run {run.id} is taken")
        log.info("trial %d: run %s", trial.number, run.id)
        dependents = [r for r in runs if (twin := r.twin()) is not None and twin.id == run.id]
        record = execute(run, root / study.study_name / run.id, progress, dependents)
        store_record(trial, record, store)
        ran.append(run.id)
        return record.metrics["AP"]

    bar = progress_bar(len(runs), "runs", initial=_completed(study), disable=not progress)
    while _waiting(study, by_id):
        before = _completed(study)
        study.optimize(objective, n_trials=1, catch=())
        bar.update(_completed(study) - before)
    bar.close()
    return len(ran)


def store_record(trial: optuna.Trial, record: RunRecord, store: FileSystemArtifactStore) -> None:
    """Put a run's metrics on ``trial`` and its whole record in the artifact ``store``."""
    for name, value in record.metrics.items():
        trial.set_user_attr(name, value)
    trial.set_user_attr("connections", record.connections)
    trial.set_user_attr("neck_params", record.neck_params)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{record.run}.json"
        path.write_text(json.dumps(record.to_dict()))
        artifact = upload_artifact(artifact_store=store, file_path=str(path), study_or_trial=trial)
    trial.set_user_attr(RECORD_KEY, artifact)


def _run_of(trial: optuna.trial.FrozenTrial) -> str | None:
    """The run id of a trial. Studies made before it became an attribute hold it as a
    parameter, fixed while the trial waits; both kinds of trial are read, and run, alike."""
    legacy = trial.params.get("run", trial.system_attrs.get("fixed_params", {}).get("run"))
    return trial.user_attrs.get(RUN_KEY, legacy)


def _taken(trials: Sequence[optuna.trial.FrozenTrial], run_id: str, number: int) -> bool:
    """Whether a trial of ``trials`` other than ``number`` owns run ``run_id``: a complete
    one, or an open one numbered lower.

    Two workers that enqueue at once leave two trials per run. When both are popped, each
    sees the other running: were any running trial the owner, both would stand down and
    the run would be lost. The lower number owns the run, so exactly one of them trains it.
    """
    return any(
        _run_of(t) == run_id
        and (
            t.state == TrialState.COMPLETE
            or (t.state in (TrialState.RUNNING, TrialState.WAITING) and t.number < number)
        )
        for t in trials
    )


def _waiting(study: optuna.Study, runs: Mapping[str, RunSpec]) -> bool:
    """Whether a trial of one of ``runs`` waits; other workers' runs are left to them."""
    waiting = study.get_trials(deepcopy=False, states=(TrialState.WAITING,))
    return any(_run_of(t) in runs for t in waiting)


def _completed(study: optuna.Study) -> int:
    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))


def spare(trial: optuna.Trial, reason: str) -> optuna.TrialPruned:
    """Mark a trial that must run nothing (a worker lost a race); raise what this returns.

    A spare trial is pruned and flagged, so that tables and budgets can leave it out.
    """
    trial.set_user_attr(SPARE_KEY, True)
    return optuna.TrialPruned(reason)


def is_spare(trial: optuna.trial.FrozenTrial) -> bool:
    return bool(trial.user_attrs.get(SPARE_KEY))


def export_records(study: optuna.Study, root: Path, out: Path) -> list[Path]:
    """Download every completed run's record into ``out`` (one JSON per run)."""
    store = artifact_store(root, study.study_name)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
        artifact = trial.user_attrs.get(RECORD_KEY)
        if artifact is None:
            continue
        path = out / f"{_run_of(trial)}.json"
        path.unlink(missing_ok=True)
        download_artifact(artifact_store=store, artifact_id=artifact, file_path=str(path))
        paths.append(path)
    return paths


def trials_table(study: optuna.Study) -> list[dict[str, Any]]:
    """One row per run: id, state, AP, connections, neck parameters, seconds it took."""
    rows = []
    for trial in study.get_trials(deepcopy=False):
        run = _run_of(trial)
        if run is None or is_spare(trial):
            continue
        rows.append(
            {
                "run": run,
                "trial": trial.number,
                "state": trial.state.name,
                "AP": trial.user_attrs.get("AP"),
                "connections": trial.user_attrs.get("connections"),
                "neck_params": trial.user_attrs.get("neck_params"),
                "seconds": trial.duration.total_seconds() if trial.duration else None,
            }
        )
    return rows
