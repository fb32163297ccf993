"""Evaluation: COCOeval metrics against known answers, Faster and Mask R-CNN, timing."""

import pytest
import torch

from archsearch.detection.evaluate import METRICS, coco_metrics, evaluate, predict, time_inference
from archsearch.detection.profiles import detector_from_profile
from tests.detection import CATEGORY_IDS, TINY, TinyScenes


class Oracle(torch.nn.Module):
    """Returns the ground truth as detections: a perfect detector, to check the plumbing."""

    def __init__(self, dataset, masks=False):
        super().__init__()
        self.dataset, self.masks, self.anchor = dataset, masks, torch.nn.Parameter(torch.zeros(1))
        self.next = 0

    def forward(self, images):
        outputs = []
        for _ in images:
            _, target = self.dataset[self.next]
            self.next += 1
            output = {
                "boxes": target["boxes"].clone(),
                "labels": target["labels"],
                "scores": torch.ones(len(target["labels"])),
            }
            if self.masks:
                output["masks"] = target["masks"][:, None].float()
            outputs.append(output)
        return outputs


@pytest.mark.parametrize("masks", [False, True])
def test_perfect_detections_score_one(masks):
    dataset = TinyScenes(4, masks=masks)
    results = predict(Oracle(dataset, masks), dataset, batch_size=3)
    assert {r["category_id"] for r in results} <= set(CATEGORY_IDS)
    for iou_type in ("bbox", "segm") if masks else ("bbox",):
        metrics = coco_metrics(dataset.coco, results, iou_type)
        assert metrics["AP"] == pytest.approx(1.0) and metrics["AP50"] == pytest.approx(1.0)


def test_shifted_boxes_lose_strict_ap_but_keep_ap50():
    dataset = TinyScenes(4)
    results = predict(Oracle(dataset), dataset)
    for record in results:
        record["bbox"][0] += 0.15 * record["bbox"][2]
    metrics = coco_metrics(dataset.coco, results)
    assert metrics["AP50"] == pytest.approx(1.0)
    assert metrics["AP75"] < 1.0 and metrics["AP"] < 0.9


def test_no_detections_score_zero():
    assert coco_metrics(TinyScenes(2).coco, []) == dict.fromkeys(METRICS, 0.0)


@pytest.mark.parametrize("kind", ["faster_rcnn", "mask_rcnn"])
def test_evaluate_a_detector(kind):
    torch.manual_seed(0)
    masks = kind == "mask_rcnn"
    model = detector_from_profile(TINY, kind, "dense", num_classes=4)
    result = evaluate(model, TinyScenes(4, masks=masks), batch_size=2, timing_images=2)
    assert set(result.metrics) == ({"bbox", "segm"} if masks else {"bbox"})
    for values in result.metrics.values():
        assert list(values) == list(METRICS)
        assert all(-1.0 <= v <= 1.0 for v in values.values())
    assert result.neck_params == sum(p.numel() for p in model.backbone.neck.parameters())
    assert result.timing.runs == 10 and result.timing.median_ms > 0
    assert any("AP50" in line for line in result.lines())


def test_timing_counts_every_timed_run():
    model = Oracle(TinyScenes(20))
    timing = time_inference(model, [torch.zeros(3, 8, 8)] * 2, repeats=3, warmup=1)
    assert timing.runs == 6 and model.next == 8
