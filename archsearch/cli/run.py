"""`archsearch run` and `archsearch runs list|export`: experiments as Optuna studies."""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import torch

from archsearch.cli import whole
from archsearch.errors import ArchsearchError, ConfigError
from archsearch.experiment.config import expand_runs, load_experiment
from archsearch.experiment.pipeline import run_experiment
from archsearch.experiment.storage import HEARTBEAT_SECONDS, open_study
from archsearch.experiment.study import export_records, trials_table


def register(subcommands: argparse._SubParsersAction) -> None:
    run = subcommands.add_parser("run", help="run an experiment file's runs (an Optuna study)")
    run.add_argument("experiment", type=Path, help="experiments/NAME.yaml")
    run.add_argument(
        "--preset", default="quick", help="the file's preset: demo, quick or paper (default quick)"
    )
    run.add_argument("--seeds", type=whole(1), help="override the preset's seeds with 0..N-1")
    _storage_options(run)
    worker_option(run)
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


def worker_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--workers",
        type=whole(1),
        default=1,
        help="worker processes sharing the study on this machine, each with an equal share "
        "of the threads (default 1)",
    )


def _run(args: argparse.Namespace) -> None:
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    command = ["run", str(args.experiment), "--preset", args.preset, "--quiet"]
    command += ["--root", str(args.root), "--heartbeat", str(args.heartbeat)]
    command += ["--seeds", str(args.seeds)] if args.seeds else []
    command += ["--storage", args.storage] if args.storage else []
    with Workers(args.experiment, args.preset, args.seeds, args.storage, args.workers, command):
        study = run_experiment(
            args.experiment,
            args.preset,
            args.seeds,
            args.storage,
            args.root,
            args.heartbeat,
            progress=not args.quiet,
        )
    for row in trials_table(study):
        print(_line(row))


class Workers:
    """``count - 1`` more processes running ``archsearch COMMAND`` beside this one, which
    works too: each process trains with an equal share of this one's threads, so a run
    computes the same numbers whichever worker takes it (a one-worker run at that thread
    count gives them too). Leaving the block waits for them; an error stops them.
    """

    def __init__(
        self,
        path: Path,
        preset: str,
        seeds: int | None,
        storage: str | None,
        count: int,
        command: Sequence[str],
    ) -> None:
        self.count = count
        self.processes: list[subprocess.Popen] = []
        if count == 1:
            return
        runs = len(expand_runs(load_experiment(path), preset, seeds))  # bad files fail here
        if storage is not None and ":memory:" in storage:
            raise ConfigError(f"--workers {count}: storage {storage!r} is one process's alone")
        if count > runs:
            print(f"archsearch: {runs} runs, so {runs} workers, not {count}", file=sys.stderr)
            self.count = runs
        self.threads = max(1, torch.get_num_threads() // self.count)
        self.command = [sys.executable, "-m", "archsearch", *command, "--workers", "1"]

    def __enter__(self) -> Workers:
        if self.count == 1:
            return self
        threads = str(self.threads)
        env = {**os.environ, "OMP_NUM_THREADS": threads, "MKL_NUM_THREADS": threads}
        torch.set_num_threads(self.threads)
        for _ in range(self.count - 1):
            # their lines go to stderr; the table at the end is this process's to print
            worker = subprocess.Popen(self.command, env=env, stdout=subprocess.DEVNULL)
            self.processes.append(worker)
        print(f"archsearch: {self.count} workers, {self.threads} thread(s) each", file=sys.stderr)
        return self

    def __exit__(self, kind, error, trace) -> None:
        if error is not None:
            for process in self.processes:
                process.terminate()
        failed = [p.args for p in self.processes if p.wait() != 0]
        if failed and error is None:
            raise ArchsearchError(f"{len(failed)} worker(s) failed; their lines above say why")


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
