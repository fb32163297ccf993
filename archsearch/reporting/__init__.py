"""Reporting: the paper's tables and figures from stored run records; it never trains.

`load_records` reads a folder of run records (`RunRecord`s), `records_frame` flattens
them, `table1`, `table3`, `table4` lay them out as the paper does, the figure functions draw
graphs and histories, `curves_figure` and `count_gaps` show AP against the connections kept, and
`write_report` assembles all of it with an index.
"""

from archsearch.reporting.curves import count_gaps, curves_figure
from archsearch.reporting.figures import (
    active_connections_figure,
    architecture_figure,
    draw_architecture,
    pick_connections,
    posterior_means_figure,
    save_figure,
)
from archsearch.reporting.records import (
    RunRecord,
    RunSettings,
    final_means,
    load_record,
    load_records,
    load_weights,
    records_frame,
)
from archsearch.reporting.report import supported_tables, write_report
from archsearch.reporting.tables import Table, model_label, table1, table3, table4

__all__ = [
    "RunRecord",
    "RunSettings",
    "Table",
    "active_connections_figure",
    "architecture_figure",
    "count_gaps",
    "curves_figure",
    "draw_architecture",
    "final_means",
    "load_record",
    "load_records",
    "load_weights",
    "model_label",
    "pick_connections",
    "posterior_means_figure",
    "records_frame",
    "save_figure",
    "supported_tables",
    "table1",
    "table3",
    "table4",
    "write_report",
]
