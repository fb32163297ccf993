"""Strategies by name: built-ins register with `register_strategy`, plugins by entry point.

A third-party package declares, in its own ``pyproject.toml``::

    [project.entry-points."archsearch.strategies"]
    magnitude = "my_package.strategies:Magnitude"

and ``archsearch.strategies.get_strategy("magnitude")`` finds it with no change to archsearch.
"""

from __future__ import annotations

from collections.abc import Callable

from archsearch.errors import ConfigError
from archsearch.registry import Entry, Registry
from archsearch.strategies.base import PruningStrategy

STRATEGIES: Registry[type[PruningStrategy]] = Registry(
    "strategy", "archsearch.strategies", ConfigError
)


def register_strategy(name: str) -> Callable[[type[PruningStrategy]], type[PruningStrategy]]:
    """Class decorator: register a `PruningStrategy` subclass under ``name``."""

    def decorate(cls: type[PruningStrategy]) -> type[PruningStrategy]:
        cls.name = name
        return STRATEGIES.register(name)(cls)

    return decorate


def list_strategies() -> list[str]:
    """Names of every strategy, built-in and plugin."""
    return STRATEGIES.available()


def get_strategy(name: str) -> type[PruningStrategy]:
    """The strategy class called ``name``; the error lists the known names."""
    return STRATEGIES.get(name)


def strategy_entries() -> list[Entry[type[PruningStrategy]]]:
    """Every strategy with its origin (``built-in`` or its package)."""
    return STRATEGIES.entries()


def create_strategy(name: str, **params) -> PruningStrategy:
    """An instance of strategy ``name`` with ``params`` (checked against its declaration)."""
    return get_strategy(name)(**params)
