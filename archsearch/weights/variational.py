"""Variational connection weights: a distribution q(w) over the connection vector (sec. 3.2).

A variational weight object is a `ConnectionWeights` whose call draws from q instead of
returning fixed values: one fresh reparameterized draw per forward pass in training mode, so
the SGVB estimate of eq. 6 uses L = 1 sample per step, and the mean E_q[w] in eval mode, the
weight scaling rule of eq. 18. The neck applies ReLU to whatever it receives, so draws are
returned before any ReLU. The KL term of the lower bound (eq. 4) is ``kl()``; scaling or
annealing it (sec. 4.1.3) is the training strategy's business, not the distribution's.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from collections.abc import Sequence

import torch
from torch import nn

from archsearch.errors import GraphError
from archsearch.weights.base import ConnectionWeights


def checked(name: str, value: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """A detached copy of ``value`` (dtype and device kept), checked to have ``shape``."""
    if tuple(value.shape) != shape:
        raise GraphError(f"{name} must have shape {shape}, got {tuple(value.shape)}")
    return value.detach().clone()


def resolve_ids(count: int, connection_ids: Sequence[str] | None) -> tuple[str, ...]:
    """``connection_ids``, or ``c0, c1, ...`` when None, for weights built from tensors."""
    if connection_ids is None:
        return tuple(f"c{index}" for index in range(count))
    return tuple(connection_ids)


class VariationalWeights(ConnectionWeights):
    """Base of the variational weight objects (factorized Gaussian, correlated Gaussian, Laplace).

    Subclasses implement ``rsample`` (reparameterized draws, eq. 5), ``mean``, ``variance``,
    ``kl``, ``from_params`` and ``select`` (abstract: a family missing one cannot be
    built). ``mean``, ``variance`` and ``kl`` are differentiable functions of the
    parameters; detach them before logging.
    """

    def forward(self) -> torch.Tensor:
        """One draw from q in training mode (eq. 6 with L = 1); E_q[w] in eval mode (eq. 18)."""
        return self.rsample() if self.training else self.mean()

    @abstractmethod
    def rsample(self, n: int | None = None) -> torch.Tensor:
        """Reparameterized draws from q: shape ``[C]`` for ``n=None``, else ``[n, C]``."""

    def sample(self, n: int) -> torch.Tensor:
        """``n`` draws as an ``[n, C]`` tensor without gradients, for test-time averaging.

        One vectorized call of ``rsample(n)``; the neck accepts the ``[n, C]`` result as its
        ``weights`` override and runs the n samples in one batched pass.
        """
        with torch.no_grad():
            return self.rsample(n)

    @abstractmethod
    def variance(self) -> torch.Tensor:
        """Marginal variance of each connection's weight, shape ``[C]`` (for history and plots)."""

    @abstractmethod
    def kl(self) -> torch.Tensor:
        """KL(q || p) against the family's prior, as a scalar."""

    @classmethod
    @abstractmethod
    def from_params(cls, *args: torch.Tensor, **kwargs: object) -> VariationalWeights:
        """The family built from explicit parameter tensors (ids ``c0, c1, ...`` by default)."""

    @abstractmethod
    def select(self, connection_ids: Sequence[str]) -> VariationalWeights:
        """The same family over ``connection_ids`` only: q's marginal on those connections."""


class FactorizedGaussian(VariationalWeights):
    """q(w) = Π_i N(μ_i, σ_i²): the posterior `GaussianARD` and `StudentT` share (their priors,
    and so their KL, differ). Parameters ``mu`` (initialised to 1) and ``log_var`` = log σ²
    (2 log ``initial_scale``): optimizing the log-variance keeps σ positive without
    constraints.
    """

    def __init__(self, connection_ids: Sequence[str], initial_scale: float = 1.0) -> None:
        super().__init__(connection_ids)
        count = len(self.connection_ids)
        self.mu = nn.Parameter(torch.ones(count))
        self.log_var = nn.Parameter(torch.full((count,), 2 * math.log(initial_scale)))

    def rsample(self, n: int | None = None) -> torch.Tensor:
        """w = μ + σ ε with ε ~ N(0, I) (eq. 9): ``[C]``, or ``[n, C]`` for ``n`` draws."""
        shape = self.mu.shape if n is None else (n, *self.mu.shape)
        eps = torch.randn(shape, dtype=self.mu.dtype, device=self.mu.device)
        return self.mu + torch.exp(0.5 * self.log_var) * eps

    def mean(self) -> torch.Tensor:
        return self.mu

    def variance(self) -> torch.Tensor:
        return torch.exp(self.log_var)
