"""CocoDetection on generated data, its label mapping, and each of its validation errors."""

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image
from pycocotools import mask as mask_utils

from archsearch.cli import main
from archsearch.data import CocoDetection, collate, make_digit_scenes, train_and_val
from archsearch.errors import DataError


@pytest.fixture(scope="module")
def scenes(tmp_path_factory):
    return make_digit_scenes(tmp_path_factory.mktemp("d") / "s", "mixed", scenes=20, seed=3)


def _rewrite(scenes, tmp_path, change, name="broken.json"):
    """A copy of the training JSON, changed by ``change(data)``; returns its path and data."""
    data = json.loads(scenes.train_json.read_text())
    change(data)
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path, data


def test_items_are_torchvision_targets(scenes):
    data = scenes.train(masks=True)
    assert data.num_classes == 11 and len(data) == 16 and data.category_ids == list(range(1, 11))
    for index in range(len(data)):
        image, target = data[index]
        assert image.dtype == torch.float32 and image.shape == (3, 128, 128)
        assert image.min() >= 0 and image.max() <= 1
        assert target["image_id"] == data.image_ids[index]
        boxes, masks, labels = target["boxes"], target["masks"], target["labels"]
        assert boxes.dtype == torch.float32 and boxes.shape == (len(labels), 4)
        assert labels.dtype == torch.int64 and ((labels >= 1) & (labels <= 10)).all()
        assert masks.dtype == torch.uint8 and masks.shape == (len(labels), 128, 128)
        assert target["area"].dtype == torch.float32 and target["iscrowd"].dtype == torch.int64
        assert (boxes[:, 2:] > boxes[:, :2]).all() and (boxes >= 0).all() and (boxes <= 128).all()
        for box, mask in zip(boxes, masks, strict=True):  # the box is the mask's tight box
            ys, xs = torch.nonzero(mask, as_tuple=True)
            tight = torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]).float()
            assert torch.allclose(box, tight, atol=1.0)


def test_labels_are_contiguous_in_sorted_category_order(scenes, tmp_path):
    def renumber(data):  # COCO ids 1..10 become 100, 90, ..., 10, listed unsorted
        for category in data["categories"]:
            category["id"] = 110 - 10 * category["id"]
        for annotation in data["annotations"]:
            annotation["category_id"] = 110 - 10 * annotation["category_id"]

    path, _ = _rewrite(scenes, tmp_path, renumber, "renumbered.json")
    original, renumbered = scenes.train(), CocoDetection(scenes.images_dir, path)
    assert renumbered.category_ids == list(range(10, 101, 10)) and renumbered.num_classes == 11
    for index in range(len(original)):
        labels = renumbered[index][1]["labels"]
        assert (labels == 11 - original[index][1]["labels"]).all()
        annotations = renumbered.coco.imgToAnns[renumbered.image_ids[index]]
        assert [renumbered.category_ids[label - 1] for label in labels] == [
            a["category_id"] for a in annotations
        ]


def test_crowd_annotations_stay_out_of_targets(scenes, tmp_path):
    path, data = _rewrite(scenes, tmp_path, lambda d: d["annotations"][0].update(iscrowd=1))
    image_id = data["annotations"][0]["image_id"]
    crowded = CocoDetection(scenes.images_dir, path, masks=True)
    index = crowded.image_ids.index(image_id)
    plain = scenes.train()[index][1]
    target = crowded[index][1]
    assert len(target["boxes"]) == len(plain["boxes"]) - 1 == len(target["masks"])
    assert len(crowded.coco.anns) == len(data["annotations"])  # evaluation still sees it


def test_rle_masks_decode_to_the_annotated_area(scenes):
    data = scenes.val(masks=True)
    for annotation in data.coco.anns.values():
        decoded = mask_utils.decode(annotation["segmentation"])
        assert decoded.sum() == annotation["area"]
        assert (decoded == data.coco.annToMask(annotation)).all()


def test_collate_keeps_items_as_lists(scenes):
    data = scenes.val()
    images, targets = collate([data[0], data[1]])
    assert len(images) == len(targets) == 2 and targets[1]["image_id"] == data.image_ids[1]
    assert collate([]) == ([], [])


def _first(data, key, **change):
    data[key][0].update(change)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.pop("categories"), "missing top-level list 'categories'"),
        (lambda d: d.pop("images"), "missing top-level list 'images'"),
        (lambda d: d["annotations"][0].pop("bbox"), "annotation {ann} has no 'bbox'"),
        (lambda d: d["annotations"][0].pop("image_id"), "annotation {ann} has no 'image_id'"),
        (lambda d: d["annotations"][0].pop("category_id"), "annotation {ann} has no 'category_id'"),
        (lambda d: _first(d, "annotations", category_id=99), "annotation {ann}: unknown category"),
        (lambda d: _first(d, "annotations", image_id=-5), "annotation {ann}: unknown image id -5"),
        (lambda d: _first(d, "annotations", bbox=[1, 1, 0, 5]), "annotation {ann}: box .* non-pos"),
        (lambda d: _first(d, "annotations", bbox=[1, 1, 5]), "annotation {ann}: 'bbox' .* is not"),
        (lambda d: _first(d, "annotations", bbox=[120, 1, 30, 5]), "annotation {ann}: box .* out"),
        (lambda d: _first(d, "annotations", id=d["annotations"][1]["id"]), "annotation {a2}: dup"),
        (lambda d: _first(d, "images", file_name="gone.png"), "image {img}: missing .*gone.png"),
        (lambda d: d["images"][0].pop("width"), "image {img} has no 'width'"),
        (lambda d: d["images"].append(d["images"][0]), "image {img}: duplicate image id"),
        (lambda d: _first(d, "images", width="128"), "image {img}: 'width' '128' is not a pos"),
        (lambda d: _first(d, "images", file_name=7), "image {img}: 'file_name' 7 is not a file"),
        (lambda d: _first(d, "images", file_name="../../etc/hostname"), "image {img}: .* leaves"),
        (lambda d: _first(d, "images", file_name="/etc/hostname"), "image {img}: .* leaves"),
        (lambda d: _first(d, "images", id={"a": 1}), "image: 'id' {{'a': 1}} is not an integer"),
        (lambda d: _first(d, "annotations", category_id=[1]), "annotation {ann}: 'category_id'"),
        (lambda d: _first(d, "categories", id="one"), "category: 'id' 'one' is not an integer"),
    ],
)
def test_validation_errors_name_the_file_and_the_culprit(scenes, tmp_path, change, message):
    first = json.loads(scenes.train_json.read_text())
    ann, ann2 = (a["id"] for a in first["annotations"][:2])
    message = message.format(ann=ann, a2=ann2, img=first["images"][0]["id"])
    path, _ = _rewrite(scenes, tmp_path, change)
    with pytest.raises(DataError, match=f"broken.json: {message}"):
        CocoDetection(scenes.images_dir, path)


