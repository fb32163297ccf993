"""No pruning: the dense graph trained as it is (Table 3, "No Pruning")."""

from archsearch.strategies.base import PruningStrategy
from archsearch.strategies.registry import register_strategy


@register_strategy("dense")
class Dense(PruningStrategy):
    """Keeps every connection; deterministic weights."""
