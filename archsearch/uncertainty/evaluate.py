"""Table 2: COCO box metrics of the three decoders, and the spread of the sampled boxes.

`evaluate_uncertainty` draws K fusion networks once (seeded) and, batch by batch, runs the
mean-weights network and the K samples in one batched pass (`sampled_detections` with the
mean prepended as sample 0), merges the K sets per image and decodes them three ways
(`decode`); COCOeval scores each decoder's detections like any other detector's
(`archsearch.detection.evaluate.coco_metrics`). Box metrics only: masks are not sampled.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset

from archsearch.detection.evaluate import coco_metrics, coco_records
from archsearch.detection.train import collate
from archsearch.uncertainty.decoders import DECODERS, DecoderSettings, decode
from archsearch.uncertainty.merging import cluster_detections
from archsearch.uncertainty.sampling import (
    box_detections,
    draw_weights,
    sampled_detections,
    variational_weights,
)

TABLE2 = ("AP", "AP50", "AP75")


@dataclass
class UncertaintyEvaluation:
    """Per decoder, COCO box metrics; the mean variance of the var-voted boxes' coordinates.

    ``mean_box_variance`` (px²) averages, over every box ``varvote`` keeps, the variance of
    its four coordinates across the K samples; None when no box was kept.
    """

    metrics: dict[str, dict[str, float]]
    mean_box_variance: float | None
    samples: int
    seed: int
    images: int
    settings: DecoderSettings

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        """Table 2's rows (AP, AP50, AP75 per decoder) and the mean box variance."""
        rows = [f"{'decoder':9s} " + " ".join(f"{name:>6s}" for name in TABLE2)]
        for decoder, values in self.metrics.items():
            rows.append(f"{decoder:9s} " + " ".join(f"{values[n]:6.3f}" for n in TABLE2))
        spread = "n/a" if self.mean_box_variance is None else f"{self.mean_box_variance:.3f} px²"
        rows.append(f"mean box variance {spread} ({self.samples} samples, {self.images} images)")
        return rows


@torch.no_grad()
def decode_images(
    model: nn.Module,
    images: Sequence[torch.Tensor],
    weights: torch.Tensor,
    settings: DecoderSettings,
) -> list[dict[str, dict]]:
    """Per image, the three decoders' detections (`decode`) under the K samples ``weights``.

    The mean-weights network runs as an extra sample of the same batched pass, so the body
    runs once per image for all three decoders.
    """
    mean = variational_weights(model).mean().detach()[None].to(weights)
    per_image = sampled_detections(model, images, torch.cat([mean, weights]))
    decoded = []
    for sets in per_image:
        sets = [box_detections(detections) for detections in sets]
        clusters = cluster_detections(sets[1:], settings.cluster_iou)
        decoded.append(decode(sets[0], clusters, settings))
    return decoded


def evaluate_uncertainty(
    model: nn.Module,
    dataset: Dataset,
    samples: int = 10,
    seed: int = 0,
    batch_size: int = 4,
    settings: DecoderSettings | None = None,
    strategy: str | None = None,
) -> UncertaintyEvaluation:
    """Table 2 on ``dataset`` (with ``coco`` and ``category_ids``, as `CocoDetection`).

    ``strategy`` names the model's training strategy for the error a deterministic one gets.
    """
    settings = settings or DecoderSettings()
    weights = draw_weights(variational_weights(model, strategy), samples, seed)
    device = weights.device
    results: dict[str, list[dict]] = {name: [] for name in DECODERS}
    variances = []
    for images, targets in DataLoader(dataset, batch_size=batch_size, collate_fn=collate):
        decoded = decode_images(model, [image.to(device) for image in images], weights, settings)
        for outputs, target in zip(decoded, targets, strict=True):
            image_id = int(target["image_id"])
            for name in DECODERS:
                results[name] += coco_records(outputs[name], image_id, dataset.category_ids)
            variances.append(outputs["varvote"]["box_variances"].mean(1))
    spread = torch.cat(variances).mean().item() if variances else math.nan
    metrics = {name: coco_metrics(dataset.coco, results[name]) for name in DECODERS}
    return UncertaintyEvaluation(
        metrics=metrics,
        mean_box_variance=None if math.isnan(spread) else spread,
        samples=samples,
        seed=seed,
        images=len(dataset),
        settings=settings,
    )
