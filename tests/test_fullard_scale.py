"""The FullARD analysis measures variance along the block-scale directions it claims to.

Reference: a posterior built with a known covariance Σ = s²I + c μμᵀ/‖μ‖², whose share of
tr Σ along the blocks' scale directions, top-two eigenvalue ratio and marginal SNRs have
closed forms (μ lies in the span of those directions).
"""

import pytest
import torch

from archsearch.graph import build_graph
from archsearch.weights import FullARD
from experiments.analysis.fullard_scale import scale_variance


@pytest.mark.parametrize("along", [0.0, 3.0])
def test_scale_share_of_a_known_covariance(along):
    graph = build_graph("dense", (3, 5))
    count, blocks = len(graph.connection_ids), len(list(graph.nodes("block")))
    mu = torch.linspace(0.2, 1.5, count, dtype=torch.float64)
    unit = mu / mu.norm()
    base = 0.01
    covariance = base * torch.eye(count, dtype=torch.float64) + along * torch.outer(unit, unit)
    factor = torch.linalg.inv(torch.linalg.cholesky(covariance)).tril()
    found = scale_variance(FullARD.from_params(mu, factor, graph.connection_ids), graph)
    assert found["scale_share"] == pytest.approx((base * blocks + along) / (base * count + along))
    assert found["random_share"] == pytest.approx(blocks / count)
    assert found["top_eigenvalue_ratio"] == pytest.approx((base + along) / base)
    assert found["median_eigenvalue"] == pytest.approx(base)
    assert (found["mean_min"], found["mean_max"]) == pytest.approx((0.2, 1.5))
    snr = mu.square() / (base + along * unit.square())
    assert (found["snr_min"], found["snr_max"]) == pytest.approx(
        (float(snr.min()), float(snr.max()))
    )
