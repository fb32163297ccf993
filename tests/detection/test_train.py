"""Trainer: schedule, seeded batches, a strategy's runner, neck replacement, exact resume."""

import json
import random

import pytest
import torch

from archsearch.detection.profiles import detector_from_profile
from archsearch.detection.train import StepBatches, Trainer, lr_factor
from archsearch.errors import TrainingError
from archsearch.graph import build_graph, select_top
from archsearch.neck import FusionNeck
from archsearch.strategies import Decision, PruningStrategy, StrategyRunner, strategy_runner
from tests.detection import TINY, TinyScenes


class CountingPruner(PruningStrategy):
    """Adds a small penalty, counts its calls, and prunes the neck to 9 connections at step 1."""

    def setup(self, graph, total_steps, train_images):
        super().setup(graph, total_steps, train_images)
        self.calls = 0

    def penalty(self, neck, step):
        self.calls += 1
        return 1e-3 * neck.weights.values.abs().sum()

    def decide(self, neck, step):
        if step != 1:
            return None
        rng = random.Random(0)
        scores = {c: rng.random() for c in neck.graph.connection_ids}
        return Decision(frozenset(select_top(neck.graph, scores, 9)))

    def state_dict(self):
        return {"calls": self.calls}

    def load_state_dict(self, state):
        self.calls = state["calls"]


def _trainer(out_dir=None, strategy=None, steps=3, checkpoint_every=0):
    """A tiny trainer; ``strategy`` a name of a built-in or a strategy object."""
    torch.manual_seed(0)
    runner = None
    if isinstance(strategy, str):
        runner = strategy_runner(strategy, {}, "dense", TINY.levels, steps, 4)
    elif strategy is not None:
        runner = StrategyRunner(strategy, build_graph("dense", TINY.levels), steps, 4)
    weights = runner.make_weights() if runner is not None else None
    model = detector_from_profile(TINY, "faster_rcnn", "dense", 4, weights)
    config = TINY.train_config(4, seed=1, checkpoint_every=checkpoint_every, log_every=1)
    config = type(config)(**{**config.__dict__, "steps": steps})
    return Trainer(model, TinyScenes(4), config, runner, out_dir, "cpu", progress=False)


@pytest.mark.parametrize(
    "strategy", [None, CountingPruner, lambda: "ard"], ids=["plain", "pruned", "ard-adam"]
)
def test_resume_reproduces_the_next_loss(tmp_path, strategy):
    """The next two losses: the first needs the weights and RNG, the second the momentum
    (and, for ARD, the state of the connection weights' own Adam)."""
    full = _trainer(tmp_path / "full", strategy and strategy(), steps=4).fit()
    first = _trainer(tmp_path / "cut", strategy and strategy(), steps=4)
    first.fit(stop=2)
    resumed = _trainer(tmp_path / "cut", strategy and strategy(), steps=4)
    resumed.load_checkpoint()
    assert resumed.step == 2
    last = resumed.fit()
    assert [r["step"] for r in last] == [3, 4]
    assert [r["loss"] for r in last] == [r["loss"] for r in full[2:]]
    if strategy is CountingPruner:
        assert resumed.runner.strategy.calls == 4
        assert len(resumed.model.backbone.neck.graph.connection_ids) <= 9
    lines = (tmp_path / "cut" / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]


def test_a_run_killed_after_its_checkpoint_logs_each_step_once(tmp_path):
    """Killed at step 3 with the checkpoint at 2 (and half a line written): the resumed run
    logs steps 3 and 4 again, and the log holds each step once."""
    first = _trainer(tmp_path, steps=4, checkpoint_every=2)
    first.fit(stop=2)
    at_two = (tmp_path / "checkpoint.pt").read_bytes()
    first.fit(stop=3)
    (tmp_path / "checkpoint.pt").write_bytes(at_two)  # the kill came before step 3's
    with (tmp_path / "log.jsonl").open("a") as log:
        log.write('{"step": 4, "lo')
    resumed = _trainer(tmp_path, steps=4, checkpoint_every=2)
    resumed.load_checkpoint()
    assert resumed.step == 2
    resumed.fit()
    lines = (tmp_path / "log.jsonl").read_text().splitlines()
    assert [json.loads(line)["step"] for line in lines] == [1, 2, 3, 4]


