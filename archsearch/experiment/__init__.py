"""Experiments: an experiment file's runs as trials of an Optuna study, one run start to end.

`load_experiment` reads and checks a file, `expand_runs` turns one of its presets into
`RunSpec`s, `run_experiment` runs them as a study (shared by any number of workers) and
`report_study` writes the study's tables and figures; `execute` runs one `RunSpec` in a
folder, resuming its checkpoint.
"""

from archsearch.experiment.config import RunSpec, check_run, expand_runs, load_experiment
from archsearch.experiment.engine import execute
from archsearch.experiment.pipeline import report_study, run_experiment
from archsearch.experiment.storage import open_study

__all__ = [
    "RunSpec",
    "check_run",
    "execute",
    "expand_runs",
    "load_experiment",
    "open_study",
    "report_study",
    "run_experiment",
]
