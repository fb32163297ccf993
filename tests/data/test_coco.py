"""CocoDetection on generated data, and each of its validation errors."""

import json

import pytest
import torch
from pycocotools import mask as mask_utils

from archsearch.data import CocoDetection, make_digit_scenes
from archsearch.errors import DataError


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    return make_digit_scenes(tmp_path_factory.mktemp("d") / "s", "mixed", images=20, seed=3)


def test_items_are_torchvision_targets(scenes):
    data = scenes.train(masks=True)
    assert data.num_classes == 11 and len(data) == 16
    for index in range(len(data)):
        image, target = data[index]
        assert image.dtype == torch.float32 and image.shape == (3, 128, 128)
        assert image.min() >= 0 and image.max() <= 1
        boxes, masks = target["boxes"], target["masks"]
        assert target["labels"].dtype == torch.int64
        assert ((target["labels"] >= 1) & (target["labels"] <= 10)).all()
        assert (boxes[:, 2:] > boxes[:, :2]).all() and (boxes >= 0).all() and (boxes <= 128).all()
        for box, mask in zip(boxes, masks, strict=True):  # the box is the mask's tight box
            ys, xs = torch.nonzero(mask, as_tuple=True)
            tight = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
            assert torch.allclose(box, tight, atol=1.0)


def test_rle_masks_decode_to_the_annotated_area(scenes):
    data = scenes.val(masks=True)
    for annotation in data.coco.anns.values():
        decoded = mask_utils.decode(annotation["segmentation"])
        assert decoded.sum() == annotation["area"]
        assert (decoded == data.coco.annToMask(annotation)).all()


def _broken(scenes, tmp_path, change):
    data = json.loads((scenes.root / "train.json").read_text())
    change(data)
    path = tmp_path / "broken.json"
    path.write_text(json.dumps(data))
    return path, data["annotations"][0]["id"] if data.get("annotations") else None


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("categories"), "missing top-level list 'categories'"),
        (lambda d: d["annotations"][0].pop("bbox"), r"annotation 1 has no 'bbox'"),
        (lambda d: d["annotations"][0].update(category_id=99), "annotation 1: unknown category 99"),
        (lambda d: d["annotations"][0].update(image_id=-5), "annotation 1: unknown image -5"),
        (
            lambda d: d["annotations"][0].update(bbox=[1, 1, 0, 5]),
            "annotation 1: box .* non-positive",
        ),
        (
            lambda d: d["annotations"][0].update(bbox=[120, 1, 30, 5]),
            "annotation 1: box .* outside",
        ),
        (lambda d: d["images"][0].update(file_name="gone.png"), "missing file .*gone.png"),
    ],
)
def test_validation_errors_name_the_file_and_the_annotation(scenes, tmp_path, change, message):
    path, first = _broken(scenes, tmp_path, change)
    message = message.replace("annotation 1", f"annotation {first}")
    with pytest.raises(DataError, match=f"broken.json: (.* )?{message}"):
        CocoDetection(scenes.images_dir, path)


def test_unparsable_and_missing_files(scenes, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="bad.json: not JSON"):
        CocoDetection(scenes.images_dir, bad)
    with pytest.raises(DataError, match="nope.json: no such annotation file"):
        CocoDetection(scenes.images_dir, tmp_path / "nope.json")
