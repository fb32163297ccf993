"""PConv: shared kernels across levels, one batch norm over all levels, residuals."""

import torch

from archsearch.neck import Laterals, backbone_shapes, count_params
from baselines.pconv import PConv, integrated_norm


def test_kernels_and_norm_are_shared_by_every_level():
    channels = 8
    neck = PConv([8, 16, 32], channels)
    separable = channels * 9 + channels * channels  # depthwise 3×3 + pointwise 1×1
    laterals = count_params(Laterals([8, 16, 32], channels, 5))
    assert count_params(neck) == laterals + 3 * separable + 2 * channels


def test_integrated_norm_pools_statistics_over_levels():
    torch.manual_seed(0)
    maps = [torch.randn(2, 3, 8, 8) * 3 + 1, torch.randn(2, 3, 4, 4) - 5]
    out = integrated_norm(maps, torch.nn.BatchNorm1d(3).train())
    pooled = torch.cat([m.transpose(0, 1).reshape(3, -1) for m in out], dim=1)
    assert torch.allclose(pooled.mean(dim=1), torch.zeros(3), atol=1e-5)
    assert torch.allclose(pooled.var(dim=1, unbiased=False), torch.ones(3), atol=1e-3)
    assert out[1].mean() < -0.5 < out[0].mean()  # levels keep their offsets: one shared norm


def test_output_is_relu_of_the_pyramid_sum_plus_the_residual():
    torch.manual_seed(0)
    neck = PConv([8, 16, 32], 8, levels=(3, 5)).eval()  # three levels: P4 reads both neighbours
    features = [torch.randn(shape) for shape in backbone_shapes(neck, (64, 64), 2)]
    p3, p4, p5 = neck.laterals(features)
    below = neck.below(p3)
    above = torch.nn.functional.interpolate(neck.above(p5), size=p4.shape[-2:], mode="bilinear")
    norm = neck.norm
    scale = norm.weight / torch.sqrt(norm.running_var + norm.eps)
    shift = norm.bias - norm.running_mean * scale
    summed = neck.same(p4) + below + above
    expected = torch.relu(summed * scale[:, None, None] + shift[:, None, None]) + p4
    assert torch.allclose(neck(features)["P4"], expected, atol=1e-5)
