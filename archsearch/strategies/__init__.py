"""Pruning strategies: one small base, a registry by name, entry points for plugins.

A newcomer finds each method in its own module: `dense`, `random`, `lasso`, `taylor`,
`lottery`, `variational` (ARD, FullARD, Laplace). `StrategyRunner` drives any of them from a
training loop and records the same `History` for all.
"""

from archsearch.strategies import dense, lasso, lottery, random, taylor, variational  # noqa: F401
from archsearch.strategies.base import Decision, HyperParameter, PruningStrategy
from archsearch.strategies.history import History
from archsearch.strategies.registry import (
    STRATEGIES,
    create_strategy,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_entries,
)
from archsearch.strategies.runner import StrategyRunner, strategy_runner

__all__ = [
    "STRATEGIES",
    "Decision",
    "History",
    "HyperParameter",
    "PruningStrategy",
    "StrategyRunner",
    "create_strategy",
    "get_strategy",
    "list_strategies",
    "register_strategy",
    "strategy_entries",
    "strategy_runner",
]
