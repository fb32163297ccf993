"""What a tune leaves behind: the best parameters as an experiment's ``runs:`` fragment, a
table of trials and, for several objectives, the Pareto front drawn with matplotlib.

Layout of ``out_dir``::

    best.yaml          runs: [{neck, strategy, params}], pasted into an experiment as is
    tuning.md          the command, every trial (state, values, parameters), the best
    pareto.{png,svg}   AP against the cost objective (multi-objective studies only)

The fragment holds the parameters exactly as the trials ran them (no rounding): a run of
the fragment with the tuned seed trains the very run that the study measured.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import optuna
import yaml
from optuna.trial import FrozenTrial

from archsearch.experiment.config import RunSpec
from archsearch.experiment.study import is_spare
from archsearch.io import atomic_write_text
from archsearch.reporting.figures import save_figure
from archsearch.reporting.pareto import pareto_figure
from archsearch.tuning.objectives import Objective, values_text
from archsearch.tuning.tune import best_trials


def fragment(base: RunSpec, best: Sequence[FrozenTrial], objectives: Sequence[Objective]) -> str:
    """YAML ``runs:`` with one run per best trial (the Pareto front: one per member)."""
    header = [f"# tuned {base.strategy} on {base.experiment} ({base.preset}, seed {base.seed})"]
    runs = []
    for trial in best:
        header.append(f"# trial {trial.number}: {values_text(objectives, trial.values)}")
        runs.append(
            {"neck": base.neck, "strategy": base.strategy, "params": run_params(base, trial)}
        )
    return "\n".join(header) + "\n" + yaml.safe_dump({"runs": runs}, sort_keys=False)


def run_params(base: RunSpec, trial: FrozenTrial) -> dict[str, Any]:
    """The strategy parameters a trial ran: the file's fixed ones and the sampled ones."""
    return {**base.params, **trial.params}


def write_tuning_report(
    study: optuna.Study,
    base: RunSpec,
    objectives: Sequence[Objective],
    out_dir: Path,
    command: str,
) -> list[Path]:
    """Write ``best.yaml``, ``tuning.md`` and (several objectives) the Pareto figure."""
    out_dir = Path(out_dir)
    best = best_trials(study)
    written_fragment = fragment(base, best, objectives)
    written = [atomic_write_text(out_dir / "best.yaml", written_fragment)]
    lines = [f"# Tuning {study.study_name}", "", f"`{command}`", ""]
    if len(objectives) > 1:
        figure = _pareto(study, best, objectives)
        written += save_figure(figure, out_dir / "pareto")
        lines += ["![Pareto front](pareto.png)", ""]
    lines += _trials_table(study, objectives, {t.number for t in best})
    lines += ["", "## Best, as an experiment's runs", "", "```yaml", written_fragment, "```", ""]
    written.append(atomic_write_text(out_dir / "tuning.md", "\n".join(lines)))
    return written


def _pareto(study: optuna.Study, best: Sequence[FrozenTrial], objectives: Sequence[Objective]):
    """AP (first objective) against the first cost objective."""
    complete = study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.COMPLETE,))
    points = [(t.number, t.values[1], t.values[0]) for t in complete]
    front = [(t.number, t.values[1], t.values[0]) for t in best]
    return pareto_figure(points, front, objectives[1].label, study.study_name)


def _trials_table(
    study: optuna.Study, objectives: Sequence[Objective], best: set[int]
) -> list[str]:
    names = sorted({name for t in study.trials for name in t.params})
    head = ["trial", "state", *(o.name for o in objectives), *names, "best"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for trial in study.get_trials(deepcopy=False):
        if is_spare(trial):
            continue
        values = trial.values or [None] * len(objectives)
        cells = [
            str(trial.number),
            trial.state.name,
            *(_cell(v) for v in values),
            *(_cell(trial.params.get(name)) for name in names),
            "*" if trial.number in best else "",
        ]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:.4g}" if isinstance(value, float) else str(value)
