"""`archsearch report STUDY_OR_RECORDS --out reports/`: the paper's tables and figures.

The source is a folder of run records (``archsearch runs export``) or the name of a study
(``table3_pruning-quick``) at ``--storage`` (default: SQLite under ``--root``); a study's
records are exported into ``OUT/records`` first, so the report carries its own data.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.errors import ConfigError


def register(subcommands: argparse._SubParsersAction) -> None:
    report = subcommands.add_parser(
        "report", help="tables (Markdown, LaTeX, CSV) and figures of a study or records folder"
    )
    report.add_argument("source", help="a folder of run records (*.json), or a study name")
    report.add_argument("--out", type=Path, default=Path("reports"), help="default: reports/")
    report.add_argument("--storage", help="Optuna RDB URL of the study (default: SQLite)")
    report.add_argument("--root", type=Path, default=Path("runs"), help="runs folder")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> None:
    written = write(args.source, args.out, args.storage, args.root)
    print_written(written, args.out)


def write(source: str, out: Path, storage: str | None, root: Path) -> list[Path]:
    """The report of ``source`` (records folder or study name) under ``out``."""
    # imported here: matplotlib and pandas are slow to load and only this command needs them
    from archsearch.reporting import load_records, write_report

    if Path(source).is_dir():
        return write_report(load_records(source), out)
    from archsearch.experiment.pipeline import report_study
    from archsearch.experiment.storage import open_study, sqlite_file

    if storage is None and not sqlite_file(source, root).is_file():
        raise ConfigError(f"{source}: neither a records folder nor a study under {root}/")
    return report_study(open_study(source, storage, root, create=False), root, out)


def print_written(written: list[Path], out: Path) -> None:
    """Where the tables, figures and index went."""
    for kind in ("tables", "figures"):
        paths = [p for p in written if p.relative_to(out).parts[0] == kind]
        names = sorted({p.stem for p in paths}) if kind == "tables" else []
        detail = f" ({', '.join(names)})" if names else ""
        print(f"{kind}: {len(paths)} files under {out / kind}{detail}")
    print(f"index: {out / 'index.md'}")
