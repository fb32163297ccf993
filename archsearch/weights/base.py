"""Connection weights: the one object a `FusionNeck` asks for its fusion weights.

A weight object holds one value (or one distribution) per connection of a graph, in the
order of `FusionGraph.connection_ids`. Calling it returns the vector the neck fuses with; the
neck applies ReLU, so any real vector is valid. Strategies differ in which weight object they
plug in; the neck never changes.
"""

from __future__ import annotations

from abc import ABCMeta, abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from archsearch.errors import GraphError


class ConnectionWeights(nn.Module, metaclass=ABCMeta):
    """Base of every weight object: one entry per connection id.

    Subclasses implement `forward` (the vector for this forward pass), `mean` (its
    expectation, or the values themselves) and `select` (the same object restricted to a
    subset of connections, for the smaller neck compiled after pruning). They are abstract:
    a plugin that misses one fails when it is built, not at its first pruning round.
    """

    def __init__(self, connection_ids: Sequence[str]) -> None:
        super().__init__()
        self.connection_ids: tuple[str, ...] = tuple(connection_ids)

    def __len__(self) -> int:
        return len(self.connection_ids)

    @abstractmethod
    def forward(self) -> torch.Tensor:
        """The weight vector the neck fuses with in this forward pass, shape ``[C]``."""

    @abstractmethod
    def mean(self) -> torch.Tensor:
        """The vector's expectation (deterministic weights: the values themselves)."""

    @abstractmethod
    def select(self, connection_ids: Sequence[str]) -> ConnectionWeights:
        """The same kind of object over ``connection_ids`` only."""

    def indices(self, connection_ids: Sequence[str]) -> torch.Tensor:
        """Positions of ``connection_ids`` in this object's vector."""
        position = {c: i for i, c in enumerate(self.connection_ids)}
        unknown = [c for c in connection_ids if c not in position]
        if unknown:
            raise GraphError(f"weights have no connection {unknown[0]!r}")
        return torch.tensor([position[c] for c in connection_ids], dtype=torch.long)


class DeterministicWeights(ConnectionWeights):
    """Learnable scalars initialised to 1, as BiFPN's fast normalized fusion weights."""

    def __init__(self, connection_ids: Sequence[str], values: torch.Tensor | None = None) -> None:
        super().__init__(connection_ids)
        if values is None:
            values = torch.ones(len(self.connection_ids))
        if values.shape != (len(self.connection_ids),):
            count, shape = len(self.connection_ids), tuple(values.shape)
            raise GraphError(f"expected {count} weight values, got shape {shape}")
        self.values = nn.Parameter(values.detach().clone())

    def forward(self) -> torch.Tensor:
        return self.values

    def mean(self) -> torch.Tensor:
        return self.values.detach()

    def select(self, connection_ids: Sequence[str]) -> DeterministicWeights:
        kept = self.values.detach()[self.indices(connection_ids)]
        return DeterministicWeights(connection_ids, kept)
