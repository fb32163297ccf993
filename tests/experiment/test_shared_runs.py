"""A run continues the checkpoint of the run it starts as (its twin): same result, less work.

Taylor and lottery ticket start as the dense run; a prior capped at a target starts as the
same prior without the cap, up to its last round.

The run trained alone is built from the same seed by a separate call, so equality also
proves that a run is determined by its seed.
"""

from pathlib import Path

import pytest

from archsearch.detection.train import read_checkpoint
from archsearch.experiment import engine
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.engine import BRANCH, execute
from archsearch.reporting import RunRecord

SHARING = [
    {"strategy": "dense"},
    {"strategy": "taylor", "params": {"target": 9, "prune_start": 0.5, "window": 0.1}},
    {"strategy": "lottery", "params": {"target": 9, "prune_start": 0.4}},
]
TEN_STEPS = {
    "tiny": {
        "profile": "quick",
        "scenes": 10,
        "seeds": [0],
        "overrides": {"steps": 10, "batch_size": 2, "warmup_steps": 1},
    },
}


@pytest.fixture
def read(monkeypatch) -> list[Path]:
    """The checkpoints runs read from now on, in order."""
    paths = []

    def reading(path):
        paths.append(Path(path))
        return read_checkpoint(path)

    monkeypatch.setattr(engine, "read_checkpoint", reading)
    return paths


def _same_result(one: RunRecord, other: RunRecord) -> None:
    assert one.metrics == other.metrics
    assert one.graph == other.graph
    assert one.history == other.history


def test_a_run_that_continues_the_dense_run_equals_one_trained_alone(experiment, tmp_path, read):
    config = load_experiment(experiment(runs=SHARING, presets=TEN_STEPS))
    dense, taylor, lottery = expand_runs(config, "tiny")
    shared_root = tmp_path / "shared"
    execute(dense, shared_root / dense.id, progress=False, dependents=[taylor, lottery])
    # Taylor leaves before its first importance window (step 5 - 1 - 1), lottery before its
    # first round (step 4 - 1): the dense run saved both points.
    saved = sorted(p.name for p in (shared_root / dense.id).glob(f"{BRANCH}*.pt"))
    assert saved == [f"{BRANCH}3.pt"]
    branch = shared_root / dense.id / f"{BRANCH}3.pt"
    for run in (taylor, lottery):
        read.clear()
        shared = execute(run, shared_root / run.id, progress=False)
        assert read == [branch]  # it did continue the dense run
        alone = execute(run, tmp_path / "alone" / run.id, progress=False)
        assert read == [branch]  # and this one trained every step itself
        assert (shared.shared_steps, alone.shared_steps) == (3, 3)
        assert shared.connections == 9
        _same_result(shared, alone)


def test_a_capped_prior_continues_its_uncapped_twin_and_equals_one_trained_alone(
    experiment, tmp_path, read
):
    runs = [{"strategy": "ard"}, {"strategy": "ard", "params": {"target": 5}}]
    config = load_experiment(experiment(runs=runs, presets=TEN_STEPS))
    uncapped, capped = expand_runs(config, "tiny")
    assert capped.twin() == uncapped
    root = tmp_path / "shared"
    first = execute(uncapped, root / uncapped.id, progress=False, dependents=[capped])
    # Rounds at steps 3, 5, 7 and 9: the cap applies at step 9, so the twin saved step 8.
    branch = root / uncapped.id / f"{BRANCH}8.pt"
    assert sorted(p.name for p in branch.parent.glob(f"{BRANCH}*.pt")) == [branch.name]
    shared = execute(capped, root / capped.id, progress=False)
    assert read == [branch]
    alone = execute(capped, tmp_path / "alone" / capped.id, progress=False)
    assert read == [branch]
    assert first.connections > 5 == shared.connections  # the cap did bind
    _same_result(shared, alone)


def test_a_run_trained_otherwise_has_another_twin(experiment):
    """Taylor's twin carries its connection training: under Adam it is no plain dense run,
    so it never continues one; a threshold strategy without a target starts as nothing."""
    runs = [
        {"strategy": "dense"},
        {"strategy": "taylor", "params": {"target": 9}},
        {"strategy": "taylor", "params": {"target": 9, "connection_optimizer": "adam"}},
        {"strategy": "ard"},
    ]
    dense, taylor, adam, ard = expand_runs(load_experiment(experiment(runs=runs)), "tiny")
    assert taylor.twin() == dense
    assert adam.twin().params == {"connection_optimizer": "adam"}
    assert adam.twin().id != dense.id
    assert ard.twin() is None and dense.twin() is None
