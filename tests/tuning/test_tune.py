"""`archsearch tune` on the tiny experiment: trials, interim AP, pruning, fragment, Pareto."""

import importlib
import json
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.storages import RetryHeartbeatStaleTrialCallback

from archsearch.cli import main
from archsearch.detection.train import read_checkpoint
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.engine import INTERIM_EVALUATIONS, execute
from archsearch.experiment.storage import open_study
from archsearch.tuning import OBJECTIVES, tune, tuned_run
from tests.strategies.test_plugins import _distribution


def _study(root: Path, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root}/{name}.db")


def _tune(path: Path, root: Path, *extra: str) -> int:
    args = ["tune", str(path), "--preset", "tiny", "--root", str(root), "--quiet", *extra]
    return main(args)


def test_tune_reports_interim_ap_and_writes_a_fragment_the_experiment_accepts(
    experiment, tmp_path, capsys
):
    path, root = experiment(), tmp_path / "runs"
    assert _tune(path, root, "--strategy", "lasso", "--trials", "2") == 0
    study = _study(root, "tiny-tiny-tune-lasso")
    assert [t.state.name for t in study.trials] == ["COMPLETE", "COMPLETE"]
    for trial in study.trials:
        assert sorted(trial.intermediate_values) == [2, 4, 6, 8]  # 4 interim steps of 10
        assert trial.params.keys() == {
            "lam",
            "criterion",
            "threshold",
            "prune_start",
            "rounds",
            "connection_optimizer",
            "connection_lr",
        }
        assert trial.user_attrs["connections"] <= 9  # the target caps the threshold's count
        assert trial.user_attrs["neck_ms"] > 0
    out = capsys.readouterr().out
    assert f"trial {study.best_trial.number}" in out and "'target': 9" in out
    fragment = yaml.safe_load((root / "tiny-tiny-tune-lasso/report/best.yaml").read_text())
    config = load_experiment(path)
    config["runs"] = fragment["runs"]  # pasted as is
    (run,) = expand_runs(config, "tiny")
    assert run.params == {"target": 9, **study.best_trial.params}


def test_interim_evaluations_change_no_result(experiment, tmp_path, monkeypatch):
    """The pruner's evaluations leave training (losses, pruning, weights) untouched."""
    base = tuned_run(load_experiment(experiment()), "tiny", "lasso")
    seen = []
    watched = execute(base, tmp_path / "a", False, on_evaluation=lambda t, e: seen.append(t.step))
    plain = execute(base, tmp_path / "b", False)
    assert seen == [2, 4, 6, 8, 10] and INTERIM_EVALUATIONS == 4
    logs = [(tmp_path / d / "log.jsonl").read_text().splitlines() for d in "ab"]
    losses = [[json.loads(line)["loss"] for line in log] for log in logs]
    assert losses[0] == losses[1]
    assert watched.history == plain.history and watched.metrics == plain.metrics


def test_a_hopeless_trial_is_pruned_at_its_second_interim_step(experiment, tmp_path):
    """The first interim AP is recorded but decides nothing (no detector detects yet)."""
    base = tuned_run(load_experiment(experiment()), "tiny", "lasso")
    root = tmp_path / "runs"
    pruner = optuna.pruners.ThresholdPruner(lower=0.5)  # no tiny run reaches AP 0.5
    study = open_study("pruned", None, root, pruner=pruner, direction="maximize")
    assert tune(study, base, [OBJECTIVES["ap"]], 1, root, progress=False) == 1
    (trial,) = study.trials
    assert trial.state.name == "PRUNED" and list(trial.intermediate_values) == [2, 4]
    assert read_checkpoint(root / "pruned" / "trial-0" / "checkpoint.pt")["step"] == 4


def test_ap_against_latency_plots_the_pareto_front(experiment, tmp_path, capsys):
    path, root = experiment(steps=4), tmp_path / "runs"
    args = ["--strategy", "ard", "--trials", "3", "--objectives", "ap,latency"]
    assert _tune(path, root, *args) == 0
    name = "tiny-tiny-tune-ard-latency"
    study = _study(root, name)
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    assert all(t.state.name == "COMPLETE" and not t.intermediate_values for t in study.trials)
    report = root / name / "report"
    assert (report / "pareto.png").stat().st_size > 1000 and (report / "pareto.svg").exists()
    runs = yaml.safe_load((report / "best.yaml").read_text())["runs"]
    front = {t.number for t in study.best_trials}
    assert len(runs) == len(front) >= 1
    assert "![Pareto front](pareto.png)" in (report / "tuning.md").read_text()


def test_the_same_seed_draws_the_same_trials(experiment, tmp_path):
    path = experiment(steps=2)
    for root in ("one", "two"):
        assert _tune(path, tmp_path / root, "--strategy", "taylor", "--trials", "2") == 0
    params = [
        [t.params for t in _study(tmp_path / r, "tiny-tiny-tune-taylor").trials]
        for r in ("one", "two")
    ]
    assert params[0] == params[1] and params[0][0] != params[0][1]


