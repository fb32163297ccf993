"""`archsearch run` and `archsearch runs list|export`: experiments as Optuna studies."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import sys
from pathlib import Path

from archsearch.cli import whole
from archsearch.experiment.pipeline import run_experiment
from archsearch.experiment.study import (
    HEARTBEAT_SECONDS,
    export_records,
    open_study,
    trials_table,
)


def register(subcommands: argparse._SubParsersAction) -> None:
    run = subcommands.add_parser("run", help="run an experiment file's runs (an Optuna study)")
    run.add_argument("experiment", type=Path, help="experiments/NAME.yaml")
    run.add_argument("--profile", default="quick", help="demo, quick or paper (default quick)")
    run.add_argument("--seeds", type=whole(1), help="override the profile's seeds with 0..N-1")
    _storage_options(run)
    run.add_argument("--quiet", action="store_true", help="no progress bars")
    run.set_defaults(func=_run)

    runs = subcommands.add_parser("runs", help="show or export what a study holds")
    actions = runs.add_subparsers(dest="action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="one line per run")
    listing.add_argument("study", help="study name, e.g. table3_pruning-quick")
    _storage_options(listing)
    listing.set_defaults(func=_list)
    export = actions.add_parser("export", help="records/ (one JSON per run), runs.csv, runs.json")
    export.add_argument("study")
    export.add_argument("--out", type=Path, required=True, help="folder for the records")
    _storage_options(export)
    export.set_defaults(func=_export)


def _storage_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--storage", help="Optuna RDB URL (default: SQLite under --root)")
    parser.add_argument("--root", type=Path, default=Path("runs"), help="runs folder")
    parser.add_argument(
        "--heartbeat",
        type=whole(1),
        default=HEARTBEAT_SECONDS,
        help="seconds between a worker's heartbeats; 3 missed beats fail its run for retry",
    )


def _run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    study = run_experiment(
        args.experiment,
        args.profile,
        args.seeds,
        args.storage,
        args.root,
        args.heartbeat,
        progress=not args.quiet,
    )
    for row in trials_table(study):
        print(_line(row))


def _line(row: dict) -> str:
    ap = "-" if row["AP"] is None else f"{row['AP']:.3f}"
    took = "" if row["seconds"] is None else f"  {row['seconds']:.0f} s"
    line = f"{row['run']:45s} {row['state']:9s} AP {ap:>6s}  connections {row['connections']}"
    return line + took


def _list(args: argparse.Namespace) -> None:
    study = open_study(args.study, args.storage, args.root, args.heartbeat, create=False)
    for row in trials_table(study):
        print(_line(row))


def _export(args: argparse.Namespace) -> None:
    study = open_study(args.study, args.storage, args.root, args.heartbeat, create=False)
    paths = export_records(study, args.root, args.out / "records")
    rows = trials_table(study)
    (args.out / "runs.json").write_text(json.dumps(rows, indent=1))
    with (args.out / "runs.csv").open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=list(rows[0]) if rows else ["run"])
        writer.writeheader()
        writer.writerows(rows)
    print(f"{len(paths)} records in {args.out / 'records'}; runs.csv and runs.json in {args.out}")