def test_a_pruned_neck_keeps_the_momentum_of_what_survives():
    trainer = _trainer(strategy=CountingPruner(), steps=2)
    old = trainer.model.backbone.neck
    captured = {}
    swap = trainer.runner.after_step

    detector, connections = trainer.optimizers

    def capture(neck, step):
        captured["momentum"] = connections.state[old.weights.values]["momentum_buffer"]
        return swap(neck, step)

    trainer.runner.after_step = capture
    trainer.fit(stop=1)
    neck = trainer.model.backbone.neck
    assert isinstance(neck, FusionNeck) and neck is not old
    assert next(neck.laterals.parameters()) in detector.state
    held = [id(p) for o in trainer.optimizers for g in o.param_groups for p in g["params"]]
    assert held == [id(p) for p in trainer.model.parameters() if p is not neck.weights.values] + [
        id(neck.weights.values)
    ]
    kept = old.weights.indices(neck.weights.connection_ids)
    momentum = connections.state[neck.weights.values]["momentum_buffer"]
    assert torch.equal(momentum, captured["momentum"][kept])


def test_connection_weights_train_under_the_optimizer_their_strategy_declares():
    """ARD's means and log-variances: their own Adam at the declared rate, no weight decay,
    on the detector's schedule; the detector's SGD does not hold them."""
    trainer = _trainer(strategy="ard", steps=4)
    detector, connections = trainer.optimizers
    weights = {id(p) for p in trainer.model.backbone.neck.weights.parameters()}
    assert {id(p) for g in connections.param_groups for p in g["params"]} == weights
    assert not weights & {id(p) for g in detector.param_groups for p in g["params"]}
    assert isinstance(connections, torch.optim.Adam) and isinstance(detector, torch.optim.SGD)
    assert connections.defaults["weight_decay"] == 0.0
    assert detector.defaults["weight_decay"] == trainer.config.weight_decay
    trainer.fit(stop=2)
    factor = lr_factor(trainer.config, 2)
    assert connections.param_groups[0]["lr"] == pytest.approx(0.01 * factor)
    assert detector.param_groups[0]["lr"] == pytest.approx(trainer.config.lr * factor)
    assert all(p.grad is not None for p in trainer.model.backbone.neck.weights.parameters())


def test_learning_rate_scales_with_the_batch_and_warms_up():
    config = TINY.train_config(4, warmup_factor=0.1)
    assert config.lr == pytest.approx(TINY.base_lr * 2 / TINY.base_batch)
    long = type(config)(steps=100, warmup_steps=10, warmup_factor=0.1, schedule="cosine")
    assert lr_factor(long, 0) == pytest.approx(0.1 * 1.0)
    assert lr_factor(long, 10) == pytest.approx(0.5 * (1 + torch.cos(torch.tensor(0.1 * torch.pi))))
    assert lr_factor(long, 100) == pytest.approx(0.0, abs=1e-9)
    step = type(long)(steps=90, warmup_steps=0, schedule="step")
    assert [lr_factor(step, s) for s in (59, 60, 80)] == pytest.approx([1, 0.1, 0.01])


def test_batches_depend_only_on_seed_and_step():
    whole = list(StepBatches(10, 3, seed=5, start=0, stop=7))
    assert list(StepBatches(10, 3, seed=5, start=4, stop=7)) == whole[4:]
    assert all(len(batch) == 3 for batch in whole)
    epoch = sorted(i for batch in whole[:3] for i in batch)
    assert len(set(epoch)) == 9
    assert list(StepBatches(10, 3, seed=6, start=0, stop=7)) != whole


class NaNAtStepTwo(PruningStrategy):
    """A penalty that turns into NaN at step 2."""

    def penalty(self, neck, step):
        return torch.tensor(float("nan") if step == 2 else 0.0)


def test_a_loss_that_is_no_longer_finite_stops_training_and_keeps_the_checkpoint(tmp_path):
    trainer = _trainer(tmp_path, NaNAtStepTwo(), steps=3, checkpoint_every=1)
    trainer.fit(stop=1)
    saved = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(TrainingError, match=r"step 2: the loss is not finite \(loss nan"):
        trainer.fit()
    assert (tmp_path / "checkpoint.pt").read_bytes() == saved


def test_a_checkpoint_from_before_the_trainer_took_the_runner_still_resumes(tmp_path):
    """Checkpoints once stored the runner's state under ``hooks``: read as ``runner``."""
    first = _trainer(tmp_path, "ard", steps=3)
    first.fit(stop=2)
    state = torch.load(tmp_path / "checkpoint.pt", weights_only=True)
    state["hooks"] = state.pop("runner")
    torch.save(state, tmp_path / "checkpoint.pt")
    resumed = _trainer(tmp_path, "ard", steps=3)
    resumed.load_checkpoint()
    assert resumed.step == 2
    assert resumed.runner.history.to_dict() == first.runner.history.to_dict()
