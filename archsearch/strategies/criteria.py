"""Pruning criteria: the per-connection quantity a threshold strategy cuts at its threshold.

* ``mean``: the effective mean weight ``ReLU(E_q[w])``, the paper's rule (prune posterior
  means under a threshold, sec. 3.3; for Lasso, the weight itself);
* ``share``: the connection's part of its block's fused sum, ``ReLU(μ_i) / Σ_j ReLU(μ_j)``
  over the block's inputs. Fast normalized fusion (eq. 1) divides by that sum, so a block
  computes with the shares alone: scaling all its inputs together changes nothing it
  outputs, and a block whose inputs all shrank keeps its spread of shares;
* ``snr``: the signal-to-noise ratio ``μ² / σ²`` of a posterior, the only quantity the ARD
  KL (eq. 11) depends on; ``log α = -log snr`` in sparse variational dropout (Molchanov et
  al. 2017), which drops weights at ``log α > 3``, here ``snr < e⁻³ ≈ 0.05``.

Each criterion has its own default threshold, used when a strategy's ``threshold`` is None.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F

from archsearch.errors import ConfigError
from archsearch.graph import FusionGraph
from archsearch.graph.fusion_graph import BLOCK
from archsearch.weights import ConnectionWeights


@dataclass(frozen=True)
class Criterion:
    """A criterion's name, its default threshold, and whether it needs a posterior."""

    name: str
    threshold: float
    variational: bool = False


CRITERIA = {
    c.name: c
    for c in (
        Criterion("mean", 0.1),
        # Under a uniform share a block of 7 inputs gives each 0.14: 0.05 cuts well below it.
        Criterion("share", 0.05),
        Criterion("snr", 0.05, variational=True),
    )
}


def threshold_of(params: Mapping[str, Any]) -> float:
    """The threshold a strategy with ``params`` (``criterion``, ``threshold``) prunes at."""
    if params["threshold"] is not None:
        return params["threshold"]
    return CRITERIA[params["criterion"]].threshold


def criterion_values(name: str, graph: FusionGraph, weights: ConnectionWeights) -> torch.Tensor:
    """Criterion ``name`` of every connection of ``graph`` (``weights`` in its order)."""
    criterion = CRITERIA[name]
    with torch.no_grad():
        if criterion.variational:
            variance = getattr(weights, "variance", None)
            if variance is None:
                raise ConfigError(f"criterion {name!r} needs a posterior variance")
            return weights.mean().square() / variance()
        mean = F.relu(weights.mean())
        if name == "mean":
            return mean
        return mean / _block_sums(graph, mean).clamp(min=torch.finfo(mean.dtype).tiny)


def _block_sums(graph: FusionGraph, values: torch.Tensor) -> torch.Tensor:
    """For each connection, the sum of ``values`` over the inputs of its block."""
    blocks = {block: index for index, block in enumerate(graph.nodes(BLOCK))}
    owner = torch.tensor(
        [blocks[c.target] for c in graph.connections()], dtype=torch.long, device=values.device
    )
    sums = torch.zeros(len(blocks), dtype=values.dtype, device=values.device)
    return sums.index_add(0, owner, values)[owner]
