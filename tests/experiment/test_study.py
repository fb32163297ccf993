"""Runs as Optuna trials: complete, skip on rerun, resume after kill -9, share workers."""

import collections
import json
import multiprocessing
import signal
import time
import warnings

import optuna
import pytest

from archsearch.cli import main
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.storage import open_study, sqlite_file
from archsearch.experiment.study import trials_table, work
from tests.experiment.conftest import archsearch


def _table(root, name="tiny-tiny"):
    return trials_table(open_study(name, None, root))


def test_two_runs_complete_and_are_skipped_on_rerun(experiment, tmp_path, capsys):
    path, root = experiment(), tmp_path / "runs"
    args = ["run", str(path), "--preset", "tiny", "--root", str(root), "--quiet"]
    assert main(args) == 0
    rows = _table(root)
    assert sorted(r["state"] for r in rows) == ["COMPLETE", "COMPLETE"]
    assert all(0.0 <= r["AP"] <= 1.0 and r["seconds"] > 0 for r in rows)
    random_row = next(r for r in rows if "random" in r["run"])
    assert random_row["connections"] == 9
    capsys.readouterr()
    assert main(args) == 0  # nothing left to do: no new trial
    assert len(_table(root)) == 2
    assert "2 runs: 2 complete, 0 running, 0 waiting\n" in capsys.readouterr().err
    out = tmp_path / "export"
    assert main(["runs", "export", "tiny-tiny", "--root", str(root), "--out", str(out)]) == 0
    records = sorted((out / "records").glob("*.json"))
    assert len(records) == 2
    record = json.loads(records[0].read_text())
    assert record["metrics"]["AP"] == next(r["AP"] for r in rows if r["run"] == record["run"])
    assert record["history"]["steps"] == [0, 1, 2, 3]
    # an experiment's run folder opens as a `train` run's does: its pruned neck, its data
    folder = root / "tiny-tiny" / random_row["run"]
    assert main(["eval", str(folder), "--timing-images", "0"]) == 0
    evaluated = json.loads((folder / "metrics.json").read_text())
    assert evaluated["metrics"]["bbox"]["AP"] == pytest.approx(random_row["AP"], abs=1e-12)
    dense_row = next(r for r in rows if "-dense-dense-" in r["run"])
    assert evaluated["neck_params"] == random_row["neck_params"] < dense_row["neck_params"]


