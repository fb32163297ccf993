"""Fusion ops against independent formulas, for one weight vector and for K weight samples."""

import pytest
import torch
import torch.nn.functional as F

from archsearch.neck.ops import (
    FUSION_OPS,
    ConcatFusion,
    FastNormalizedFusion,
    GlobalPoolFusion,
    WeightedSum,
)

CHANNELS = 4


def _features(count, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [
        torch.randn(batch, CHANNELS, 5, 7, generator=generator, dtype=torch.float64)
        for _ in range(count)
    ]


def _op(cls, num_inputs):
    torch.manual_seed(0)
    return cls(CHANNELS, num_inputs).double().eval()


def _pool_gate(x):
    """sigmoid of the per-image, per-channel spatial mean, by explicit sums."""
    height, width = x.shape[-2:]
    return torch.sigmoid(x.sum(dim=-1).sum(dim=-1) / (height * width))[..., None, None]


def test_ops_are_registered_by_name():
    assert FUSION_OPS.get("sum") is WeightedSum
    assert FUSION_OPS.get("concat") is ConcatFusion
    assert FUSION_OPS.get("global_pool") is GlobalPoolFusion


def test_sum_is_the_unnormalized_weighted_sum():
    op = _op(WeightedSum, 3)
    features = _features(3)
    weights = torch.tensor([0.5, 0.0, 2.0], dtype=torch.float64)
    expected = 0.5 * features[0] + 2.0 * features[2]
    assert torch.allclose(op(features, weights), op.conv(expected))


def test_concat_reduces_the_weighted_concatenation_with_a_1x1_conv():
    op = _op(ConcatFusion, 2)
    features = _features(2)
    weights = torch.tensor([3.0, 0.5], dtype=torch.float64)
    kernel = op.reduce.weight[:, :, 0, 0]  # [C, 2C]: output channel o reads input channel i
    stacked = torch.cat([3.0 * features[0], 0.5 * features[1]], dim=1)
    reduced = torch.einsum("oi,bihw->bohw", kernel, stacked)
    assert op.reduce.weight.shape == (CHANNELS, 2 * CHANNELS, 1, 1)
    assert torch.allclose(op(features, weights), op.conv(reduced))


@pytest.mark.parametrize("count", [1, 2, 3])
def test_global_pool_gates_the_second_last_input_by_the_last(count):
    op = _op(GlobalPoolFusion, count)
    features = _features(count)
    weights = torch.tensor([0.7, 1.5, 2.0][-count:], dtype=torch.float64)
    attention = weights[-1] * features[-1]
    expected = attention.clone()
    if count >= 2:
        expected += weights[-2] * features[-2] * _pool_gate(attention)
    if count == 3:
        expected += weights[0] * features[0]
    assert torch.allclose(op(features, weights), op.conv(expected))


def test_global_pool_zero_weight_silences_the_attention_source():
    op = _op(GlobalPoolFusion, 2)
    features = _features(2)
    changed = [features[0], torch.randn_like(features[1])]
    weights = torch.tensor([1.0, 0.0], dtype=torch.float64)
    assert torch.allclose(op(features, weights), op(changed, weights))
    assert torch.allclose(op(features, weights), op.conv(0.5 * features[0]))


@pytest.mark.parametrize("count", [1, 3])
@pytest.mark.parametrize("cls", [WeightedSum, ConcatFusion, GlobalPoolFusion, FastNormalizedFusion])
def test_weight_samples_scale_their_own_group_of_images(cls, count):
    """``[K, m]`` weights over K·B images equal K separate passes (the neck's batching)."""
    op = _op(cls, count)
    features = _features(count, batch=2)
    generator = torch.Generator().manual_seed(1)
    samples = torch.rand(3, count, dtype=torch.float64, generator=generator)
    batched = op([f.repeat(3, 1, 1, 1) for f in features], samples)
    for k in range(3):
        assert torch.allclose(batched[2 * k : 2 * k + 2], op(features, samples[k]))


def test_a_lone_input_passes_fast_normalized_fusion_whatever_its_weight():
    """Its normalized weight is 1 for any positive weight; a draw at or below 0 does not
    switch the level off."""
    op = _op(FastNormalizedFusion, 1).eval()
    (feature,) = _features(1)
    expected = op.conv(feature)
    for value in (2.0, 1e-3, 0.0, -0.5):
        weight = torch.tensor([value], dtype=torch.float64)
        assert torch.equal(op([feature], weight), expected), value
    two = _op(FastNormalizedFusion, 2).eval()
    features = _features(2)
    assert not torch.allclose(
        two(features, torch.tensor([1.0, 1e-3], dtype=torch.float64)),
        two(features, torch.tensor([1.0, 1.0], dtype=torch.float64)),
    )


@pytest.mark.parametrize("cls", [WeightedSum, GlobalPoolFusion])
def test_a_lone_input_weighted_in_the_kernel_trains_like_the_weighted_map(cls):
    """One input: the weight is folded into the depthwise kernel. Output and every
    gradient (map, weight, kernels, BN) equal the block on the explicitly scaled map."""
    op = _op(cls, 1).train()
    feature = _features(1)[0].requires_grad_()
    weight = torch.tensor([0.7], dtype=torch.float64, requires_grad=True)
    folded = op([feature], weight)
    explicit = op.conv(feature * weight[0])
    target = torch.randn_like(folded)
    inputs = [feature, weight, *op.parameters()]
    got = torch.autograd.grad(F.mse_loss(folded, target), inputs)
    expected = torch.autograd.grad(F.mse_loss(explicit, target), inputs)
    assert torch.allclose(folded, explicit)
    names = ["map", "weight", *dict(op.named_parameters())]
    for name, a, b in zip(names, got, expected, strict=True):
        assert torch.allclose(a, b), name


@pytest.mark.parametrize("cls", [WeightedSum, ConcatFusion, GlobalPoolFusion])
def test_gradient_reaches_every_weight(cls):
    op = _op(cls, 3).train()
    weights = torch.ones(3, dtype=torch.float64, requires_grad=True)
    out = op(_features(3), weights)
    F.mse_loss(out, torch.zeros_like(out)).backward()
    assert torch.all(weights.grad != 0)
