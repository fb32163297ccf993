"""One run, start to finish: data → graph → strategy → detector → train → evaluate → record.

The `RunRecord` holds the settings, the COCO metrics, the neck's size and speed, the final
graph and the strategy's history: everything the reporting layer reads.
Training checkpoints into the run's folder, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import yaml

from archsearch.data import CocoDetection, train_and_val
from archsearch.data.sources import RENAMED_DIGITS_KEYS
from archsearch.detection.evaluate import Evaluation, evaluate
from archsearch.detection.profiles import Profile, detector_from_profile, get_profile
from archsearch.detection.train import (
    Trainer,
    checkpoint_fits,
    read_checkpoint,
    rng_state,
    set_rng_state,
)
from archsearch.errors import ConfigError
from archsearch.experiment.config import RunSpec
from archsearch.graph import FusionGraph, to_dict
from archsearch.io import atomic_write_text, read_yaml
from archsearch.neck import FusionNeck, neck_cost
from archsearch.reporting.records import RunRecord, RunSettings
from archsearch.strategies import StrategyRunner, create_strategy, strategy_runner

TIMING_IMAGES = 8
CHECKPOINTS = 10  # per run: a killed run loses at most a tenth of its training
INTERIM_EVALUATIONS = 4  # when a caller watches: enough points for a pruner to stop a trial
BRANCH = "branch-step-"  # a run's checkpoint that a run starting as it (its twin) continues
SPEC = "spec.yaml"  # the run's settings, so that `archsearch eval` and `draw-detections` open it
# spec.yaml keys before issue 22 (RunSpec's; its data's digits: `RENAMED_DIGITS_KEYS`)
OLD_SPEC_KEYS = {"profile": "preset", "train": "profile", "images": "scenes"}
log = logging.getLogger("archsearch.experiment")


def datasets(run: RunSpec, image_size: int) -> tuple[CocoDetection, CocoDetection]:
    """Training and validation sets of ``run`` (`train_and_val`)."""
    masks = run.detector == "mask_rcnn"
    return train_and_val(run.data, image_size, masks=masks, scenes=run.scenes)


def save_spec(run: RunSpec, folder: Path) -> None:
    """Write ``run``'s settings into its ``folder`` (`SPEC`), for `load_spec`."""
    atomic_write_text(folder / SPEC, yaml.safe_dump(run.to_dict(), sort_keys=False))


def load_spec(folder: Path) -> RunSpec:
    """The settings `save_spec` wrote into a run ``folder`` (of `archsearch train` or `run`)."""
    path = folder / SPEC
    if not path.is_file():
        raise ConfigError(
            f"{folder} is not a run folder (no {SPEC}, which `archsearch train` "
            "and `archsearch run` write)"
        )
    settings = _renamed_spec(read_yaml(path))
    try:
        return RunSpec(**settings)
    except TypeError:  # not a mapping, or not RunSpec's keys
        raise ConfigError(f"{path}: not the settings of a run") from None


def _renamed_spec(settings: Any) -> Any:
    """A ``spec.yaml`` written before issue 22's renames (it has ``train``), in today's names:
    the run folders made then still open."""
    if not isinstance(settings, dict) or "train" not in settings:
        return settings
    settings = {OLD_SPEC_KEYS.get(key, key): value for key, value in settings.items()}
    data = settings.get("data")
    if isinstance(data, dict) and isinstance(data.get("digits"), dict):
        digits = {RENAMED_DIGITS_KEYS.get(k, k): value for k, value in data["digits"].items()}
        settings["data"] = {**data, "digits": digits}
    return settings


def run_profile(run: RunSpec) -> Profile:
    """The run's training profile with its overrides applied."""
    return get_profile(run.profile).replace(**run.overrides)


