"""`archsearch report RECORDS_DIR --out reports/`: the paper's tables and figures of a study."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(subcommands: argparse._SubParsersAction) -> None:
    report = subcommands.add_parser(
        "report", help="tables (Markdown, LaTeX, CSV) and figures from a folder of run records"
    )
    report.add_argument("records", type=Path, help="folder of run records (*.json)")
    report.add_argument("--out", type=Path, default=Path("reports"), help="default: reports/")
    report.set_defaults(func=_report)


def _report(args: argparse.Namespace) -> None:
    # imported here: matplotlib and pandas are slow to load and only this command needs them
    from archsearch.reporting import load_records, write_report

    records = load_records(args.records)
    written = write_report(records, args.out)
    for kind in ("tables", "figures"):
        paths = [p for p in written if p.relative_to(args.out).parts[0] == kind]
        names = sorted({p.stem for p in paths}) if kind == "tables" else []
        detail = f" ({', '.join(names)})" if names else ""
        print(f"{kind}: {len(paths)} files under {args.out / kind}{detail}")
    print(f"index of {len(records)} run records: {args.out / 'index.md'}")
