"""A COCO-format detection data set: an images folder and an annotation JSON.

The one path every data set takes: COCO itself, PlantDoc or Uno Cards exported in COCO
format, and the embedded digit scenes. The JSON is checked on load, so a bad file fails at
once naming the file and the image, annotation or key at fault, not as a shape error deep in
training. Evaluation reads the same annotations through pycocotools (`CocoDetection.coco`).
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Sequence
from numbers import Real
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pycocotools.coco import COCO
from torch.utils.data import Dataset

from archsearch.errors import DataError
from archsearch.io import read_json

BOX_TOLERANCE = 1.0  # pixels a box may overhang its image (rounding in exporters)
IMAGE_KEYS = ("id", "file_name", "width", "height")
ANNOTATION_KEYS = ("id", "image_id", "category_id", "bbox")

Target = dict[str, Any]


def load_annotations(path: Path) -> dict[str, Any]:
    """The annotation JSON at ``path``, with its top-level keys checked."""
    data = read_json(path, DataError)
    if not isinstance(data, dict):
        raise DataError(f"{path}: expected a JSON object with images, annotations, categories")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{path}: missing top-level list {key!r}")
    return data


def validate(data: dict[str, Any], path: Path, root_images: Path, masks: bool = False) -> None:
    """Raise `DataError` naming ``path`` and the image, annotation or key at fault."""
    images = _check_images(data["images"], path, root_images)
    categories = set()
    for category in data["categories"]:
        if not isinstance(category, dict) or "id" not in category:
            raise DataError(f"{path}: category {category!r:.60} has no 'id'")
        _check_id(category["id"], f"{path}: category", "id")
        categories.add(category["id"])
    seen = set()
    for annotation in data["annotations"]:
        if not isinstance(annotation, dict):
            raise DataError(f"{path}: annotation entry {annotation!r} is not an object")
        where = f"{path}: annotation {annotation.get('id', '?')}"
        for key in ANNOTATION_KEYS:
            if key not in annotation:
                raise DataError(f"{where} has no {key!r}")
        for key in ("id", "image_id", "category_id"):
            _check_id(annotation[key], where, key)
        if annotation["id"] in seen:  # pycocotools would silently keep only the last one
            raise DataError(f"{where}: duplicate annotation id")
        seen.add(annotation["id"])
        if annotation["category_id"] not in categories:
            raise DataError(f"{where}: unknown category id {annotation['category_id']}")
        image = images.get(annotation["image_id"])
        if image is None:
            raise DataError(f"{where}: unknown image id {annotation['image_id']}")
        _check_box(annotation["bbox"], image, where)
        if masks and not annotation.get("iscrowd") and "segmentation" not in annotation:
            raise DataError(f"{where} has no 'segmentation', and masks were asked for")
        if "segmentation" in annotation:  # evaluation decodes it even without masks
            _check_segmentation(annotation["segmentation"], where)


def _check_id(value: Any, where: str, key: str) -> None:
    """COCO ids are integers (pycocotools indexes by them; a list or dict is unhashable)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise DataError(f"{where}: {key!r} {value!r:.40} is not an integer")


def _check_segmentation(segmentation: Any, where: str) -> None:
    """Polygons (lists of an even number, at least 6, of coordinates) or an RLE object."""
    if isinstance(segmentation, dict):
        if not {"counts", "size"} <= segmentation.keys():
            raise DataError(f"{where}: RLE 'segmentation' needs 'counts' and 'size'")
        return
    polygons_ok = isinstance(segmentation, list) and all(
        isinstance(polygon, list)
        and len(polygon) >= 6
        and len(polygon) % 2 == 0
        and all(isinstance(v, Real) and not isinstance(v, bool) for v in polygon)
        for polygon in segmentation
    )
    if not polygons_ok or not segmentation:
        raise DataError(f"{where}: 'segmentation' is neither polygons [[x, y, ...]] nor RLE")


def _check_images(entries: list, path: Path, root_images: Path) -> dict[Any, dict]:
    """The image entries by id, each with its keys and its file present."""
    images = {}
    for image in entries:
        if not isinstance(image, dict):
            raise DataError(f"{path}: image entry {image!r} is not an object")
        for key in IMAGE_KEYS:
            if key not in image:
                raise DataError(f"{path}: image {image.get('id', '?')} has no {key!r}")
        _check_id(image["id"], f"{path}: image", "id")
        where = f"{path}: image {image['id']}"
        if image["id"] in images:
            raise DataError(f"{where}: duplicate image id")
        for key in ("width", "height"):
            value = image[key]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise DataError(f"{where}: {key!r} {value!r:.40} is not a positive integer")
        name = image["file_name"]
        if not isinstance(name, str) or not name:
            raise DataError(f"{where}: 'file_name' {name!r:.40} is not a file name")
        file = root_images / name
        if Path(name).is_absolute() or not file.resolve().is_relative_to(root_images.resolve()):
            raise DataError(f"{where}: 'file_name' {name!r} leaves the image folder {root_images}")
        if not file.is_file():
            raise DataError(f"{where}: missing image file {file}")
        if file.stat().st_size == 0:
            raise DataError(f"{where}: image file {file} is empty")
        images[image["id"]] = image
    return images


