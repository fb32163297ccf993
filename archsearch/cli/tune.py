"""`archsearch tune`: search a strategy's hyper-parameters over an experiment's run.

Start the same command on several processes or machines with one ``--storage`` (and each
its own ``--seed``) and they share the study's budget of ``--trials``.
"""

from __future__ import annotations

import argparse
import logging
import shlex
import sys
import warnings
from pathlib import Path

import optuna

from archsearch.cli import whole
from archsearch.cli.run import _storage_options
from archsearch.errors import ConfigError
from archsearch.experiment.config import load_experiment
from archsearch.tuning import (
    best_trials,
    open_tuning_study,
    parse_objectives,
    tune,
    tuned_run,
    write_tuning_report,
)
from archsearch.tuning.objectives import values_text
from archsearch.tuning.report import run_params
from archsearch.tuning.tune import PRUNERS


def register(subcommands: argparse._SubParsersAction) -> None:
    tuner = subcommands.add_parser(
        "tune", help="tune a strategy's hyper-parameters (an Optuna study shared by workers)"
    )
    tuner.add_argument("experiment", type=Path, help="experiments/NAME.yaml")
    tuner.add_argument("--strategy", required=True, help="the strategy to tune, e.g. lasso")
    tuner.add_argument("--trials", type=whole(1), required=True, help="trials of the whole study")
    tuner.add_argument(
        "--preset", default="quick", help="the file's preset: demo, quick or paper (default quick)"
    )
    tuner.add_argument("--seed", type=whole(0), default=0, help="sampler seed; one per worker")
    tuner.add_argument(
        "--objectives",
        default="ap",
        help="ap (TPE), or ap,latency / ap,gflops / ap,connections (NSGA-II, Pareto front); "
        "default ap",
    )
    tuner.add_argument("--pruner", default="median", choices=PRUNERS, help="default median")
    tuner.add_argument("--out", type=Path, help="report folder (default ROOT/STUDY/report)")
    tuner.add_argument("--quiet", action="store_true", help="no progress bars")
    _storage_options(tuner)
    tuner.set_defaults(func=_tune)


def _tune(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    # Heartbeats and their retry are "experimental" in Optuna: said once per call, to no use.
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    if args.trials < 1:
        raise ConfigError(f"--trials must be positive, got {args.trials}")
    objectives = parse_objectives(args.objectives)
    config = load_experiment(args.experiment)
    base = tuned_run(config, args.preset, args.strategy)  # every config error before training
    study = open_tuning_study(
        base,
        objectives,
        args.trials,
        args.seed,
        args.pruner,
        args.storage,
        args.root,
        args.heartbeat,
    )
    print(f"study {study.study_name}: {args.trials} trials, seed {args.seed}", file=sys.stderr)
    ran = tune(study, base, objectives, args.trials, args.root, progress=not args.quiet)
    print(f"this worker ran {ran} trials", file=sys.stderr)
    best = best_trials(study)
    if not best:
        raise ConfigError(f"study {study.study_name}: no trial completed yet")
    for trial in best:
        values = values_text(objectives, trial.values)
        print(f"trial {trial.number} ({values}): {run_params(base, trial)}")
    out = args.out or args.root / study.study_name / "report"
    options = {
        "--strategy": args.strategy,
        "--trials": args.trials,
        "--preset": args.preset,
        "--seed": args.seed,
        "--objectives": args.objectives,
        "--pruner": args.pruner,
    }
    words = [str(word) for pair in options.items() for word in pair]
    command = shlex.join(["archsearch", "tune", str(args.experiment), *words])
    paths = write_tuning_report(study, base, objectives, out, command)
    print(f"best parameters as an experiment's runs: {paths[0]}")
