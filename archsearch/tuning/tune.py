"""Tuning one strategy of an experiment: an Optuna study whose trials are training runs.

The tuned run is the experiment's run of that strategy (its neck, detector, first seed and
the parameters the file fixes, such as the matched budget ``target: 9``); each trial adds
the sampler's values for the rest (`space.suggest`) and trains it with `execute`, which
shows the validation AP at interim steps to the study's pruner. One objective (AP): a
seeded TPE sampler and a median or Hyperband pruner. AP against a cost (``latency``,
``gflops``): NSGA-II, without pruning (Optuna prunes single-objective studies only).

The study lives in the same storage as the experiment's runs (`open_study`: SQLite by
default, PostgreSQL for several machines), so any number of ``archsearch tune`` workers
share its budget of ``trials``. A worker killed mid-trial stops beating its heartbeat; the
next worker fails the trial, retries it with the same parameters, and resumes it from its
checkpoint (a trial's folder is named after its first attempt).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.storages import RetryHeartbeatStaleTrialCallback
from optuna.trial import FrozenTrial, TrialState

from archsearch.detection.evaluate import Evaluation
from archsearch.detection.train import Trainer
from archsearch.errors import ConfigError
from archsearch.experiment.config import RunSpec, expand_runs
from archsearch.experiment.engine import INTERIM_EVALUATIONS, execute
from archsearch.experiment.storage import artifact_store, open_study
from archsearch.experiment.study import is_spare, spare, store_record
from archsearch.neck.catalog import neck_kind
from archsearch.strategies import get_strategy
from archsearch.tuning.objectives import (
    Objective,
    neck_latency_ms,
    objective_values,
    values_text,
)
from archsearch.tuning.space import check_declaration, searched, suggest

PRUNERS = ("median", "hyperband", "none")
FOLDER_KEY = "folder"  # user attribute; a retried trial inherits it, so it resumes in place
log = logging.getLogger("archsearch.tuning")


def tuned_run(config: dict[str, Any], preset: str, strategy: str) -> RunSpec:
    """The run of ``strategy`` that trials vary: the file's own, else its first run's setup.

    A strategy the file does not list (a plugin being tried) runs on the first run's neck
    (the dense graph when that neck is a fixed module) with no fixed parameters.
    """
    runs = expand_runs(config, preset)
    base = next((r for r in runs if r.strategy == strategy), None)
    if base is None:
        first = runs[0]
        neck = first.neck if neck_kind(first.neck) == "graph" else "dense"
        base = dataclasses.replace(first, strategy=strategy, neck=neck, params={})
    cls = get_strategy(strategy)
    check_declaration(cls)
    if not searched(cls, base.params):
        fixed = f" (the file fixes {sorted(base.params)})" if base.params else ""
        raise ConfigError(
            f"{config['_path']}: strategy {strategy!r} has no tunable hyper-parameter{fixed}; "
            "declare a range (low/high or choices) to tune one"
        )
    return base


def study_name(base: RunSpec, objectives: Sequence[Objective]) -> str:
    """``<experiment>-<preset>-tune-<strategy>``, plus the cost objectives when there are."""
    costs = "".join(f"-{o.name}" for o in objectives[1:])
    return f"{base.experiment}-{base.preset}-tune-{base.strategy}{costs}"


def open_tuning_study(
    base: RunSpec,
    objectives: Sequence[Objective],
    trials: int,
    seed: int | None,
    pruner: str,
    storage: str | None,
    root: Path,
    heartbeat: int,
) -> optuna.Study:
    """The tuning study of ``base`` with its sampler and pruner (each worker builds its own).

    Workers that share a study should differ in ``seed``: with the same seed, they would
    draw the same first (random) trials. A study resumed with trials in it draws from a seed
    mixed with their count: reseeded alike, the sampler would propose again, one by one, the
    configurations it began with.
    """
    if pruner not in PRUNERS:
        raise ConfigError(f"--pruner: unknown pruner {pruner!r}; known: {', '.join(PRUNERS)}")
    chosen = make_pruner(pruner, trials) if len(objectives) == 1 else optuna.pruners.NopPruner()
    study = open_study(
        study_name(base, objectives),
        storage,
        root,
        heartbeat,
        sampler=_sampler(len(objectives), trials, seed),
        pruner=chosen,
        directions=[o.direction for o in objectives],
    )
    stored = len(study.get_trials(deepcopy=False))
    if stored and seed is not None:
        mixed = int(np.random.SeedSequence([seed, stored]).generate_state(1)[0])
        study.sampler = _sampler(len(objectives), trials, mixed)
    return study


def _sampler(objectives: int, trials: int, seed: int | None) -> optuna.samplers.BaseSampler:
    """TPE for AP alone; NSGA-II for AP against a cost, three generations within the budget
    so that selection acts at all."""
    if objectives == 1:
        return optuna.samplers.TPESampler(seed=seed)
    population = max(4, min(50, trials // 3))
    return optuna.samplers.NSGAIISampler(population_size=population, seed=seed)


def make_pruner(name: str, trials: int) -> optuna.pruners.BasePruner:
    """Median: stop a trial whose interim AP is below the median of earlier trials at that
    step, once a few trials (a third of the budget, at most 5) have set the median;
    Hyperband: successive halving over training steps."""
    if name == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=max(1, min(5, trials // 3)))
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(min_resource=1, reduction_factor=3)
    return optuna.pruners.NopPruner()


def tune(
    study: optuna.Study,
    base: RunSpec,
    objectives: Sequence[Objective],
    trials: int,
    root: Path,
    progress: bool = True,
) -> int:
    """Run trials until the study holds ``trials`` (all workers together); returns how many
    this worker ran. Trials of dead workers waiting for a retry are run first.

    Workers check the budget before they open a trial, so two can both open the last one;
    the trial numbers (given out by the storage, atomically) settle it: a trial opened
    when ``trials`` earlier ones are alive is spare and runs nothing.
    """
    ran: list[int] = []
    objective = _objective(study, base, objectives, trials, root, progress, ran)
    while _wanted(study, trials):
        study.optimize(objective, n_trials=1, catch=())
    return len(ran)


_ALIVE = (TrialState.COMPLETE, TrialState.PRUNED, TrialState.RUNNING, TrialState.WAITING)


def _wanted(study: optuna.Study, trials: int) -> bool:
    optuna.storages.fail_stale_trials(study)  # a dead worker's trial becomes a waiting retry
    present = [t for t in study.get_trials(deepcopy=False, states=_ALIVE) if not is_spare(t)]
    return len(present) < trials or any(t.state == TrialState.WAITING for t in present)


def _over_budget(study: optuna.Study, trial: optuna.Trial, trials: int) -> bool:
    """Whether ``trials`` trials numbered below ``trial`` are alive; a retry never is."""
    frozen = study.get_trials(deepcopy=False)
    (this,) = (t for t in frozen if t.number == trial.number)
    if RetryHeartbeatStaleTrialCallback.retried_trial_number(this) is not None:
        return False
    earlier = [
        t for t in frozen if t.number < trial.number and t.state in _ALIVE and not is_spare(t)
    ]
    return len(earlier) >= trials


def _objective(
    study: optuna.Study,
    base: RunSpec,
    objectives: Sequence[Objective],
    trials: int,
    root: Path,
    progress: bool,
    ran: list[int],
) -> Callable[[optuna.Trial], float | list[float]]:
    strategy = get_strategy(base.strategy)
    store = artifact_store(root, study.study_name)

    def objective(trial: optuna.Trial) -> float | list[float]:
        if _over_budget(study, trial, trials):
            raise spare(trial, f"the budget of {trials} trials is full")
        ran.append(trial.number)
        run = dataclasses.replace(base, params=suggest(trial, strategy, base.params))
        folder = trial.user_attrs.get(FOLDER_KEY, f"trial-{trial.number}")
        trial.set_user_attr(FOLDER_KEY, folder)
        trial.set_user_attr("run", run.id)
        log.info("trial %d: %s %s", trial.number, run.strategy, run.params)
        watch = Watch(trial, prune=len(objectives) == 1)
        record = execute(run, root / study.study_name / folder, progress, on_evaluation=watch)
        store_record(trial, record, store)
        trial.set_user_attr("neck_ms", watch.neck_ms)
        values = objective_values(objectives, record, watch.neck_ms)
        log.info("trial %d: %s", trial.number, values_text(objectives, values))
        return values[0] if len(values) == 1 else values

    return objective


class Watch:
    """`execute`'s evaluation callback: interim AP to the pruner, the neck's latency at the end.

    Interim AP is reported at its training step; `optuna.TrialPruned` stops the run there
    (its checkpoint stays, so a later study could resume it). The first interim evaluation
    is recorded but decides nothing: a fifth into training no detector detects yet (every
    trial's AP is about 0.01), and a median of such values prunes by noise.
    """

    def __init__(self, trial: optuna.Trial, prune: bool) -> None:
        self.trial, self.prune = trial, prune
        self.neck_ms: float | None = None

    def __call__(self, trainer: Trainer, evaluation: Evaluation) -> None:
        ap = evaluation.metrics["bbox"]["AP"]
        if trainer.step >= trainer.config.steps:
            size = tuple(trainer.dataset[0][0].shape[-2:])
            self.neck_ms = neck_latency_ms(trainer.model.backbone.neck, size)
            return
        if not self.prune:
            return
        self.trial.report(ap, trainer.step)
        first = round(trainer.config.steps / (INTERIM_EVALUATIONS + 1))  # as `execute` spaces them
        if trainer.step > first and self.trial.should_prune():
            raise optuna.TrialPruned(f"AP {ap:.4f} at step {trainer.step}")


def best_trials(study: optuna.Study) -> list[FrozenTrial]:
    """The best trial (one objective) or the Pareto front (several), best AP first."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        return []
    if len(study.directions) == 1:
        return [study.best_trial]
    return sorted(study.best_trials, key=lambda t: -t.values[0])
