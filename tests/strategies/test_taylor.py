"""Taylor importance against an independent autograd computation."""

import torch

from archsearch.graph import dense
from archsearch.neck import FusionNeck
from archsearch.strategies import create_strategy


def test_taylor_importance_equals_grad_times_weight_squared():
    torch.manual_seed(0)
    neck = FusionNeck(dense(), [4, 4, 4], 4)
    with torch.no_grad():
        neck.weights.values.uniform_(0.2, 2.0)
    features = [torch.randn(2, 4, s, s) for s in (8, 4, 2)]

    def loss_at(w):
        return sum(v.square().mean() for v in neck(features, weights=w).values())

    w = neck.weights.values.detach().clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(loss_at(w), w)
    expected = (grad * w.detach()).square()

    strategy = create_strategy("taylor", prune_start=0.5, rounds=1, window=1.0)
    strategy.setup(neck.graph, total_steps=10, train_images=100)
    sum(v.square().mean() for v in neck(features).values()).backward()
    strategy.observe(neck, 1)
    strategy.observe(neck, 2)  # accumulates: twice the same gradient
    assert torch.allclose(strategy.importance, 2 * expected, rtol=1e-5, atol=1e-12)