def test_a_resumed_study_does_not_draw_its_first_trials_again(experiment, tmp_path):
    """Reseeded alike, the sampler would propose trial 0's configuration as trial 2."""
    path, root = experiment(steps=2), tmp_path / "runs"
    assert _tune(path, root, "--strategy", "taylor", "--trials", "2") == 0
    assert _tune(path, root, "--strategy", "taylor", "--trials", "4") == 0
    params = [t.params for t in _study(root, "tiny-tiny-tune-taylor").trials]
    assert len(params) == 4
    assert all(params[i] != params[j] for i in range(4) for j in range(i + 1, 4)), params


def test_a_plugin_strategy_is_tunable_from_its_declared_range(
    experiment, tmp_path, monkeypatch, capsys
):
    from archsearch.strategies import STRATEGIES

    _distribution(tmp_path, "thirdparty", "magnitude = thirdparty:Magnitude\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    STRATEGIES.reload()
    try:
        path, root = experiment(steps=4), tmp_path / "runs"
        assert _tune(path, root, "--strategy", "magnitude", "--trials", "2") == 0
    finally:
        monkeypatch.undo()
        STRATEGIES.reload()
    for trial in _study(root, "tiny-tiny-tune-magnitude").trials:
        target = trial.params["target"]
        assert isinstance(target, int) and 5 <= target <= 40
        assert trial.user_attrs["connections"] == target  # the plugin pruned as drawn


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--strategy", "lasso", "--objectives", "ap,speed"], "unknown objective 'speed'"),
        (["--strategy", "nope"], "unknown strategy 'nope'"),
    ],
)
def test_bad_requests_fail_before_training_naming_the_culprit(
    experiment, tmp_path, capsys, extra, message
):
    assert _tune(experiment(), tmp_path / "runs", "--trials", "2", *extra) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "runs" / "tiny-tiny-tune-lasso").exists()


def test_a_strategy_whose_knobs_the_file_fixes_has_nothing_to_tune(experiment, tmp_path, capsys):
    fixed = {"connection_optimizer": "sgd", "connection_lr": 0.01}
    path = experiment(runs=[{"strategy": "dense", "params": fixed}])
    assert _tune(path, tmp_path / "runs", "--trials", "2", "--strategy", "dense") == 2
    assert (
        "tiny.yaml: strategy 'dense' has no tunable hyper-parameter (the file fixes "
        "['connection_lr', 'connection_optimizer'])" in capsys.readouterr().err
    )


def test_a_trial_opened_past_the_budget_runs_nothing_and_counts_nowhere(
    experiment, tmp_path, monkeypatch
):
    """Two workers both saw room for the last trial; the later-numbered one stands down."""
    tuning = importlib.import_module("archsearch.tuning.tune")  # the package exports tune()
    base = tuned_run(load_experiment(experiment()), "tiny", "lasso")
    root = tmp_path / "runs"
    study = open_study("race", None, root, direction="maximize")
    running = study.ask()  # the other worker's trial, still training: the budget of 1 is full
    # this worker checked the budget before the other worker opened its trial
    wanted, checks = tuning._wanted, iter([True, False])
    monkeypatch.setattr(tuning, "_wanted", lambda study, trials: next(checks))
    assert tune(study, base, [OBJECTIVES["ap"]], 1, root, progress=False) == 0
    late = study.trials[1]
    assert late.state.name == "PRUNED" and late.user_attrs["spare"] and not late.params
    assert not (root / "race" / "trial-1").exists()
    assert not wanted(study, 1) and wanted(study, 2)  # the spare takes no budget
    study.tell(running, 0.1)


def test_a_retry_runs_even_when_a_newer_trial_took_its_place_in_the_budget(tmp_path):
    """A dead worker's trial resumes from its checkpoint rather than standing down as a spare.

    Between the heartbeat failing the trial and its retry being queued, another worker may open
    a new trial in the freed slot; the retry still runs (the study overshoots by one trial)
    because its checkpointed work would otherwise be lost.
    """
    tuning = importlib.import_module("archsearch.tuning.tune")
    study = open_study("retry", None, tmp_path / "runs", direction="maximize")
    study.tell(study.ask(), state=optuna.trial.TrialState.FAIL)  # its worker died
    study.tell(study.ask(), 0.5)  # the freed slot of a budget of 1, taken by another worker
    RetryHeartbeatStaleTrialCallback()(study, study.trials[0])
    retry, newcomer = study.ask(), study.ask()
    assert RetryHeartbeatStaleTrialCallback.retried_trial_number(study.trials[retry.number]) == 0
    assert not tuning._over_budget(study, retry, 1)
    assert tuning._over_budget(study, newcomer, 1)