def run_detector(
    run: RunSpec, profile: Profile, num_classes: int, steps: int = 1, train_images: int = 1
) -> tuple[torch.nn.Module, StrategyRunner | None]:
    """The run's detector, initialised from its seed with its strategy's weight object, and
    the strategy's runner (None for a module neck); the budget (``steps`` over
    ``train_images`` images) matters for training only."""
    torch.manual_seed(run.seed)
    runner = strategy_runner(
        run.strategy, run.params, run.neck, profile.levels, steps, train_images
    )
    weights = runner.make_weights() if runner is not None else None
    model = detector_from_profile(profile, run.detector, run.neck, num_classes, weights)
    return model, runner


def prepare_trainer(
    run: RunSpec,
    out_dir: Path,
    checkpoint_every: int | None = None,
    progress: bool = True,
    **settings: Any,
) -> tuple[Trainer, CocoDetection]:
    """``run``'s trainer in ``out_dir`` at step 0 and its validation set.

    Nothing is written yet: the caller resumes a checkpoint first, if any, and then saves the
    settings (`save_spec`), so a resume that fails leaves the folder as it found it. The
    trainer holds the strategy's runner (`Trainer.runner`, None for a module neck).
    ``checkpoint_every`` defaults to `CHECKPOINTS` checkpoints over the run; ``settings``
    go to `TrainConfig` (``num_workers``).
    """
    profile = run_profile(run)
    train_set, val_set = datasets(run, profile.min_size)
    steps = profile.total_steps(len(train_set))
    model, runner = run_detector(run, profile, train_set.num_classes, steps, len(train_set))
    every = max(1, steps // CHECKPOINTS) if checkpoint_every is None else checkpoint_every
    config = profile.train_config(len(train_set), seed=run.seed, checkpoint_every=every, **settings)
    return Trainer(model, train_set, config, runner, out_dir, progress=progress), val_set


def execute(
    run: RunSpec,
    out_dir: Path,
    progress: bool = True,
    dependents: Sequence[RunSpec] = (),
    on_evaluation: Callable[[Trainer, Evaluation], None] | None = None,
) -> RunRecord:
    """Train and evaluate ``run`` in ``out_dir``, resuming from its checkpoint if one exists.

    A run whose first steps its twin trains identically (`RunSpec.twin`, `shared_steps`)
    continues the twin's checkpoint, found beside ``out_dir``, when there is one; a run
    saves such a checkpoint for each of its ``dependents``. Sharing changes no result.

    ``on_evaluation`` (a tuner's pruning callback) is called with the validation metrics at
    `INTERIM_EVALUATIONS` steps during training and once at the end; it may raise to stop
    the run. Interim evaluations leave torch's RNG as they found it: they change no result.
    """
    trainer, val_set = prepare_trainer(run, out_dir, progress=progress)
    runner = trainer.runner
    steps = trainer.config.steps
    shared = runner.strategy.shared_steps() if runner is not None else 0
    twin = run.twin() if shared else None
    branch = out_dir.parent / twin.id / f"{BRANCH}{shared}.pt" if twin else None
    if trainer.checkpoint_path.is_file():
        trainer.load_checkpoint()
        log.info("run %s resumes at step %d", run.id, trainer.step)
    elif branch is not None and branch.is_file():
        with checkpoint_fits(branch):
            state = read_checkpoint(branch)
            if twin.strategy != run.strategy:
                state["runner"]["strategy"] = runner.state_dict()["strategy"]
            trainer.load_state_dict(state)
        log.info("run %s continues run %s at step %d", run.id, twin.id, trainer.step)
    save_spec(run, out_dir)
    started = time.perf_counter()
    if runner is not None and dependents:
        for stop in _branch_steps(dependents, runner.initial_graph, steps, runner.train_images):
            if stop > trainer.step:
                trainer.fit(stop)
                trainer.save_checkpoint(out_dir / f"{BRANCH}{stop}.pt")
    if on_evaluation is not None:
        _watch(trainer, val_set, on_evaluation)
    trainer.fit()
    evaluation = evaluate(trainer.model, val_set, timing_images=TIMING_IMAGES)
    _show_evaluation(trainer, evaluation)
    if on_evaluation is not None:
        on_evaluation(trainer, evaluation)
    seconds = time.perf_counter() - started
    uncertainty = _uncertainty(run, trainer.model, val_set)
    return _record(run, trainer, evaluation, runner, seconds, shared, uncertainty)


def _watch(
    trainer: Trainer, val_set: CocoDetection, on_evaluation: Callable[[Trainer, Evaluation], None]
) -> None:
    """Train to each interim step left and show the callback the validation metrics there."""
    steps = trainer.config.steps
    for k in range(1, INTERIM_EVALUATIONS + 1):
        stop = round(steps * k / (INTERIM_EVALUATIONS + 1))
        if trainer.step < stop < steps:
            trainer.fit(stop)
            state = rng_state()
            evaluation = evaluate(trainer.model, val_set)
            _show_evaluation(trainer, evaluation)
            on_evaluation(trainer, evaluation)
            set_rng_state(state)


def _show_evaluation(trainer: Trainer, evaluation: Evaluation) -> None:
    """The box (and mask) AP family at this step, on the run's TensorBoard board if any."""
    board = trainer.board()
    if board is not None:
        for kind, metrics in evaluation.metrics.items():
            board.log(
                {f"eval/{kind}/{name}": value for name, value in metrics.items()}, trainer.step
            )


def _branch_steps(
    dependents: Sequence[RunSpec], graph: FusionGraph, steps: int, train_images: int
) -> list[int]:
    """The steps at which ``dependents`` leave the run they start as (0: they share nothing)."""
    found = set()
    for run in dependents:
        strategy = create_strategy(run.strategy, **run.params)
        strategy.setup(graph, steps, train_images)
        found.add(strategy.shared_steps())
    return sorted(found - {0})


def _record(
    run: RunSpec,
    trainer: Trainer,
    evaluation: Evaluation,
    runner: StrategyRunner | None,
    seconds: float,
    shared: int,
    uncertainty: dict[str, Any] | None,
) -> RunRecord:
    neck = trainer.model.backbone.neck
    size = trainer.dataset[0][0].shape[-2:]
    cost = neck_cost(neck, tuple(size))
    metrics = dict(evaluation.metrics["bbox"])
    for name, value in evaluation.metrics.get("segm", {}).items():
        metrics[f"mask_{name}"] = value
    fusion = isinstance(neck, FusionNeck)
    timing = evaluation.timing
    return RunRecord(
        experiment=run.experiment,
        preset=run.preset,
        run=run.id,
        settings=RunSettings(
            strategy=run.strategy,
            neck=run.neck,
            detector=run.detector,
            data=run.data_name,
            seed=run.seed,
            strategy_params=run.params,
            strategy_settings=dict(runner.strategy.params) if runner is not None else {},
        ),
        metrics=metrics,
        connections=len(neck.graph.connection_ids) if fusion else None,
        blocks=neck.graph.counts().blocks if fusion else None,
        neck_params=evaluation.neck_params,
        neck_gflops=cost.flops / 1e9,
        inference_ms={"median": timing.median_ms, "sd": timing.sd_ms} if timing else None,
        train_seconds=trainer.elapsed,
        run_seconds=seconds,
        steps=trainer.step,
        shared_steps=shared,
        graph=to_dict(neck.graph) if fusion else None,
        initial_graph=to_dict(runner.initial_graph) if runner else None,
        history=runner.history.to_dict() if runner else None,
        uncertainty=uncertainty,
    )


def _uncertainty(
    run: RunSpec, model: torch.nn.Module, val_set: CocoDetection
) -> dict[str, Any] | None:
    """Table 2's decoders on ``run.samples`` sampled fusion networks, when the run asks."""
    if not run.samples:
        return None
    from archsearch.uncertainty import evaluate_uncertainty

    table2 = evaluate_uncertainty(model, val_set, run.samples, run.seed, strategy=run.strategy)
    return table2.to_dict()
