"""The grid-sample RoIAlign against torchvision's kernel, forward and backward, in float64."""

import math

import pytest
import torch
from torchvision.ops import MultiScaleRoIAlign as TorchvisionPooler
from torchvision.ops import poolers
from torchvision.ops import roi_align as torchvision_roi_align

from archsearch.neck.roi_align import MultiScaleRoIAlign, roi_align


def _boxes(images, count, height, width, scale, generator):
    """Boxes in input pixels over and beyond a map of ``height × width`` at ``scale``:
    some reach past the border by more than a pixel, a tenth are points (zero size), a
    tenth are lines."""
    size = torch.tensor([width, height], dtype=torch.float64) / scale
    corner = torch.rand(count, 2, generator=generator, dtype=torch.float64) * 1.4 - 0.2
    extent = torch.rand(count, 2, generator=generator, dtype=torch.float64) * 0.6
    extent[: count // 10] = 0
    extent[count // 10 : count // 5, 0] = 0
    corner, extent = corner * size, extent * size
    batch = torch.randint(0, images, (count, 1), generator=generator).double()
    return torch.cat([batch, corner, corner + extent], dim=1)


CASES = [
    # images, channels, height, width, scale, output, sampling
    (3, 5, 9, 13, 0.25, (7, 7), 1),
    (3, 5, 9, 13, 0.5, (7, 7), 2),
    (4, 3, 16, 7, 0.125, (14, 14), 3),
    (2, 4, 2, 2, 1.0, (3, 5), 2),
    (2, 4, 1, 1, 1 / 32, (7, 7), 2),  # a top level of one pixel
]


@pytest.mark.parametrize("images, channels, height, width, scale, output, sampling", CASES)
def test_values_and_gradients_match_torchvision(
    images, channels, height, width, scale, output, sampling
):
    generator = torch.Generator().manual_seed(height * width)
    features = torch.randn(
        images, channels, height, width, dtype=torch.float64, generator=generator
    )
    features.requires_grad_(True)
    rois = _boxes(images, 60, height, width, scale, generator)
    expected = torchvision_roi_align(features, rois, output, scale, sampling)
    actual = roi_align(features, rois, output, scale, sampling)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-12)
    upstream = torch.randn(expected.shape, dtype=torch.float64, generator=generator)
    (expected_grad,) = torch.autograd.grad(expected, features, upstream)
    (actual_grad,) = torch.autograd.grad(actual, features, upstream)
    torch.testing.assert_close(actual_grad, expected_grad, rtol=0, atol=1e-12)


def test_float32_agrees_to_1e_5():
    generator = torch.Generator().manual_seed(1)
    features = torch.randn(4, 8, 32, 32, generator=generator, requires_grad=True)
    rois = _boxes(4, 300, 32, 32, 0.25, generator).float()
    expected = torchvision_roi_align(features, rois, (7, 7), 0.25, 2)
    actual = roi_align(features, rois, (7, 7), 0.25, 2)
    torch.testing.assert_close(actual, expected, rtol=1e-5, atol=1e-5)
    (expected_grad,) = torch.autograd.grad(expected.sum(), features)
    (actual_grad,) = torch.autograd.grad(actual.sum(), features)
    torch.testing.assert_close(actual_grad, expected_grad, rtol=1e-5, atol=1e-5)


def test_images_without_rois_and_no_rois_at_all():
    features = torch.randn(3, 2, 8, 8, dtype=torch.float64, requires_grad=True)
    rois = torch.tensor([[2.0, 1.0, 1.0, 6.0, 5.0], [2.0, 0.0, 0.0, 3.0, 3.0]], dtype=torch.float64)
    torch.testing.assert_close(
        roi_align(features, rois, (2, 2), 1.0, 2), torchvision_roi_align(features, rois, 2, 1.0, 2)
    )
    assert roi_align(features, rois[:0], (2, 2), 1.0, 2).shape == (0, 2, 2, 2)


def _pooler_inputs(generator):
    names = ["0", "1", "2"]
    maps = {
        name: torch.randn(2, 4, 32 >> i, 40 >> i, dtype=torch.float64, generator=generator)
        for i, name in enumerate(names)
    }
    for feature in maps.values():
        feature.requires_grad_(True)
    # Boxes for every level, some reaching past the image, and a tenth of no area (which
    # torchvision maps to no level and pools as zeros).
    boxes = [_boxes(1, n, 128, 160, 1.0, generator)[:, 1:] for n in (40, 25)]
    return names, maps, boxes, [(128, 160), (128, 160)]


@pytest.mark.parametrize("sampling", [1, 2])
def test_the_pooler_trains_with_torchvision_values(sampling):
    generator = torch.Generator().manual_seed(sampling)
    names, maps, boxes, shapes = _pooler_inputs(generator)
    ours = MultiScaleRoIAlign(names, 7, sampling, canonical_scale=64)
    theirs = TorchvisionPooler(names, 7, sampling, canonical_scale=64)
    expected, actual = theirs(maps, boxes, shapes), ours(maps, boxes, shapes)
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-12)
    upstream = torch.randn(expected.shape, dtype=torch.float64, generator=generator)
    features = list(maps.values())
    expected_grads = torch.autograd.grad(expected, features, upstream)
    actual_grads = torch.autograd.grad(actual, features, upstream)
    for got, want in zip(actual_grads, expected_grads, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=1e-12)


def test_the_pooler_infers_with_torchvision_op(monkeypatch):
    """Without gradients (evaluation, export) the pooler is torchvision's, op and all."""
    names, maps, boxes, shapes = _pooler_inputs(torch.Generator().manual_seed(0))
    calls = []

    def counted(*args, **kwargs):
        calls.append(1)
        return torchvision_roi_align(*args, **kwargs)

    monkeypatch.setattr(poolers, "roi_align", counted)
    pooler = MultiScaleRoIAlign(names, 7, 2, canonical_scale=64)
    pooler(maps, boxes, shapes)
    assert not calls
    with torch.no_grad():
        pooler(maps, boxes, shapes)
    assert len(calls) == len(names)


def test_boxes_of_no_level_pool_zeros_as_torchvision_does():
    """A box of no size is pooled on the lowest level; one whose size is not a number on
    none, as zeros: alone, or beside others."""
    names, maps, _, shapes = _pooler_inputs(torch.Generator().manual_seed(3))
    point = torch.tensor([[5.0, 5.0, 5.0, 5.0]], dtype=torch.float64)
    broken = torch.tensor([[math.nan, 5.0, 9.0, 9.0]], dtype=torch.float64)
    ours = MultiScaleRoIAlign(names, 7, 2, canonical_scale=64)
    theirs = TorchvisionPooler(names, 7, 2, canonical_scale=64)
    for boxes, pooled in (([broken, broken], [False, False]), ([point, broken], [True, False])):
        expected, actual = theirs(maps, boxes, shapes), ours(maps, boxes, shapes)
        torch.testing.assert_close(actual, expected)
        assert [bool(rows.any()) for rows in actual] == pooled
