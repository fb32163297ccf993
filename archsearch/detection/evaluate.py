"""Evaluation: COCO metrics by pycocotools' own COCOeval, neck size, inference time.

Detections are converted to COCO results (label ``i`` -> ``dataset.category_ids[i - 1]``,
boxes to ``xywh``, masks to RLE at 0.5) and scored by `COCOeval`, so numbers are comparable
with any COCO paper. Inference time per image is the median ± sd over repeated timed runs
after untimed warm-up runs (CUDA events on a GPU).
"""

from __future__ import annotations

import contextlib
import io
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch
from pycocotools import mask as mask_utils
from pycocotools.cocoeval import COCOeval
from torch import nn
from torch.utils.data import DataLoader, Dataset

from archsearch.detection.train import collate
from archsearch.neck import count_params

METRICS = ("AP", "AP50", "AP75", "APS", "APM", "APL")


@dataclass(frozen=True)
class Timing:
    """Inference time per image in milliseconds."""

    median_ms: float
    sd_ms: float
    runs: int

    def __str__(self) -> str:
        return f"{self.median_ms:.2f} ± {self.sd_ms:.2f} ms/image ({self.runs} runs)"


@dataclass
class Evaluation:
    """COCO metrics (``{"bbox": {"AP": ...}, "segm": ...}``), neck parameters, timing.

    A metric is -1 where COCOeval has no ground truth to score (e.g. APL without large
    objects), as COCOeval itself reports it.
    """

    metrics: dict[str, dict[str, float]]
    neck_params: int
    images: int
    timing: Timing | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def lines(self) -> list[str]:
        rows = [
            f"{kind:4s} " + "  ".join(f"{name} {values[name]:.3f}" for name in METRICS)
            for kind, values in self.metrics.items()
        ]
        rows.append(f"neck parameters {self.neck_params}, {self.images} images")
        if self.timing is not None:
            rows.append(f"inference {self.timing}")
        return rows


@torch.no_grad()
def predict(
    model: nn.Module, dataset: Dataset, batch_size: int = 8, device: torch.device | None = None
) -> list[dict]:
    """COCO result records of ``model`` on every image of ``dataset``."""
    device = device or next(model.parameters()).device
    model.eval()
    loader = DataLoader(dataset, batch_size=batch_size, collate_fn=collate)
    results: list[dict] = []
    for images, targets in loader:
        outputs = model([image.to(device) for image in images])
        for output, target in zip(outputs, targets, strict=True):
            results += coco_records(output, int(target["image_id"]), dataset.category_ids)
    return results


def coco_records(output: dict, image_id: int, category_ids: Sequence[int]) -> list[dict]:
    """COCO result records of one image's detections (torchvision's output dict)."""
    boxes = output["boxes"].cpu().clone()  # .cpu() of a CPU tensor is the tensor itself
    boxes[:, 2:] -= boxes[:, :2]
    masks = output.get("masks")
    records = []
    for index, (box, score, label) in enumerate(
        zip(boxes.tolist(), output["scores"].tolist(), output["labels"].tolist(), strict=True)
    ):
        record = {
            "image_id": image_id,
            "category_id": int(category_ids[label - 1]),
            "bbox": [round(v, 2) for v in box],
            "score": round(score, 5),
        }
        if masks is not None:
            binary = (masks[index, 0] > 0.5).cpu().numpy().astype(np.uint8)
            record["segmentation"] = mask_utils.encode(np.asfortranarray(binary))
        records.append(record)
    return records


def coco_metrics(coco, results: list[dict], iou_type: str = "bbox") -> dict[str, float]:
    """AP, AP50, AP75, APS, APM, APL of ``results`` against ``coco`` (pycocotools COCO).

    No detections at all score 0 (COCO's ``loadRes`` cannot take an empty list).
    """
    if not results:
        return dict.fromkeys(METRICS, 0.0)
    with contextlib.redirect_stdout(io.StringIO()):
        evaluator = COCOeval(coco, coco.loadRes(results), iou_type)
        evaluator.evaluate()
        evaluator.accumulate()
        evaluator.summarize()
    return {name: float(value) for name, value in zip(METRICS, evaluator.stats, strict=False)}


def evaluate(
    model: nn.Module,
    dataset: Dataset,
    batch_size: int = 8,
    timing_images: int = 0,
    device: torch.device | None = None,
) -> Evaluation:
    """Box (and, for Mask R-CNN, mask) metrics on ``dataset``, the neck's parameters, and the
    inference time per image over ``timing_images`` of its images (0: not timed)."""
    results = predict(model, dataset, batch_size, device)
    metrics = {"bbox": coco_metrics(dataset.coco, results, "bbox")}
    if getattr(model, "roi_heads", None) is not None and model.roi_heads.has_mask():
        metrics["segm"] = coco_metrics(dataset.coco, results, "segm")
    timing = None
    if timing_images:
        images = [dataset[index][0] for index in range(min(timing_images, len(dataset)))]
        timing = time_inference(model, images, device=device)
    neck_params = count_params(model.backbone.neck)
    return Evaluation(metrics, neck_params, len(dataset), timing)


@torch.no_grad()
def time_inference(
    model: nn.Module,
    images: Sequence[torch.Tensor],
    repeats: int = 5,
    warmup: int = 2,
    device: torch.device | None = None,
) -> Timing:
    """Median ± sd of the time to detect one image, over ``repeats`` passes of ``images``.

    The first ``warmup`` passes are not timed (allocator, kernel selection, caches).
    """
    device = device or next(model.parameters()).device
    model.eval()
    images = [image.to(device) for image in images]
    for _ in range(warmup):
        for image in images:
            model([image])
    times = [_time_once(model, image, device) for _ in range(repeats) for image in images]
    sd = statistics.stdev(times) if len(times) > 1 else 0.0
    return Timing(statistics.median(times) * 1e3, sd * 1e3, len(times))


def _time_once(model: nn.Module, image: torch.Tensor, device: torch.device) -> float:
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        model([image])
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3
    begin = time.perf_counter()
    model([image])
    return time.perf_counter() - begin