def test_boxes_may_overhang_by_a_pixel(scenes, tmp_path):
    path, _ = _rewrite(scenes, tmp_path, lambda d: _first(d, "annotations", bbox=[-1, 0, 129, 5]))
    assert len(CocoDetection(scenes.images_dir, path)) == 16


def test_an_empty_image_file_and_malformed_polygons_are_named(scenes, tmp_path):
    data = json.loads(scenes.train_json.read_text())
    empty = tmp_path / "images"
    empty.mkdir()
    for image in data["images"]:
        (empty / image["file_name"]).write_bytes(b"")
    with pytest.raises(DataError, match="image file .* is empty"):
        CocoDetection(empty, scenes.train_json)
    path, _ = _rewrite(scenes, tmp_path, lambda d: _first(d, "annotations", segmentation=[[1, 2]]))
    with pytest.raises(DataError, match="'segmentation' is neither polygons"):
        CocoDetection(scenes.images_dir, path, masks=True)


def test_data_info_finds_a_truncated_image(scenes, tmp_path, capsys):
    data = json.loads(scenes.train_json.read_text())
    images = tmp_path / "images"
    shutil.copytree(scenes.images_dir, images)
    broken = images / data["images"][2]["file_name"]
    broken.write_bytes(broken.read_bytes()[:-40])
    assert main(["data", "info", str(scenes.train_json), "--images-dir", str(images)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"{broken}: not a whole image" in err, err


def test_masks_need_segmentations(scenes, tmp_path):
    path, data = _rewrite(scenes, tmp_path, lambda d: d["annotations"][0].pop("segmentation"))
    CocoDetection(scenes.images_dir, path)  # boxes alone are enough without masks
    with pytest.raises(DataError, match=f"annotation {data['annotations'][0]['id']} has no 'seg"):
        CocoDetection(scenes.images_dir, path, masks=True)


def test_unparsable_and_missing_files(scenes, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(DataError, match="bad.json: not JSON"):
        CocoDetection(scenes.images_dir, bad)
    with pytest.raises(DataError, match="nope.json: no such file"):
        CocoDetection(scenes.images_dir, tmp_path / "nope.json")


def test_images_must_match_their_declared_size(scenes, tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    path, data = _rewrite(scenes, tmp_path, lambda d: None)
    for image in data["images"]:
        Image.fromarray(np.zeros((64, 96, 3), np.uint8)).save(images / image["file_name"])
    (images / data["images"][1]["file_name"]).write_bytes(b"not a png")
    dataset = CocoDetection(images, path)
    with pytest.raises(DataError, match="broken.json: image .* declared 128x128 .* is 96x64"):
        dataset[0]
    with pytest.raises(DataError, match="cannot read image"):
        dataset[1]


def test_a_coco_source_loads_both_splits_and_may_keep_val_images_apart(scenes, tmp_path):
    source = {"images": str(scenes.images_dir), "train": str(scenes.train_json)}
    moved = tmp_path / "val-images"
    moved.mkdir()
    for image in json.loads(scenes.val_json.read_text())["images"]:
        (moved / image["file_name"]).write_bytes(
            (scenes.images_dir / image["file_name"]).read_bytes()
        )
    train, val = train_and_val({"coco": {**source, "val": str(scenes.val_json)}}, 128)
    assert len(train) == len(scenes.train()) and len(val) == len(scenes.val())
    apart = {"coco": {**source, "val": str(scenes.val_json), "val_images": str(moved)}}
    _, val_apart = train_and_val(apart, 128)
    assert torch.equal(val_apart[0][0], val[0][0])
    with pytest.raises(DataError, match="data.coco has no 'val'"):
        train_and_val({"coco": source}, 128)
    with pytest.raises(DataError, match="neither 'digits' nor 'coco'"):
        train_and_val({"cocoa": source}, 128)


def test_a_command_lines_data_flags_describe_a_data_set():
    from archsearch.data import data_description
    from archsearch.errors import DataError

    assert data_description("digits-small", 600, 3) == {
        "digits": {"layout": "small", "scenes": 600, "seed": 3}
    }
    files = ("train/", "train.json", "val/", "val.json")
    assert data_description(None, coco=files) == {
        "coco": {"images": "train/", "train": "train.json", "val": "val.json", "val_images": "val/"}
    }
    with pytest.raises(DataError, match="unknown data set 'mnist'"):
        data_description("mnist")
    with pytest.raises(DataError, match="without --data"):
        data_description("", coco=(*files[:3], None))
