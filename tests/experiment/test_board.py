"""TensorBoard: a run's event files, read back with TensorBoard's own reader."""

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from archsearch.detection.board import BOARD
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.engine import execute

THREE_STEPS = {
    "tiny": {
        "profile": "quick",
        "scenes": 10,
        "seeds": [0],
        "overrides": {"steps": 3, "batch_size": 2, "warmup_steps": 1},
    },
}


def test_a_run_shows_its_losses_connections_criterion_architecture_and_ap(experiment, tmp_path):
    runs = [{"strategy": "ard"}]
    (run,) = expand_runs(load_experiment(experiment(runs=runs, presets=THREE_STEPS)), "tiny")
    execute(run, tmp_path / "run", progress=False)
    board = EventAccumulator(
        str(tmp_path / "run" / BOARD), size_guidance={"images": 0, "histograms": 0}
    )
    board.Reload()
    tags = board.Tags()
    for tag in ("train/loss", "train/loss_penalty", "train/lr", "connections/active"):
        assert [event.step for event in board.Scalars(tag)] == [1, 2, 3], tag
    assert [event.value for event in board.Scalars("connections/active")] == [63, 63, 63]
    assert [event.step for event in board.Histograms("connections/scores")] == [1, 2, 3]
    assert [event.step for event in board.Images("architecture")] == [1]  # drawn once: unpruned
    assert [event.step for event in board.Scalars("eval/bbox/AP")] == [3]
    assert 0.0 <= board.Scalars("eval/bbox/AP")[0].value <= 1.0
    assert "train/loss_classifier" in tags["scalars"]
