"""Tuning a strategy's hyper-parameters with Optuna, from the ranges the strategy declares.

`space` turns `HyperParameter` declarations into trial suggestions, `objectives` says what
a trial scores (validation AP, the neck's latency or FLOPs), `tune` runs the study's trials
as training runs that several workers share, and `report` writes the best parameters as an
experiment's ``runs:`` fragment with the Pareto front of a multi-objective study.
"""

from archsearch.tuning.objectives import OBJECTIVES, Objective, neck_latency_ms, parse_objectives
from archsearch.tuning.report import fragment, write_tuning_report
from archsearch.tuning.space import check_declaration, searched, suggest
from archsearch.tuning.tune import best_trials, open_tuning_study, study_name, tune, tuned_run

__all__ = [
    "OBJECTIVES",
    "Objective",
    "best_trials",
    "check_declaration",
    "fragment",
    "neck_latency_ms",
    "open_tuning_study",
    "parse_objectives",
    "searched",
    "study_name",
    "suggest",
    "tune",
    "tuned_run",
    "write_tuning_report",
]
