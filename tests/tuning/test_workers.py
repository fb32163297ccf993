"""Several workers, one study: PostgreSQL shared by processes, a killed worker's trial retried.

The PostgreSQL test starts a real server through ``experiments/scale/postgres.sh`` on the
loopback interface; it skips, saying why, where Debian's server package or the driver is
missing (``.ci/run`` installs both).
"""

import glob
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest

from archsearch.detection.train import read_checkpoint
from archsearch.experiment.storage import open_study
from archsearch.experiment.study import is_spare, trials_table

SCRIPT = Path(__file__).parents[2] / "experiments" / "scale" / "postgres.sh"


def _worker(*args: str, cwd: Path) -> subprocess.Popen:
    """``archsearch ARGS`` in a subprocess with one thread, stderr captured."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-W", "ignore", "-m", "archsearch", *args, "--quiet"]
    return subprocess.Popen(command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True)


def _finish(workers: list[subprocess.Popen]) -> list[str]:
    logs = [w.communicate(timeout=300)[1] for w in workers]
    assert all(w.returncode == 0 for w in workers), logs
    return logs


def _postgres_missing() -> str | None:
    if not (shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb")):
        return "no PostgreSQL server: apt-get install -y postgresql"
    if importlib.util.find_spec("psycopg2") is None:
        return "no PostgreSQL driver: pip install 'archsearch[postgres]'"
    return None


@pytest.fixture
def postgres():
    """A throw-away server's URL; stopped and deleted afterwards."""
    reason = _postgres_missing()
    if reason:
        pytest.skip(reason)
    done = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    folder = done.stderr.split()[-1]  # "stop and delete it with: postgres.sh stop FOLDER"
    yield done.stdout.strip()
    subprocess.run([str(SCRIPT), "stop", folder], check=True)


def test_two_workers_share_a_tune_and_an_experiment_on_postgresql(experiment, tmp_path, postgres):
    assert postgres.startswith("postgresql+psycopg2://archsearch:") and "@127.0.0.1:" in postgres
    runs = [{"strategy": s} for s in ("dense", "random", "lasso", "ard")]
    path = experiment(steps=4, runs=runs)
    shared = ["--preset", "tiny", "--storage", postgres, "--root", str(tmp_path / "runs")]
    tune = ["tune", str(path), "--strategy", "ard", "--trials", "4", *shared]
    logs = _finish([_worker(*tune, "--seed", str(seed), cwd=tmp_path) for seed in (0, 1)])
    study = optuna.load_study(study_name="tiny-tiny-tune-ard", storage=postgres)
    # both workers may open a fifth trial for the last place: the loser's is spare, ran nothing
    trials = [t for t in study.trials if not is_spare(t)]
    assert [t.state.name for t in trials] == ["COMPLETE"] * 4
    assert len({t.user_attrs["folder"] for t in trials}) == 4
    assert len({tuple(sorted(t.params.items())) for t in trials}) == 4
    started = [line for log in logs for line in log.splitlines() if ": ard {" in line]
    assert len(started) == 4, logs  # each trial trained by exactly one worker

    logs = _finish([_worker("run", str(path), *shared, cwd=tmp_path) for _ in range(2)])
    started = [
        line.split("run ")[-1]
        for log in logs
        for line in log.splitlines()
        if ": run " in line and "trial" in line
    ]
    assert len(started) == 4 and len(set(started)) == 4, logs  # each run by one worker
    rows = trials_table(open_study("tiny-tiny", postgres))
    assert sorted(r["state"] for r in rows) == ["COMPLETE"] * 4


def test_a_killed_tune_worker_is_retried_by_another_which_resumes(experiment, tmp_path):
    path, root = experiment(steps=30), tmp_path / "runs"
    args = ["tune", str(path), "--strategy", "lasso", "--trials", "1", "--preset", "tiny"]
    args += ["--root", str(root), "--heartbeat", "1"]
    first = _worker(*args, cwd=tmp_path)
    checkpoint = root / "tiny-tiny-tune-lasso" / "trial-0" / "checkpoint.pt"
    deadline = time.time() + 120
    while not checkpoint.exists() and time.time() < deadline and first.poll() is None:
        time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert checkpoint.exists(), first.stderr.read()
    killed_at = read_checkpoint(checkpoint)["step"]
    assert 0 < killed_at < 30
    time.sleep(4)  # three missed heartbeats: the trial belongs to a dead worker
    (log,) = _finish([_worker(*args, cwd=tmp_path)])
    assert "resumes at step" in log
    study = optuna.load_study(
        study_name="tiny-tiny-tune-lasso", storage=f"sqlite:///{root}/tiny-tiny-tune-lasso.db"
    )
    assert [t.state.name for t in study.trials] == ["FAIL", "COMPLETE"]
    retry = study.trials[1]
    assert retry.params == study.trials[0].params and retry.user_attrs["folder"] == "trial-0"
    assert min(retry.intermediate_values, default=30) > killed_at - 1
