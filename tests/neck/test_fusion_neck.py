"""FusionNeck: shapes, fusion arithmetic, gradients, pruning and export."""

import random

import pytest
import torch
import torch.nn.functional as F

from archsearch.errors import GraphError
from archsearch.graph import dense, select_top
from archsearch.neck import FusionNeck, backbone_shapes, neck_cost
from archsearch.neck.ops import FastNormalizedFusion
from archsearch.weights import DeterministicWeights

IN_CHANNELS = [8, 16, 32]


def _features(neck, size, batch=2, seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator) for s in backbone_shapes(neck, size, batch)]


def _pruned_keep(graph, count=9, seed=0):
    rng = random.Random(seed)
    return select_top(graph, {c: rng.random() for c in graph.connection_ids}, count)


@pytest.mark.parametrize("size", [(64, 64), (97, 131)])
@pytest.mark.parametrize("levels", [(3, 7), (2, 6)])
def test_output_shapes_at_every_level(size, levels):
    torch.manual_seed(0)
    neck = FusionNeck(dense(levels=levels), IN_CHANNELS, 24)
    out = neck(_features(neck, size))
    assert list(out) == [f"P{lv}" for lv in range(levels[0], levels[1] + 1)]
    height, width = size
    for index, (name, value) in enumerate(out.items()):
        level = levels[0] + index
        if index < len(IN_CHANNELS):  # backbone maps: stride 2**level, rounded up
            expected = (-(-height // 2**level), -(-width // 2**level))
        else:  # stride-2 convs (k=3, p=1) on the level below
            below = out[f"P{level - 1}"].shape[-2:]
            expected = ((below[0] + 1) // 2, (below[1] + 1) // 2)
        assert value.shape == (2, 24, *expected), name


def test_fast_normalized_fusion_matches_eq_1():
    torch.manual_seed(0)
    fusion = FastNormalizedFusion(4, 3, eps=1e-4).eval()
    features = [torch.randn(1, 4, 5, 5, dtype=torch.float64) for _ in range(3)]
    weights = torch.tensor([0.5, 0.0, 2.0], dtype=torch.float64)
    fusion = fusion.double()
    expected_in = sum(w * f for w, f in zip(weights, features, strict=True)) / (
        weights.sum() + 1e-4
    )
    assert torch.allclose(fusion(features, weights), fusion.conv(expected_in))


def test_residual_and_relu_on_weights():
    """With every weight negative the fusion sees zeros (ReLU): the block output is the
    conv of zeros, so each output is that constant plus its input map (the residual)."""
    torch.manual_seed(0)
    graph = dense(levels=(3, 5))
    weights = DeterministicWeights(graph.connection_ids, -torch.ones(len(graph.connection_ids)))
    neck = FusionNeck(graph, IN_CHANNELS, 8, weights).eval()
    features = _features(neck, (32, 32))
    out = neck(features)
    laterals = neck.laterals(features)
    for index, level in enumerate(range(3, 6)):
        block = neck.blocks[f"P{level}_bu"]
        zero = block.conv(torch.zeros_like(laterals[index]))
        assert torch.allclose(out[f"P{level}"], laterals[index] + zero, atol=1e-6)


def test_gradient_reaches_every_connection_weight():
    torch.manual_seed(0)
    neck = FusionNeck(dense(), IN_CHANNELS, 8)
    out = neck(_features(neck, (64, 64)))
    sum(v.square().mean() for v in out.values()).backward()
    grad = neck.weights.values.grad
    assert grad.shape == (63,)
    assert torch.all(grad != 0), [neck.weights.connection_ids[i] for i in (grad == 0).nonzero()]


def test_pruned_neck_is_physically_smaller_and_carries_parameters():
    torch.manual_seed(0)
    neck = FusionNeck(dense(), IN_CHANNELS, 16)
    keep = _pruned_keep(neck.graph)
    pruned = neck.pruned(keep)
    assert len(pruned.blocks) < len(neck.blocks)
    assert set(pruned.blocks) == set(pruned.graph.nodes("block"))
    dense_cost, pruned_cost = neck_cost(neck, (128, 128)), neck_cost(pruned, (128, 128))
    assert pruned_cost.params < dense_cost.params
    assert pruned_cost.flops < dense_cost.flops
    for name, block in pruned.blocks.items():
        for key, value in block.state_dict().items():
            assert torch.equal(value, neck.blocks[name].state_dict()[key])
    kept = neck.weights.indices(pruned.weights.connection_ids)
    assert torch.equal(pruned.weights.values.detach(), neck.weights.values.detach()[kept])


def test_flops_are_counted_by_torch_and_grow_with_image_size():
    neck = FusionNeck(dense(), IN_CHANNELS, 16)
    small, large = neck_cost(neck, (64, 64)), neck_cost(neck, (128, 128))
    assert large.flops > 3 * small.flops
    assert small.params == large.params == sum(p.numel() for p in neck.parameters())


def test_pruned_neck_exports_with_torch_export():
    torch.manual_seed(0)
    neck = FusionNeck(dense(), IN_CHANNELS, 8)
    pruned = neck.pruned(_pruned_keep(neck.graph)).eval()
    features = _features(pruned, (64, 96))
    exported = torch.export.export(pruned, (features,))
    expected = pruned(features)
    got = exported.module()(features)
    for key in expected:
        assert torch.allclose(got[key], expected[key], atol=1e-6)


def test_maps_and_their_gradients_keep_one_layout_on_each_side_of_the_graph():
    """Backbone maps and their gradients are contiguous; inside, both are channels-last.

    The outputs stay channels-last, and contiguous gradients sent back into them (as the
    detector's RoIAlign sends) are converted there: a tapped block's output gradient is
    where they would leak in otherwise. The laterals run inside.
    """
    torch.manual_seed(0)
    neck = FusionNeck(dense(levels=(3, 5)), IN_CHANNELS, 8)
    features = [f.requires_grad_() for f in _features(neck, (32, 48))]
    outside, inside = [], []
    for f in features:
        f.register_hook(outside.append)
    tapped = neck.blocks[neck.graph.output_source(3)]
    for module in (tapped, neck.laterals.lateral[0]):
        module.register_full_backward_hook(
            lambda module, grad_in, grad_out: inside.extend(grad_out)
        )
    outputs = neck(features)
    sum((o * torch.randn(o.shape)).sum() for o in outputs.values()).backward()
    assert all(o.is_contiguous(memory_format=torch.channels_last) for o in outputs.values())
    assert len(outside) == len(features) and all(g.is_contiguous() for g in outside)
    assert len(inside) == 2
    assert all(g.is_contiguous(memory_format=torch.channels_last) for g in inside)
    assert not any(g.is_contiguous() for g in inside)


def test_batched_weight_samples_equal_separate_passes():
    torch.manual_seed(0)
    neck = FusionNeck(dense(levels=(3, 5)), IN_CHANNELS, 8).eval()
    features = _features(neck, (32, 48), batch=2)
    samples = torch.rand(3, len(neck.graph.connection_ids))
    batched = neck([f.repeat(3, 1, 1, 1) for f in features], weights=samples)
    for k in range(3):
        single = neck(features, weights=samples[k])
        for key in single:
            assert torch.allclose(batched[key][2 * k : 2 * k + 2], single[key], atol=1e-5)


def test_weight_object_must_match_the_graph():
    graph = dense()
    with pytest.raises(GraphError, match="missing"):
        FusionNeck(graph, IN_CHANNELS, 8, DeterministicWeights(graph.connection_ids[:-1]))
    with pytest.raises(GraphError, match="expected 3 backbone maps"):
        neck = FusionNeck(graph, IN_CHANNELS, 8)
        neck([torch.zeros(1, 8, 8, 8)])


def test_resize_uses_the_target_size_not_a_factor():
    from archsearch.neck import resize

    x = torch.randn(1, 2, 7, 9)
    assert resize(x, (4, 5)).shape[-2:] == (4, 5)
    assert resize(x, (13, 17)).shape[-2:] == (13, 17)
    assert torch.equal(resize(x, (7, 9)), x)
    assert torch.allclose(resize(x, (4, 5)), F.interpolate(x, size=(4, 5), mode="bilinear"))
