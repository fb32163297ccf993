"""Did a threshold prune by itself? Per run: what it kept, and how far from the threshold.

For each run record whose strategy prunes by a criterion (its ``strategy_settings`` name
one), from the history: the connections kept, of them the lone inputs of their blocks
(whose weight fast normalized fusion ignores: a valid neck keeps them whatever they
score), the smallest final criterion of any other kept connection over the threshold, and
how many pruned connections were under the threshold at their last recorded value (pruned
by the threshold itself) rather than over it (pruned by a ``target`` cap, or with a block
that no longer reached an output):

    python -m experiments.analysis.separation reports/criteria-quick/records
"""

from __future__ import annotations

import argparse
import math

from archsearch.reporting.records import RunRecord, load_records
from archsearch.strategies.criteria import threshold_of
from experiments.analysis.paired_gaps import run_label


def separation(record: RunRecord) -> dict | None:
    """Kept and lone-input counts, min criterion / threshold of the other kept connections,
    pruned under and over the threshold."""
    settings = record.settings.strategy_settings
    history, graph = record.strategy_history(), record.fusion_graph()
    if "criterion" not in settings or history is None or graph is None:
        return None
    cut = threshold_of(settings)
    last = {c: [v for v in values if math.isfinite(v)] for c, values in history.score.items()}
    alive = set(graph.connection_ids)
    lone = {c.id for c in graph.connections() if len(graph.inputs_of(c.target)) == 1}
    kept = [last[c][-1] for c in alive - lone if last[c]]
    pruned = [last[c][-1] for c in set(last) - alive if last[c]]
    return {
        "kept": len(alive),
        "lone": len(lone),
        "min_kept_over_threshold": min(kept) / cut if kept and cut > 0 else math.nan,
        "pruned_under": sum(v < cut for v in pruned),
        "pruned_over": sum(v >= cut for v in pruned),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="a folder of run records (report's records/)")
    args = parser.parse_args()
    for record in load_records(args.records):
        found = separation(record)
        if found is None:
            continue
        label = f"{run_label(record.settings)} s{record.settings.seed}"
        print(
            f"{label:34s} kept {found['kept']:2d} (lone {found['lone']})  min other/threshold "
            f"{found['min_kept_over_threshold']:7.2f}  pruned under {found['pruned_under']:2d}"
            f"  over {found['pruned_over']:2d}  AP {record.metrics['AP']:.3f}"
        )


if __name__ == "__main__":
    main()
