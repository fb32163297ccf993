"""Taylor and lottery ticket continue the dense run's checkpoint: same result, less work.

The run trained alone is built from the same seed by a separate call, so equality also
proves that a run is determined by its seed.
"""

from pathlib import Path

from archsearch.detection.train import read_checkpoint
from archsearch.experiment import run as run_module
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.run import BRANCH, execute

SHARING = [
    {"strategy": "dense"},
    {"strategy": "taylor", "params": {"target": 9, "prune_start": 0.5, "window": 0.1}},
    {"strategy": "lottery", "params": {"target": 9, "prune_start": 0.4}},
]
TEN_STEPS = {
    "tiny": {
        "train": "quick",
        "images": 10,
        "seeds": [0],
        "overrides": {"steps": 10, "batch_size": 2, "warmup_steps": 1},
    },
}


def _same_result(one: dict, other: dict) -> None:
    assert one["metrics"] == other["metrics"]
    assert one["graph"] == other["graph"]
    assert one["history"] == other["history"]


def test_a_run_that_continues_the_dense_run_equals_one_trained_alone(
    experiment, tmp_path, monkeypatch
):
    read = []

    def reading(path):
        read.append(Path(path))
        return read_checkpoint(path)

    monkeypatch.setattr(run_module, "read_checkpoint", reading)
    config = load_experiment(experiment(runs=SHARING, profiles=TEN_STEPS))
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
        assert (shared["shared_steps"], alone["shared_steps"]) == (3, 3)
        assert shared["connections"] == 9
        _same_result(shared, alone)
