"""`archsearch ddp`: one run of an experiment trained by N processes under ``torchrun``.

    torchrun --nproc_per_node 2 -m archsearch ddp experiments/NAME.yaml --run RUN_ID --out DIR

Every process trains its share of each batch (`archsearch.detection.distributed`); rank 0
writes the checkpoints, the log and ``DIR/record.json``, the same record as one process
(`execute`). Launched without ``torchrun``, it is one process training alone.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from archsearch.detection import distributed
from archsearch.errors import ConfigError
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.engine import execute
from archsearch.io import atomic_write_text


def register(subcommands: argparse._SubParsersAction) -> None:
    ddp = subcommands.add_parser(
        "ddp", help="train one run of an experiment on N processes (torchrun, DDP)"
    )
    ddp.add_argument("experiment", type=Path, help="experiments/NAME.yaml")
    ddp.add_argument("--run", help="run id (see `archsearch runs list`); needed if several")
    ddp.add_argument(
        "--preset", default="quick", help="the file's preset: demo, quick or paper (default quick)"
    )
    ddp.add_argument("--out", type=Path, required=True, help="folder of the run")
    ddp.set_defaults(func=_ddp)


def _ddp(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    runs = expand_runs(load_experiment(args.experiment), args.preset)
    chosen = [r for r in runs if r.id == args.run] if args.run else runs
    if len(chosen) != 1:
        known = ", ".join(r.id for r in runs)
        what = f"no run {args.run!r}" if args.run else "several runs: pick one with --run"
        raise ConfigError(f"{args.experiment}: {what}; runs: {known}")
    distributed.setup()
    try:
        record = execute(chosen[0], args.out, progress=distributed.is_main())
        if distributed.is_main():
            atomic_write_text(args.out / "record.json", json.dumps(record.to_dict(), indent=1))
            print(f"{record.run}: AP {record.metrics['AP']:.3f} -> {args.out}")
    finally:
        distributed.teardown()