def test_a_killed_worker_run_is_retried_and_resumes(experiment, tmp_path):
    overrides = {"steps": 40, "batch_size": 2, "warmup_steps": 1}
    presets = {"tiny": {"profile": "quick", "scenes": 10, "seeds": [0], "overrides": overrides}}
    path = experiment(runs=[{"strategy": "dense"}], presets=presets)
    root = tmp_path / "runs"
    args = ["run", str(path), "--preset", "tiny", "--root", str(root), "--heartbeat", "1"]
    worker = archsearch(*args, cwd=tmp_path)
    (run,) = expand_runs(load_experiment(path), "tiny")
    run_dir = root / "tiny-tiny" / run.id
    deadline = time.time() + 120
    while not (run_dir / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert (run_dir / "checkpoint.pt").exists(), worker.stderr.read() if worker.poll() else ""
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    time.sleep(4)  # three missed heartbeats: the trial belongs to a dead worker
    second = archsearch(*args, "--quiet", cwd=tmp_path)
    _, err = second.communicate(timeout=300)
    assert second.returncode == 0, err
    assert "resumes at step" in err
    states = sorted(r["state"] for r in _table(root))
    assert states == ["COMPLETE", "FAIL"]  # the killed attempt, then its retry


def test_two_workers_share_a_study_and_never_run_twice(experiment, tmp_path):
    runs = [{"strategy": s} for s in ("dense", "random", "lasso", "ard")]
    path = experiment(runs=runs)
    root = tmp_path / "runs"
    args = ["run", str(path), "--preset", "tiny", "--root", str(root), "--quiet"]
    workers = [archsearch(*args, cwd=tmp_path) for _ in range(2)]
    logs = [w.communicate(timeout=300)[1] for w in workers]
    failed = [log for worker, log in zip(workers, logs, strict=True) if worker.returncode]
    if failed:  # the whole log: an assertion message would be cut short
        pytest.fail("a worker failed:\n" + "\n".join(failed))
    started = [
        line.split("run ")[-1]
        for log in logs
        for line in log.splitlines()
        if ": run " in line and "trial" in line
    ]
    assert sorted(started) == sorted(set(started)) and len(started) == 4
    rows = [r for r in _table(root) if r["state"] == "COMPLETE"]
    assert len(rows) == 4 and len({r["run"] for r in rows}) == 4
    study = optuna.load_study(study_name="tiny-tiny", storage=f"sqlite:///{root}/tiny-tiny.db")
    assert all(t.state != optuna.trial.TrialState.RUNNING for t in study.trials)


def test_workers_of_one_command_share_the_threads_and_match_one_worker(experiment, tmp_path):
    """``--workers 2`` on two threads: each run once, each result as a one-worker run's at
    one thread; more workers than runs are cut to the runs, with a line that says so."""
    path = experiment(runs=[{"strategy": s} for s in ("dense", "random")])
    tables = {}
    for name, workers, threads in (("two", "3", "2"), ("one", "1", "1")):
        root = tmp_path / name
        args = ["run", str(path), "--preset", "tiny", "--root", str(root), "--quiet"]
        command = archsearch(
            *args, "--workers", workers, cwd=tmp_path, env={"OMP_NUM_THREADS": threads}
        )
        _, err = command.communicate(timeout=300)
        assert command.returncode == 0, err
        tables[name] = {r["run"]: (r["AP"], r["connections"]) for r in _table(root)}
        if name == "two":
            assert "2 runs, so 2 workers, not 3" in err and "2 workers, 1 thread(s) each" in err
            started = [line for line in err.splitlines() if "trial" in line and ": run " in line]
            assert len(started) == 2 == len(set(started))
    assert tables["two"] == tables["one"] and len(tables["one"]) == 2


def test_demo_runs_the_experiment_and_reports_it_from_the_study(experiment, tmp_path, capsys):
    out = tmp_path / "demo-out"
    args = ["demo", "--experiment", str(experiment()), "--preset", "tiny", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert f"index: {out / 'report' / 'index.md'}" in printed
    assert (out / "report" / "tables" / "table3.csv").is_file()
    assert len(list((out / "report" / "records").glob("*.json"))) == 2
    again = tmp_path / "again"
    study = ["report", "tiny-tiny", "--root", str(out / "runs"), "--out", str(again)]
    assert main(study) == 0
    table = (out / "report" / "tables" / "table3.csv").read_text()
    assert (again / "tables" / "table3.csv").read_text() == table
    assert main(["report", "no-such-study", "--root", str(out / "runs")]) == 2
    assert "neither a records folder nor a study" in capsys.readouterr().err


def test_a_worker_that_pops_a_taken_run_runs_nothing_and_lists_nothing(experiment, tmp_path):
    # The race of two workers, played in order: another worker is running the run, and this
    # one still finds a trial for it (optimize opens one when the queue has run dry).
    (run,) = expand_runs(load_experiment(experiment(runs=[{"strategy": "dense"}])), "tiny")
    root = tmp_path / "runs"
    study = open_study("tiny-tiny", None, root)
    study.ask().set_user_attr("run", run.id)  # the other worker's, running
    study.enqueue_trial({}, user_attrs={"run": run.id})
    assert work(study, [run], root, progress=False) == 0
    assert [(r["run"], r["state"]) for r in trials_table(study)] == [(run.id, "RUNNING")]
    states = sorted(t.state.name for t in study.get_trials(deepcopy=False))
    assert states == ["PRUNED", "RUNNING"]


def test_of_two_workers_that_pop_one_run_at_once_the_lower_trial_runs_it(experiment, tmp_path):
    # Both workers enqueued the run (trials 0 and 1) and popped one each: each sees the other
    # running. Were a running trial enough to own the run, both would stand down and lose it.
    (run,) = expand_runs(load_experiment(experiment(runs=[{"strategy": "dense"}])), "tiny")
    root = tmp_path / "runs"
    study = open_study("tiny-tiny", None, root)
    study.enqueue_trial({}, user_attrs={"run": run.id})
    other = optuna.storages.RDBStorage(f"sqlite:///{sqlite_file('tiny-tiny', root)}")
    popped = other.create_new_trial(other.get_study_id_from_name("tiny-tiny"))  # running
    other.set_trial_user_attr(popped, "run", run.id)
    assert work(study, [run], root, progress=False) == 1
    states = [(t.number, t.state.name) for t in study.get_trials(deepcopy=False)]
    assert states == [(0, "COMPLETE"), (1, "RUNNING")]


def _pop_until_none_waits(root, barrier, popped):
    """One worker's pops, started with the others' (a spawned process: nothing shared)."""
    warnings.simplefilter("ignore")  # `ask` outside `optimize` warns of its heartbeat
    study = open_study("race", None, root)
    barrier.wait(timeout=60)
    numbers = []
    while study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.WAITING,)):
        numbers.append(study.ask().number)
    popped.put(numbers)


