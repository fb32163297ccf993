"""`archsearch train` and `archsearch eval`: one detector, from a config file or flags.

A run is a folder: ``spec.yaml`` (the run's settings), ``checkpoint.pt``, ``log.jsonl``
and, after `eval`, ``metrics.json``. Settings come from the defaults, then ``--config``
(YAML with the flags' names, dashes or underscores), then the flags given; profile
settings (`archsearch.detection.profiles.Profile`) go under ``profile_settings`` in YAML or
``--set name=value`` on the command line. ``--strategy`` prunes the neck while training
(its hyper-parameters under ``strategy_params``, or ``--param name=value``); a variational
one (ard, fullard, laplace) lets ``eval --samples K`` score Table 2's decoders.

The flags resolve into the `RunSpec` an experiment file's run has, checked the same way
before any work: a trained folder is the same whether `archsearch train` or `archsearch
run` made it, and `eval` and `draw-detections` open both alike.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from archsearch.cli import positive, whole
from archsearch.data.sources import data_description
from archsearch.detection.evaluate import evaluate
from archsearch.detection.train import checkpoint_fits, read_checkpoint, restore_neck
from archsearch.errors import ConfigError
from archsearch.experiment import engine
from archsearch.experiment.config import RunSpec, check_run
from archsearch.io import atomic_write_text, parse_yaml, read_yaml
from archsearch.uncertainty import DecoderSettings, evaluate_uncertainty, variational_weights


@dataclass(frozen=True)
class TrainSettings:
    """`archsearch train`'s settings as its flags and ``--config`` name them; `spec`: the run."""

    out: str = "runs/train"
    profile: str = "quick"
    detector: str = "faster_rcnn"
    neck: str = "dense"
    strategy: str = "dense"
    data: str | None = "digits-mixed"
    scenes: int = 2000
    data_seed: int = 0
    train_images: str | None = None
    train_annotations: str | None = None
    val_images: str | None = None
    val_annotations: str | None = None
    seed: int = 0
    steps: int | None = None
    batch_size: int | None = None
    base_lr: float | None = None
    checkpoint_every: int = 100
    num_workers: int = 0
    profile_settings: dict[str, Any] = field(default_factory=dict)
    strategy_params: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Whole-number settings are whole numbers >= 0 (a ``--config`` file's too)."""
        for name in INTEGERS:
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                flag = name.replace("_", "-")
                raise ConfigError(f"{flag}: {value!r:.40} is not a whole number >= 0")

    def spec(self) -> RunSpec:
        """The run these settings ask for; ``steps``, ``batch_size`` and ``base_lr`` given
        join ``profile_settings`` as profile overrides."""
        schedule = {"steps": self.steps, "batch_size": self.batch_size, "base_lr": self.base_lr}
        given = {name: value for name, value in schedule.items() if value is not None}
        return RunSpec(
            experiment="train",
            preset=self.profile,
            detector=self.detector,
            neck=self.neck,
            strategy=self.strategy,
            seed=self.seed,
            profile=self.profile,
            data=data_description(
                self.data,
                self.scenes,
                self.data_seed,
                (self.train_images, self.train_annotations, self.val_images, self.val_annotations),
            ),
            scenes=None,
            params=dict(self.strategy_params),
            overrides={**self.profile_settings, **given},
        )


FIELDS = {f.name: f for f in dataclasses.fields(TrainSettings)}
MAPPINGS = ("profile_settings", "strategy_params")
RENAMED_SETTINGS = {"images": "scenes"}  # --config keys before issue 22: old -> new
INTEGERS = {"scenes", "data_seed", "seed", "steps", "batch_size", "checkpoint_every", "num_workers"}
HELP = {
    "out": "run folder",
    "profile": "quick (CPU, 128 px) or paper (sec. 4.1)",
    "detector": "faster_rcnn, mask_rcnn, retinanet or fcos",
    "neck": "any name of `archsearch necks` (dense, fpn, bifpn...)",
    "strategy": "pruning strategy of `archsearch strategies` (ard for eval --samples)",
    "data": "digits-<layout> (embedded scenes); empty to use the COCO files below",
    "scenes": "digit scenes to generate",
    "data_seed": "seed of the digit scenes",
    "seed": "seed of initialisation and batch order",
    "steps": "optimizer steps (default: the profile's)",
    "batch_size": "images a step (default: the profile's)",
    "base_lr": "lr at the profile's base batch, scaled linearly (default: the profile's)",
    "checkpoint_every": "steps between checkpoints (0: only at the end)",
    "num_workers": "data-loader processes",
}


def register(subcommands: argparse._SubParsersAction) -> None:
    train = subcommands.add_parser("train", help="train a detector (see --config)")
    train.add_argument("--config", type=Path, help="YAML file of the settings below")
    for name, spec in FIELDS.items():
        if name not in MAPPINGS:
            kind = whole(0) if name in INTEGERS else positive if name == "base_lr" else str
            flag = f"--{name.replace('_', '-')}"
            text = f"{HELP.get(name, name.replace('_', ' '))} (default: {spec.default})"
            train.add_argument(flag, type=kind, default=None, help=text)
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a profile setting, e.g. --set channels=96 (YAML value)",
    )
    train.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a strategy hyper-parameter, e.g. --param target=9 (YAML value)",
    )
    train.add_argument("--resume", action="store_true", help="continue from OUT/checkpoint.pt")
    train.set_defaults(func=_train)

    evaluate = subcommands.add_parser("eval", help="evaluate a trained run on its validation set")
    evaluate.add_argument("run", type=Path, help="the run folder (its --out)")
    evaluate.add_argument(
        "--timing-images",
        type=whole(0),
        default=20,
        help="images to time inference on (0: no timing)",
    )
    evaluate.add_argument(
        "--samples",
        type=whole(0),
        default=0,
        help="K fusion networks sampled from a variational neck: Table 2's baseline, mean and "
        "varvote rows (0: off; the paper uses 10)",
    )
    evaluate.add_argument("--sample-seed", type=whole(0), default=0, help="seed of the K samples")
    evaluate.add_argument(
        "--sigma-t",
        type=positive,
        default=DecoderSettings.sigma_t,
        help=f"var voting's IoU temperature (default: {DecoderSettings.sigma_t})",
    )
    evaluate.set_defaults(func=_eval)


