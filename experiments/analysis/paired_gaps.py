"""AP of each strategy minus the reference strategy's on the same seed, mean ± sd over seeds.

A seed fixes the initialisation and the batch order of every run, so differences taken
seed by seed cancel most of the seed-to-seed spread; these are the gaps in
``reports/FINDINGS.md``:

    python -m experiments.analysis.paired_gaps reports/table3_pruning-quick/records
"""

from __future__ import annotations

import argparse
import statistics
from collections import defaultdict

from archsearch.reporting.records import RunRecord, RunSettings, load_records


def run_label(settings: RunSettings) -> str:
    """``strategy`` and the hyper-parameters the experiment file set, e.g. ``ard target=9``."""
    params = settings.strategy_params
    return " ".join([settings.strategy, *(f"{k}={params[k]}" for k in sorted(params))])


def paired_gaps(records: list[RunRecord], reference: str) -> dict[str, list[float]]:
    """``{run label: [AP − reference AP, per seed both have]}`` (`run_label`)."""
    ap = defaultdict(dict)
    for record in records:
        ap[run_label(record.settings)][record.settings.seed] = record.metrics["AP"]
    base = ap[reference]
    return {
        strategy: [ap[strategy][seed] - base[seed] for seed in sorted(ap[strategy]) if seed in base]
        for strategy in ap
        if strategy != reference
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="a folder of run records (report's records/)")
    parser.add_argument("--reference", default="dense")
    args = parser.parse_args()
    for strategy, gaps in paired_gaps(load_records(args.records), args.reference).items():
        spread = f" ± {statistics.stdev(gaps):.3f}" if len(gaps) > 1 else ""
        per_seed = " / ".join(f"{g:+.3f}" for g in gaps)
        print(f"{strategy:32s} {statistics.mean(gaps):+.3f}{spread}  ({per_seed})")


if __name__ == "__main__":
    main()
