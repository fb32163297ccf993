"""Connection-weight objects: deterministic scalars and variational distributions."""

from archsearch.weights.base import ConnectionWeights, DeterministicWeights

__all__ = ["ConnectionWeights", "DeterministicWeights"]
