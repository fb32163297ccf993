"""`archsearch demo`: the main job on the embedded default (what `make demo` runs).

Runs ``experiments/demo.yaml`` (ARD pruned by its own threshold beside dense, Taylor and
random pruning at the quick profile's budget, one seed, digit scenes generated on first
use) as an Optuna study under ``OUT/runs``, then writes its report to ``OUT/report`` and
says where. Rerunning skips finished runs and resumes an interrupted one.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

from archsearch.cli.run import Workers, worker_option
from archsearch.errors import ConfigError

EXPERIMENT = Path("experiments/demo.yaml")


def register(subcommands: argparse._SubParsersAction) -> None:
    demo = subcommands.add_parser("demo", help="run the main job on the embedded default")
    demo.add_argument("--experiment", type=Path, default=EXPERIMENT, help=f"default: {EXPERIMENT}")
    demo.add_argument("--preset", default="quick", help="the experiment file's preset (quick)")
    demo.add_argument("--out", type=Path, default=Path("demo-out"), help="output folder")
    worker_option(demo)
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> None:
    from archsearch.cli.report import print_written
    from archsearch.experiment.pipeline import report_study, run_experiment

    if not args.experiment.is_file():
        raise ConfigError(f"{args.experiment}: no such experiment file (run from the repository)")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    started, cpu = time.perf_counter(), _cpu_seconds()
    root = args.out / "runs"
    command = ["run", str(args.experiment), "--preset", args.preset, "--root", str(root)]
    with Workers(args.experiment, args.preset, None, None, args.workers, [*command, "--quiet"]):
        study = run_experiment(args.experiment, args.preset, root=root)
    runs = time.perf_counter() - started
    cores = (_cpu_seconds() - cpu) / runs
    report = args.out / "report"
    print_written(report_study(study, root, report), report)
    total = (time.perf_counter() - started) / 60
    print(f"demo done in {total:.1f} min (the runs: {runs / 60:.1f} min, {cores:.0%} CPU)")


def _cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the other workers)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system
