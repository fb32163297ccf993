"""Does the finest level see far? The coarsest pyramid level on a path into its output.

On the `context` scenes every box is pooled from the finest level, whose own input and
block see too little of the image to reach the frame around the digits: a neck lets the box
head tell the frame only if some path into the finest output passes through a coarser level
(an input or a block there, which sees further). Per run, that coarsest level beside the
AP and the connections kept:

    python -m experiments.analysis.finest_reach reports/table3_pruning-quick-context/records
"""

from __future__ import annotations

import argparse

import networkx as nx

from archsearch.graph import FusionGraph
from archsearch.graph.fusion_graph import output_name
from archsearch.reporting.records import load_records
from experiments.analysis.paired_gaps import run_label


def finest_reach(graph: FusionGraph) -> int:
    """The coarsest level of any node on a path into the finest level's output."""
    low, _ = graph.levels
    ancestors = nx.ancestors(graph.nx, output_name(low))
    return max(graph.nx.nodes[node]["level"] for node in ancestors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("records", help="a folder of run records (report's records/)")
    args = parser.parse_args()
    for record in load_records(args.records):
        graph = record.fusion_graph()
        if graph is None:
            continue
        settings = record.settings
        label = f"{settings.neck} {run_label(settings)} s{settings.seed}"
        low, _ = graph.levels
        print(
            f"{label:40s} P{low} reaches P{finest_reach(graph)}  "
            f"connections {record.connections:2d}  AP {record.metrics['AP']:.3f}"
        )


if __name__ == "__main__":
    main()