def test_workers_on_one_sqlite_file_never_pop_the_same_trial(tmp_path):
    # SQLite ignores the row lock Optuna pops a trial under: without a write lock taken at
    # each transaction's start, four workers popping 40 trials popped several twice.
    root, workers = tmp_path / "runs", 4
    study = open_study("race", None, root)
    for run in range(40):
        study.enqueue_trial({}, user_attrs={"run": str(run)})
    context = multiprocessing.get_context("spawn")
    barrier, popped = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_pop_until_none_waits, args=(root, barrier, popped), daemon=True)
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    numbers = [number for _ in processes for number in popped.get(timeout=120)]
    for process in processes:
        process.join()
    assert [p.exitcode for p in processes] == [0] * workers
    popped_twice = sorted(n for n, times in collections.Counter(numbers).items() if times > 1)
    assert popped_twice == []
    assert set(range(40)) <= set(numbers)


def test_runs_added_to_an_experiment_run_alone_when_it_is_rerun(experiment, tmp_path, capsys):
    """A study outlives its file's first version: a new row runs, finished rows are kept."""
    root = tmp_path / "runs"
    args = ["run", "--preset", "tiny", "--root", str(root), "--quiet"]
    assert main([*args, str(experiment(runs=[{"strategy": "dense"}]))]) == 0
    assert main([*args, str(experiment())]) == 0  # the file now also holds a random run
    rows = _table(root)
    assert sorted(r["state"] for r in rows) == ["COMPLETE", "COMPLETE"]
    assert [r["trial"] for r in rows if "-dense-dense-" in r["run"]] == [0]  # not run again


def test_a_worker_leaves_the_runs_it_does_not_know_to_the_worker_that_queued_them(
    experiment, tmp_path
):
    # Workers started with different `--seeds` share a study: each pops the others' trials
    # too. Sparing those would drop runs the other worker queued and then finds no longer
    # waiting; they go back into the queue.
    dense, random = expand_runs(load_experiment(experiment()), "tiny")
    root = tmp_path / "runs"
    study = open_study("tiny-tiny", None, root)
    study.enqueue_trial({}, user_attrs={"run": random.id})  # popped first
    study.enqueue_trial({}, user_attrs={"run": dense.id})
    assert work(study, [dense], root, progress=False) == 1
    states = {r["run"]: r["state"] for r in trials_table(study)}
    assert states == {dense.id: "COMPLETE", random.id: "WAITING"}
    assert work(study, [dense, random], root, progress=False) == 1
    states = {r["run"]: r["state"] for r in trials_table(study)}
    assert states == {dense.id: "COMPLETE", random.id: "COMPLETE"}
