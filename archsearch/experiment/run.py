"""One run, start to finish: data → graph → strategy → detector → train → evaluate → record.

The record (a JSON-ready dict) holds the settings, the COCO metrics, the neck's size and
speed, the final graph and the strategy's history: everything the reporting layer reads.
Training checkpoints into the run's folder, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

from archsearch.data import CocoDetection, make_digit_scenes, scenes_dir
from archsearch.detection.evaluate import evaluate
from archsearch.detection.profiles import detector_from_profile, get_profile
from archsearch.detection.pruning import StrategyHooks
from archsearch.detection.train import Trainer
from archsearch.experiment.config import RunSpec
from archsearch.graph import build_graph, to_dict
from archsearch.neck import FusionNeck, neck_cost
from archsearch.neck.catalog import neck_kind
from archsearch.strategies import StrategyRunner, create

TIMING_IMAGES = 8
CHECKPOINTS = 10  # per run: a killed run loses at most a tenth of its training
log = logging.getLogger("archsearch.experiment")


def datasets(run: RunSpec) -> tuple[CocoDetection, CocoDetection]:
    """Training and validation sets of ``run`` (digit scenes are generated once, cached)."""
    masks = run.detector == "mask_rcnn"
    if "coco" in run.data:
        coco = run.data["coco"]
        return (
            CocoDetection(coco["images"], coco["train"], masks),
            CocoDetection(coco["images"], coco["val"], masks),
        )
    digits = dict(run.data["digits"]) if isinstance(run.data["digits"], dict) else {}
    profile = run.data["digits"] if isinstance(run.data["digits"], str) else digits["profile"]
    images = run.images or digits.get("images", 2000)
    seed = digits.get("seed", 0)
    scenes = make_digit_scenes(scenes_dir(profile, images, seed), profile, images, seed)
    return scenes.train(masks), scenes.val(masks)


def execute(run: RunSpec, out_dir: Path, progress: bool = True) -> dict[str, Any]:
    """Train and evaluate ``run`` in ``out_dir``, resuming from its checkpoint if one exists."""
    train_set, val_set = datasets(run)
    profile = get_profile(run.train).replace(**run.overrides)
    steps = profile.total_steps(len(train_set))
    runner, weights = None, None
    if neck_kind(run.neck) == "graph":
        graph = build_graph(run.neck, profile.levels)
        runner = StrategyRunner(create(run.strategy, **run.params), graph, steps)
        weights = runner.strategy.make_weights(graph.connection_ids)
    model = detector_from_profile(profile, run.detector, run.neck, train_set.num_classes, weights)
    hooks = StrategyHooks(runner) if runner is not None else None
    if hooks is not None:
        hooks.start(model)
    every = max(1, steps // CHECKPOINTS)
    config = profile.train_config(len(train_set), seed=run.seed, checkpoint_every=every)
    trainer = Trainer(model, train_set, config, hooks, out_dir, progress=progress)
    if trainer.checkpoint_path.is_file():
        trainer.load_checkpoint()
        log.info("run %s resumes at step %d", run.id, trainer.step)
    started = time.perf_counter()
    trainer.fit()
    evaluation = evaluate(trainer.model, val_set, timing_images=TIMING_IMAGES)
    return _record(run, trainer, evaluation, runner, time.perf_counter() - started)


def _record(run: RunSpec, trainer: Trainer, evaluation, runner, seconds: float) -> dict[str, Any]:
    neck = trainer.model.backbone.neck
    size = trainer.dataset[0][0].shape[-2:]
    cost = neck_cost(neck, tuple(size))
    metrics = dict(evaluation.metrics["bbox"])
    for name, value in evaluation.metrics.get("segm", {}).items():
        metrics[f"mask_{name}"] = value
    fusion = isinstance(neck, FusionNeck)
    timing = evaluation.timing
    return {
        "experiment": run.experiment,
        "profile": run.profile,
        "run": run.id,
        "settings": {
            "strategy": run.strategy,
            "neck": run.neck,
            "detector": run.detector,
            "data": _data_name(run),
            "seed": run.seed,
            "strategy_params": run.params,
        },
        "metrics": metrics,
        "connections": len(neck.graph.connection_ids) if fusion else None,
        "blocks": neck.graph.counts().blocks if fusion else None,
        "neck_params": evaluation.neck_params,
        "neck_gflops": cost.flops / 1e9,
        "inference_ms": {"median": timing.median_ms, "sd": timing.sd_ms} if timing else None,
        "train_seconds": trainer.elapsed,
        "run_seconds": seconds,
        "steps": trainer.step,
        "graph": to_dict(neck.graph) if fusion else None,
        "initial_graph": to_dict(runner.initial_graph) if runner else None,
        "history": runner.history.to_dict() if runner else None,
    }


def _data_name(run: RunSpec) -> str:
    if "coco" in run.data:
        return str(Path(run.data["coco"]["train"]).parent.name)
    digits = run.data["digits"]
    return f"digits-{digits if isinstance(digits, str) else digits['profile']}"