def _check_box(box: Any, image: dict, where: str) -> None:
    """A box ``[x, y, w, h]`` of positive size inside its image, up to `BOX_TOLERANCE`."""
    if not (isinstance(box, list) and len(box) == 4 and all(isinstance(v, Real) for v in box)):
        raise DataError(f"{where}: 'bbox' {box!r} is not [x, y, width, height]")
    x, y, w, h = box
    if w <= 0 or h <= 0:
        raise DataError(f"{where}: box {box} has non-positive width or height")
    inside = (
        x >= -BOX_TOLERANCE
        and y >= -BOX_TOLERANCE
        and x + w <= image["width"] + BOX_TOLERANCE
        and y + h <= image["height"] + BOX_TOLERANCE
    )
    if not inside:
        size = f"{image['width']}x{image['height']}"
        raise DataError(f"{where}: box {box} lies outside its {size} image {image['id']}")


class CocoDetection(Dataset):
    """``(image, target)`` pairs as torchvision's detection models take them.

    ``image``: float32 ``[3, H, W]`` in [0, 1]. ``target``: ``boxes`` (float32 ``[N, 4]``,
    xyxy), ``labels`` (int64, contiguous 1..K in the order of the sorted category ids; 0 is
    background), ``image_id`` (int), ``area`` (float32), ``iscrowd`` (int64) and, with
    ``masks=True``, ``masks`` (uint8 ``[N, H, W]``). Crowd annotations are left out of the
    targets (they stay in `coco`, where evaluation uses them).
    """

    def __init__(self, root_images: str | Path, annotation_file: str | Path, masks: bool = False):
        self.root_images, self.annotation_file = Path(root_images), Path(annotation_file)
        self.masks = masks
        data = load_annotations(self.annotation_file)
        validate(data, self.annotation_file, self.root_images, masks)
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it indexes
            self._coco = COCO()
            self._coco.dataset = data
            self._coco.createIndex()
        self._image_ids = sorted(self._coco.imgs)
        self._category_ids = sorted(self._coco.cats)
        self._label = {category: i + 1 for i, category in enumerate(self._category_ids)}

    @property
    def coco(self) -> COCO:
        """The pycocotools index of the annotation file, for evaluation."""
        return self._coco

    @property
    def image_ids(self) -> list[int]:
        """COCO image ids in item order."""
        return self._image_ids

    @property
    def category_ids(self) -> list[int]:
        """Sorted COCO category ids: label ``i`` is ``category_ids[i - 1]``."""
        return self._category_ids

    @property
    def num_classes(self) -> int:
        """Categories plus background, as torchvision's ``num_classes`` counts them."""
        return len(self._category_ids) + 1

    def __len__(self) -> int:
        return len(self._image_ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, Target]:
        image_id = self._image_ids[index]
        info = self._coco.imgs[image_id]
        image = self._read_image(info)
        annotations = [a for a in self._coco.imgToAnns.get(image_id, []) if not a.get("iscrowd")]
        boxes = torch.tensor([a["bbox"] for a in annotations], dtype=torch.float32).view(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        labels = [self._label[a["category_id"]] for a in annotations]
        areas = [float(a.get("area", a["bbox"][2] * a["bbox"][3])) for a in annotations]
        target: Target = {
            "boxes": boxes,
            "labels": torch.tensor(labels, dtype=torch.int64),
            "image_id": image_id,
            "area": torch.tensor(areas, dtype=torch.float32),
            "iscrowd": torch.zeros(len(annotations), dtype=torch.int64),
        }
        if self.masks:
            shape = (len(annotations), info["height"], info["width"])
            stacked = np.zeros(shape, dtype=np.uint8)
            for slot, annotation in enumerate(annotations):
                stacked[slot] = self._coco.annToMask(annotation)
            target["masks"] = torch.from_numpy(stacked)
        return image, target

    def verify_images(self) -> None:
        """Check that every image file is a whole image (PIL's ``verify``: headers and
        checksums, without decoding the pixels); `DataError` naming the first that is not."""
        for image_id in self._image_ids:
            file = self.root_images / self._coco.imgs[image_id]["file_name"]
            try:
                with Image.open(file) as opened:
                    opened.verify()
            except (OSError, SyntaxError, Image.DecompressionBombError) as error:
                raise DataError(f"{file}: not a whole image ({error})") from None

    def _read_image(self, info: dict) -> torch.Tensor:
        """The image file as float32 ``[3, H, W]``, checked against its declared size."""
        file = self.root_images / info["file_name"]
        try:
            with Image.open(file) as opened:
                pixels = np.asarray(opened.convert("RGB"), dtype=np.float32) / 255.0
        except (OSError, Image.DecompressionBombError) as error:  # PIL's unreadable images
            raise DataError(f"{file}: cannot read image ({error})") from error
        if pixels.shape[:2] != (info["height"], info["width"]):
            raise DataError(
                f"{self.annotation_file}: image {info['id']} is declared "
                f"{info['width']}x{info['height']} but {file} is "
                f"{pixels.shape[1]}x{pixels.shape[0]}"
            )
        return torch.from_numpy(pixels).permute(2, 0, 1).contiguous()


def collate(batch: Sequence[tuple[torch.Tensor, Target]]) -> tuple[list, list]:
    """Batch detection items as lists: images differ in size and targets in object count."""
    images, targets = zip(*batch, strict=True) if batch else ((), ())
    return list(images), list(targets)
