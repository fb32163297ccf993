"""Do different data sets give different architectures? Connections shared by pairs of necks.

Figure 3's claim, as a number: for every pair of pruned necks of one strategy, the count of
connections both kept, averaged over the pairs trained on the same data set (different
seeds) and over the pairs trained on different data sets. If the data shape the wiring,
the first mean is the larger; seeds alone already move it, which is what the first measures.

    python -m experiments.analysis.shared_connections reports/table2_uncertainty-quick-*/records
"""

from __future__ import annotations

import argparse
import itertools
import statistics
from collections import defaultdict

from archsearch.reporting.records import RunRecord, load_records


def shared_connections(records: list[RunRecord]) -> dict[str, dict[str, list[int]]]:
    """``{strategy: {"same data": [shared, ...], "other data": [...]}}`` over pairs of runs."""
    necks = defaultdict(list)
    for record in records:
        graph = record.fusion_graph()
        if graph is not None:
            settings = record.settings
            necks[settings.strategy].append((settings.data, set(graph.connection_ids)))
    pairs: dict[str, dict[str, list[int]]] = {}
    for strategy, runs in necks.items():
        pairs[strategy] = {"same data": [], "other data": []}
        for (data_a, a), (data_b, b) in itertools.combinations(runs, 2):
            pairs[strategy]["same data" if data_a == data_b else "other data"].append(len(a & b))
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", nargs="+", help="folders of run records (report's records/)")
    args = parser.parse_args()
    records = [record for folder in args.records for record in load_records(folder)]
    for strategy, kinds in shared_connections(records).items():
        for kind, counts in kinds.items():
            if counts:
                print(
                    f"{strategy:8s} {kind:10s} {statistics.mean(counts):4.2f} connections shared "
                    f"(sd {statistics.pstdev(counts):.2f}, {len(counts)} pairs)"
                )


if __name__ == "__main__":
    main()
