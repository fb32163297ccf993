"""RoIAlign for training on the CPU, where torchvision's kernel is slow and single-threaded.

torchvision's CPU ``roi_align`` loops over the RoIs one by one in its forward and in its
backward, on one thread; in a quick-profile step its backward is the largest single cost.
`roi_align` computes the same function (Mask R-CNN's RoIAlign, ``aligned=False``, a fixed
number of sampling points per bin) with ``grid_sample``, whose CPU kernels are vectorized
and spread their work over the batch's images on every thread, forward and backward.

The sampling points and their treatment are torchvision's: a point more than one pixel
outside the map contributes zero; any other is clamped into the map and interpolated
bilinearly; a bin averages its points, the zeros included. Boxes narrower than one pixel
are widened to one. Clamped points are handed to ``grid_sample`` in pixel units
(``align_corners=False``: pixel ``x`` is ``(2x + 1) / size - 1``), and points that
contribute zero are sent far outside the map, where zero padding gives zero value and zero
gradient. So outputs and gradients agree with torchvision's to rounding
(``tests/neck/test_roi_align.py``).

`MultiScaleRoIAlign` is torchvision's pooler (same levels, scales and level mapping) that
takes this path when it pays: on the CPU, with gradients, outside an exporter. Inference,
CUDA and exported models keep torchvision's op (ONNX knows it as RoiAlign).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision
from torch import Tensor
from torchvision.ops import poolers

# A normalized grid coordinate that lies more than a pixel outside any map (its pixel
# coordinate is ``((OUTSIDE + 1) * size - 1) / 2 <= -1.5``).
OUTSIDE = -3.0


class _Gather(torch.autograd.Function):
    """``x[batch, :, slot]`` for distinct (batch, slot) pairs: the backward writes the
    gradient back in place instead of accumulating it (which PyTorch does on one thread)."""

    @staticmethod
    def forward(ctx, x: Tensor, batch: Tensor, slot: Tensor) -> Tensor:
        ctx.save_for_backward(batch, slot)
        ctx.shape = x.shape
        return x[batch, :, slot]

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple[Tensor, None, None]:
        batch, slot = ctx.saved_tensors
        result = grad.new_zeros(ctx.shape)
        result[batch, :, slot] = grad
        return result, None, None


def _sample_coordinates(start: Tensor, length: Tensor, bins: int, points: int, size: int) -> Tensor:
    """Normalized ``grid_sample`` coordinates of the ``bins * points`` sampling points along
    one axis of each RoI, ``[K, bins * points]``."""
    offsets = (torch.arange(bins * points, dtype=start.dtype, device=start.device) + 0.5) / points
    pixels = start[:, None] + offsets * (length.clamp(min=1.0) / bins)[:, None]
    inside = (pixels >= -1.0) & (pixels <= size)
    normalized = (2 * pixels.clamp(0, size - 1) + 1) / size - 1
    return torch.where(inside, normalized, torch.full_like(normalized, OUTSIDE))


def _slots(batch: Tensor, images: int) -> tuple[Tensor, int]:
    """Each RoI's position among its image's RoIs (in order), and the most any image has."""
    counts = torch.bincount(batch, minlength=images)
    order = torch.argsort(batch, stable=True)
    starts = torch.cumsum(counts, 0) - counts
    slot = torch.empty_like(batch)
    slot[order] = torch.arange(len(batch), device=batch.device) - starts[batch[order]]
    return slot, int(counts.max())


def _bin_averages(
    features: Tensor,
    rois: Tensor,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
) -> tuple[Tensor, Tensor]:
    """The bins of each of ``rois`` (at least one), laid out by image: ``[N, C, most,
    rows * columns]``, where RoI ``k`` is at ``[image k, :, slot k]``; and the slots.

    Each image's RoIs become rows of one sampling grid, padded to the image with the most,
    so that one ``grid_sample`` call covers the batch.
    """
    rows, columns = output_size
    images, channels, height, width = features.shape
    batch = rois[:, 0].long()
    x1, y1, x2, y2 = (rois[:, 1:] * spatial_scale).unbind(1)
    xs = _sample_coordinates(x1, x2 - x1, columns, sampling_ratio, width)
    ys = _sample_coordinates(y1, y2 - y1, rows, sampling_ratio, height)
    points = torch.stack(torch.broadcast_tensors(xs[:, None, :], ys[:, :, None]), dim=-1)
    slot, most = _slots(batch, images)
    grid = features.new_full((images, most, *points.shape[1:]), OUTSIDE)
    grid[batch, slot] = points.to(features.dtype)
    grid = grid.view(images, most * points.shape[1], points.shape[2], 2)
    samples = F.grid_sample(
        features, grid, mode="bilinear", padding_mode="zeros", align_corners=False
    )
    samples = samples.view(images, channels, most, rows, sampling_ratio, columns, sampling_ratio)
    if sampling_ratio > 1:
        samples = samples.mean(dim=(4, 6))
    return samples.reshape(images, channels, most, rows * columns), slot


def roi_align(
    features: Tensor,
    rois: Tensor,
    output_size: tuple[int, int],
    spatial_scale: float,
    sampling_ratio: int,
) -> Tensor:
    """torchvision's ``roi_align(features, rois, output_size, spatial_scale, sampling_ratio)``
    (``aligned=False``) for ``sampling_ratio >= 1``, by ``grid_sample``.

    ``features`` ``[N, C, H, W]``; ``rois`` ``[K, 5]``: image index, then x1, y1, x2, y2 in
    input pixels. Returns ``[K, C, *output_size]``; no gradient flows to ``rois``.
    """
    shape = (len(rois), features.shape[1], *output_size)
    if len(rois) == 0:
        return features.new_zeros(shape)
    rois = rois.detach()
    bins, slot = _bin_averages(features, rois, output_size, spatial_scale, sampling_ratio)
    return _Gather.apply(bins, rois[:, 0].long(), slot).view(shape)


def _fast_path(features: Tensor, sampling_ratio: int) -> bool:
    """`roi_align` where it is faster and its result is the one wanted: CPU training."""
    exporting = torchvision._is_tracing() or torch.compiler.is_exporting()
    return (
        features.device.type == "cpu"
        and torch.is_grad_enabled()
        and sampling_ratio >= 1
        and not exporting
    )


class MultiScaleRoIAlign(poolers.MultiScaleRoIAlign):
    """torchvision's ``MultiScaleRoIAlign``, pooling with `roi_align` in CPU training."""

    def forward(
        self, x: dict[str, Tensor], boxes: list[Tensor], image_shapes: list[tuple[int, int]]
    ) -> Tensor:
        features = [x[name] for name in self.featmap_names]
        if not _fast_path(features[0], self.sampling_ratio):
            return super().forward(x, boxes, image_shapes)
        if self.scales is None or self.map_levels is None:
            self.scales, self.map_levels = poolers._setup_scales(
                features, image_shapes, self.canonical_scale, self.canonical_level
            )
        rois = torch.cat([F.pad(b.detach(), (1, 0), value=i) for i, b in enumerate(boxes)])
        shape = (len(rois), features[0].shape[1], *self.output_size)
        if len(rois) == 0:
            return features[0].new_zeros(shape)
        levels = self.map_levels(boxes) if len(features) > 1 else torch.zeros_like(rois[:, 0])
        # Every level's bins side by side, so that one gather puts the RoIs in their order.
        # A box whose size is not a number maps to no level: torchvision pools zeros for it.
        parts, slots, offset = [], torch.full_like(rois[:, 0], -1, dtype=torch.long), 0
        for level, (feature, scale) in enumerate(zip(features, self.scales, strict=True)):
            chosen = torch.where(levels == level)[0]
            if len(chosen) == 0:
                continue
            bins, slot = _bin_averages(
                feature, rois[chosen], self.output_size, scale, self.sampling_ratio
            )
            slots[chosen] = slot + offset
            offset += bins.shape[2]
            parts.append(bins.to(features[0].dtype))
        unpooled = slots < 0
        if unpooled.all():
            return features[0].new_zeros(shape)
        if unpooled.any():
            slots[unpooled] = offset
            parts.append(features[0].new_zeros((*parts[0].shape[:2], 1, parts[0].shape[3])))
        bins = torch.cat(parts, dim=2) if len(parts) > 1 else parts[0]
        return _Gather.apply(bins, rois[:, 0].long(), slots).view(shape)
