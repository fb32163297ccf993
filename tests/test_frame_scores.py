"""The context analysis: as is, frame ignored and frame blind, on hand-made detections.

pycocotools is the evaluator; the references are properties any correct split must have: a
detector with the right digits and the right frames scores 1 as is and with the frame
ignored, one with every frame wrong scores 0 as is and still 1 with the frame ignored, and
both, having found the same digits, have the same frame-blind score, below 1.
"""

import contextlib
import io

import pytest
from pycocotools.coco import COCO

from archsearch.data.digits import FRAMED_CATEGORIES
from experiments.analysis.frame_scores import frame_scores

# (image, category, box): "3 in a square" is 4, "3 in a circle" 14.
OBJECTS = [(1, 4, [10, 10, 12, 12]), (1, 17, [40, 40, 14, 14]), (2, 11, [20, 30, 10, 12])]


def _coco() -> COCO:
    coco = COCO()
    coco.dataset = {
        "images": [{"id": i, "width": 128, "height": 128, "file_name": f"{i}.png"} for i in (1, 2)],
        "annotations": [
            {"id": n, "image_id": i, "category_id": c, "bbox": b, "area": b[2] * b[3], "iscrowd": 0}
            for n, (i, c, b) in enumerate(OBJECTS, 1)
        ],
        "categories": FRAMED_CATEGORIES,
    }
    with contextlib.redirect_stdout(io.StringIO()):
        coco.createIndex()
    return coco


def _detections(swap_frames: bool) -> list[dict]:
    def category(c: int) -> int:
        return (c + 9) % 20 + 1 if swap_frames else c  # 4 <-> 14, 17 <-> 7, 11 <-> 1

    return [
        {"image_id": i, "category_id": category(c), "bbox": b, "score": 0.9} for i, c, b in OBJECTS
    ]


def test_frames_right_wrong_and_blind():
    right = frame_scores(_coco(), _detections(swap_frames=False))
    wrong = frame_scores(_coco(), _detections(swap_frames=True))
    assert right["as_is"] == pytest.approx(1.0) and right["frame_ignored"] == pytest.approx(1.0)
    assert wrong["as_is"] == pytest.approx(0.0) and wrong["frame_ignored"] == pytest.approx(1.0)
    assert right["frame_blind"] == pytest.approx(wrong["frame_blind"])
    assert 0.0 < right["frame_blind"] < 1.0
