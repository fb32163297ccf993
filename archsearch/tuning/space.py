"""A strategy's search space, read from its declared `HyperParameter`s, as Optuna suggestions.

The declaration is the only input: a third-party strategy that gives its knobs a range is
tunable with no code of its own. The rules:

* ``choices`` → ``trial.suggest_categorical``;
* ``low``/``high`` that are both integers, around an integer default → ``suggest_int``
  (``rounds``); any other range → ``suggest_float``; ``log`` → a log scale either way;
* a parameter with neither, or one the experiment file fixes (the matched budget
  ``target: 9``), is not searched: it keeps the file's value or its default.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import optuna

from archsearch.errors import ConfigError
from archsearch.strategies import HyperParameter, PruningStrategy


def is_integer(parameter: HyperParameter) -> bool:
    """Integer search: integer bounds around an integer default (bools are not numbers here)."""
    values = (parameter.low, parameter.high, parameter.default)
    return all(isinstance(v, int) and not isinstance(v, bool) for v in values)


def check_declaration(strategy: type[PruningStrategy]) -> None:
    """`ConfigError` naming the strategy and the parameter whose range cannot be searched.

    Checked before the first trial, so that a bad plugin declaration fails at once rather
    than in trial 7 when TPE first draws the bad corner.
    """
    for p in strategy.hyperparameters:
        where = f"strategy {strategy.name!r}, hyper-parameter {p.name!r}"
        if p.choices is not None:
            if not p.choices:
                raise ConfigError(f"{where}: empty choices")
            continue
        if not p.tunable:
            if (p.low is None) != (p.high is None):
                raise ConfigError(f"{where}: a range needs both low and high")
            continue
        if not p.low < p.high:
            raise ConfigError(f"{where}: low {p.low} is not below high {p.high}")
        if p.log and p.low <= 0:
            raise ConfigError(f"{where}: a log range needs low > 0, got {p.low}")
        default = p.default
        if isinstance(default, int | float) and not p.low <= default <= p.high:
            raise ConfigError(f"{where}: default {default} outside [{p.low}, {p.high}]")


def searched(strategy: type[PruningStrategy], fixed: Mapping[str, Any]) -> list[HyperParameter]:
    """The hyper-parameters a tuner searches: declared tunable and not fixed by the file."""
    return [p for p in strategy.hyperparameters if p.tunable and p.name not in fixed]


def suggest(
    trial: optuna.Trial, strategy: type[PruningStrategy], fixed: Mapping[str, Any]
) -> dict[str, Any]:
    """The parameters of one trial: ``fixed`` plus one suggestion per searched parameter.

    Optuna parameter names are the hyper-parameter names, so the study's best parameters
    are a strategy's ``params`` as they are.
    """
    params = dict(fixed)
    for p in searched(strategy, fixed):
        if p.choices is not None:
            params[p.name] = trial.suggest_categorical(p.name, list(p.choices))
        elif is_integer(p):
            params[p.name] = trial.suggest_int(p.name, p.low, p.high, log=p.log)
        else:
            params[p.name] = trial.suggest_float(p.name, float(p.low), float(p.high), log=p.log)
    return params