def resolve(args: argparse.Namespace) -> TrainSettings:
    """Defaults < ``--config`` file < flags given."""
    settings: dict[str, Any] = {}
    if args.config is not None:
        settings.update(_read_yaml(args.config))
    settings.update({k: v for k, v in vars(args).items() if k in FIELDS and v is not None})
    for key, flag, items in (
        ("profile_settings", "--set", args.set),
        ("strategy_params", "--param", args.param),
    ):
        settings[key] = {**(settings.get(key) or {}), **_assignments(items, flag)}
    return TrainSettings(**settings)


def _assignments(items: list[str], flag: str) -> dict[str, Any]:
    """``NAME=VALUE`` items of ``flag`` as a mapping, each value read as YAML."""
    values = {}
    for item in items:
        name, _, value = item.partition("=")
        if not value:
            raise ConfigError(f"{flag} expects NAME=VALUE, got {item!r}")
        values[name.strip()] = parse_yaml(value, f"{flag} {item}")
    return values


def _read_yaml(path: Path) -> dict[str, Any]:
    loaded = read_yaml(path) or {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping of settings")
    settings = {key.replace("-", "_"): value for key, value in loaded.items()}
    renamed = [key for key in RENAMED_SETTINGS if key in settings]
    if renamed:
        new = RENAMED_SETTINGS[renamed[0]]
        raise ConfigError(f"config file {path}: setting {renamed[0]!r} is now called {new!r}")
    unknown = sorted(set(settings) - FIELDS.keys())
    if unknown:
        raise ConfigError(f"config file {path}: unknown setting {unknown[0]!r}")
    return settings


def _train(args: argparse.Namespace) -> None:
    run = resolve(args)
    spec = run.spec()
    check_run(spec, "archsearch train")
    out = Path(run.out)
    if (out / "checkpoint.pt").exists() and not args.resume:
        raise ConfigError(f"{out} already holds a run: pass --resume, or another --out")
    if args.resume:
        if not (out / "checkpoint.pt").is_file():
            raise ConfigError(f"no checkpoint at {out / 'checkpoint.pt'} to resume")
        if (out / engine.SPEC).is_file():
            _check_same_run(engine.load_spec(out), spec, out)
    trainer, _ = engine.prepare_trainer(
        spec, out, checkpoint_every=run.checkpoint_every, num_workers=run.num_workers
    )
    if args.resume:
        trainer.load_checkpoint()
    engine.save_spec(spec, out)
    trainer.fit()
    print(f"trained to step {trainer.step} in {trainer.elapsed:.0f} s; checkpoint in {out}")
    print(f"evaluate with: archsearch eval {out}")


def _check_same_run(saved: RunSpec, asked: RunSpec, folder: Path) -> None:
    """``--resume`` continues the run in ``folder`` with its own settings (more steps aside):
    refuse, before any data or model is built, settings that differ from its spec."""
    before, now = _steps_aside(saved), _steps_aside(asked)
    differ = [name for name, value in before.items() if now[name] != value]
    if differ:
        raise ConfigError(
            f"{folder} was trained with other settings ({', '.join(differ)}): --resume "
            "continues a run with its own, only the steps may grow"
        )


def _steps_aside(run: RunSpec) -> dict[str, Any]:
    settings = run.to_dict()
    settings["overrides"] = {k: v for k, v in settings["overrides"].items() if k != "steps"}
    return settings


def load_run(folder: Path) -> tuple[str, torch.nn.Module, Any, dict[str, Any]]:
    """A trained run folder's strategy name, detector (checkpoint loaded), validation set and
    checkpoint contents: a folder of `archsearch train` or of `archsearch run`."""
    run = engine.load_spec(folder)
    profile = engine.run_profile(run)
    _, val_set = engine.datasets(run, profile.min_size)
    model, _ = engine.run_detector(run, profile, val_set.num_classes)
    state = read_checkpoint(folder / "checkpoint.pt")
    with checkpoint_fits(folder / "checkpoint.pt"):
        model.backbone.neck = restore_neck(model.backbone.neck, state["graph"])
        model.load_state_dict(state["model"])
    return run.strategy, model.eval(), val_set, state


def _eval(args: argparse.Namespace) -> None:
    strategy, model, val_set, state = load_run(args.run)
    if args.samples:
        variational_weights(model, strategy)  # a deterministic run fails before any work
    result = evaluate(model, val_set, timing_images=args.timing_images)
    record = {"step": state["step"], "train_seconds": state["elapsed"], **result.to_dict()}
    lines = result.lines()
    if args.samples:
        settings = DecoderSettings(sigma_t=args.sigma_t)
        table2 = evaluate_uncertainty(
            model, val_set, args.samples, args.sample_seed, settings=settings, strategy=strategy
        )
        record["uncertainty"] = table2.to_dict()
        lines += table2.lines()
    atomic_write_text(args.run / "metrics.json", json.dumps(record, indent=2))
    for line in lines:
        print(line)
