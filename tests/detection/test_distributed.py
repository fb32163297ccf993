"""Data-parallel training on 2 gloo processes equals one process on the whole batch.

The toy detector's loss is a mean over images and its BatchNorm uses fixed statistics, so
the mean of two half-batch gradients is exactly the whole-batch gradient: parameters after
each step (including a pruning round that recompiles the neck) must agree within float
tolerance, and the two ranks must agree bit for bit.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
import torch.nn.functional as F
import yaml
from torch import nn

from archsearch.detection import distributed
from archsearch.detection.train import TrainConfig, Trainer
from archsearch.errors import ConfigError
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.engine import execute
from archsearch.graph import dense
from archsearch.strategies import StrategyRunner, create_strategy
from tests.tuning.conftest import MINIATURE

STEPS, BATCH, SIZE = 2, 4, 64


class ToyDetector(nn.Module):
    """The trainer's contract (``backbone.neck``, a loss dict) around a real fusion neck."""

    def __init__(self, neck: nn.Module) -> None:
        super().__init__()
        self.backbone = nn.Module()
        self.backbone.neck = neck
        self.spare = nn.Parameter(torch.ones(3))  # never used: SGD skips it, decay included

    def forward(self, images, targets):
        x = torch.stack(images)
        maps = [F.avg_pool2d(x, 2**level) for level in self.backbone.neck.levels[:3]]
        goal = torch.stack([t["goal"] for t in targets]).view(-1, 1, 1, 1)
        outputs = self.backbone.neck(maps).values()
        return {"loss_fit": sum(((out - goal) ** 2).mean() for out in outputs)}

    def train(self, mode: bool = True):
        super().train(mode)
        for module in self.modules():  # fixed statistics: per-process batches stay exact
            if isinstance(module, nn.BatchNorm2d):
                module.eval()
        return self


def _dataset():
    generator = torch.Generator().manual_seed(1)
    return [
        (
            torch.randn(4, SIZE, SIZE, generator=generator),
            {"goal": torch.rand(1, generator=generator)},
        )
        for _ in range(8)
    ]


def train(out_dir: Path | None) -> Trainer:
    """Two steps of lottery pruning (one round after step 1) on the toy detector."""
    torch.manual_seed(0)
    graph = dense()
    strategy = create_strategy("lottery", target=9, rounds=1, prune_start=0.5)
    runner = StrategyRunner(strategy, graph, STEPS, len(_dataset()))
    model = ToyDetector(runner.build_neck([4, 4, 4], 8))
    config = TrainConfig(
        steps=STEPS,
        batch_size=BATCH,
        warmup_steps=0,
        schedule="constant",
        amp=False,
        log_every=1,
        base_lr=0.5,
    )
    trainer = Trainer(model, _dataset(), config, runner, out_dir, device="cpu", progress=False)
    trainer.fit()
    return trainer


def _rank(rank: int, init: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=2)
    try:
        trainer = train(Path(out) / f"rank{rank}")
        torch.save(trainer.model.state_dict(), Path(out) / f"params{rank}.pt")
    finally:
        dist.destroy_process_group()


def test_two_processes_on_half_batches_equal_one_on_the_whole(tmp_path):
    mp.spawn(_rank, args=(f"file://{tmp_path / 'init'}", str(tmp_path)), nprocs=2)
    ranks = [torch.load(tmp_path / f"params{r}.pt") for r in (0, 1)]
    single = train(tmp_path / "single")
    alone = single.model.state_dict()
    assert len(single.model.backbone.neck.graph.connection_ids) == 9  # pruned mid-training
    assert torch.equal(ranks[0]["spare"], torch.ones(3))
    assert ranks[0].keys() == ranks[1].keys() == alone.keys()
    for name, value in alone.items():
        assert torch.equal(ranks[0][name], ranks[1][name]), name
        torch.testing.assert_close(ranks[0][name], value, rtol=1e-5, atol=1e-6)
    board = ["tensorboard"] if importlib.util.find_spec("tensorboard") else []
    written = sorted(p.name for p in (tmp_path / "rank0").iterdir())
    assert written == ["checkpoint.pt", "log.jsonl", *board]
    assert not (tmp_path / "rank1").exists()  # rank 1 writes nothing
    logs = [
        [json.loads(line)["loss"] for line in (tmp_path / d / "log.jsonl").read_text().splitlines()]
        for d in ("rank0", "single")
    ]
    assert logs[0] == pytest.approx(logs[1], rel=1e-5)  # logged losses are the global mean
    assert logs[1][0] != logs[1][1]  # and training moved: the comparison is not vacuous


def test_a_batch_that_does_not_split_is_refused(monkeypatch):
    monkeypatch.setattr(distributed, "world_size", lambda: 2)
    batches = type("Batches", (), {"batch_size": 3})()
    with pytest.raises(ConfigError, match="batch_size 3 does not split over 2 processes"):
        distributed.ShardedBatches(batches)


def test_torchrun_trains_one_run_whose_record_matches_one_process(tmp_path, monkeypatch):
    pytest.importorskip("torch.distributed.run")
    overrides = {**MINIATURE, "steps": 4, "batch_size": 4}  # 2 images a process
    config = {
        "name": "tiny",
        "data": {"digits": {"layout": "mixed"}},
        "runs": [{"strategy": "random", "params": {"target": 9}}],
        "presets": {"tiny": {"profile": "quick", "scenes": 10, "overrides": overrides}},
    }
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "OMP_NUM_THREADS": "1", "ARCHSEARCH_DATA": str(tmp_path / "data")}
    out = tmp_path / "ddp"
    launch = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    command = [
        *launch,
        "-m",
        "archsearch",
        "ddp",
        str(path),
        "--preset",
        "tiny",
        "--out",
        str(out),
    ]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    two = json.loads((out / "record.json").read_text())
    monkeypatch.setenv("ARCHSEARCH_DATA", env["ARCHSEARCH_DATA"])
    (run,) = expand_runs(load_experiment(path), "tiny")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        one = execute(run, tmp_path / "alone", progress=False).to_dict()
    finally:
        torch.set_num_threads(threads)
    assert one.keys() == two.keys() and two["steps"] == one["steps"] == 4
    assert two["graph"] == one["graph"] and two["connections"] == 9
    assert two["settings"] == one["settings"] and two["run"] == one["run"]
