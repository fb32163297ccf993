"""A COCO-format detection data set: an images folder and an annotation JSON.

The one path every data set takes: COCO itself, PlantDoc or Uno Cards exported in COCO
format, and the embedded digit scenes. The JSON is checked on load, so a bad file fails at
once with the file, the annotation id and the field at fault, not as a shape error deep in
training. Evaluation reads the same file through pycocotools (`CocoDetection.coco`).
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from pycocotools.coco import COCO
from torch.utils.data import Dataset

from archsearch.errors import DataError

BOX_TOLERANCE = 1.0  # pixels a box may overhang its image (rounding in exporters)


def load_annotations(path: Path) -> dict[str, Any]:
    """The annotation JSON at ``path``, with its top-level keys checked."""
    try:
        data = json.loads(Path(path).read_text())
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such annotation file") from error
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not JSON ({error})") from error
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DataError(f"{path}: missing top-level list {key!r}")
    return data


def validate(data: dict[str, Any], path: Path, images_dir: Path) -> None:
    """Raise `DataError` naming the file and the image or annotation at fault."""
    images = {}
    for image in data["images"]:
        for key in ("id", "file_name", "width", "height"):
            if key not in image:
                raise DataError(f"{path}: image {image.get('id', '?')} has no {key!r}")
        if not (images_dir / image["file_name"]).is_file():
            raise DataError(
                f"{path}: image {image['id']}: missing file {images_dir / image['file_name']}"
            )
        images[image["id"]] = image
    categories = {category["id"] for category in data["categories"]}
    for annotation in data["annotations"]:
        where = f"{path}: annotation {annotation.get('id', '?')}"
        for key in ("id", "image_id", "category_id", "bbox"):
            if key not in annotation:
                raise DataError(f"{where} has no {key!r}")
        if annotation["category_id"] not in categories:
            raise DataError(f"{where}: unknown category {annotation['category_id']}")
        image = images.get(annotation["image_id"])
        if image is None:
            raise DataError(f"{where}: unknown image {annotation['image_id']}")
        x, y, w, h = annotation["bbox"]
        if w <= 0 or h <= 0:
            raise DataError(f"{where}: box {annotation['bbox']} has non-positive size")
        inside = (
            x >= -BOX_TOLERANCE
            and y >= -BOX_TOLERANCE
            and x + w <= image["width"] + BOX_TOLERANCE
            and y + h <= image["height"] + BOX_TOLERANCE
        )
        if not inside:
            size = f"{image['width']}x{image['height']}"
            raise DataError(f"{where}: box {annotation['bbox']} lies outside its {size} image")


class CocoDetection(Dataset):
    """``(image, target)`` pairs as torchvision's detectors take them.

    ``image``: float32 ``[3, H, W]`` in [0, 1]. ``target``: ``boxes`` (xyxy, float32),
    ``labels`` (int64, contiguous 1..K in the order of the sorted category ids; 0 is
    background), ``image_id``, ``area``, ``iscrowd`` and, with ``masks=True``, ``masks``
    (uint8 ``[N, H, W]``). Crowd annotations are left out of training targets.
    """

    def __init__(self, images_dir: str | Path, annotation_file: str | Path, masks: bool = False):
        self.images_dir, self.annotation_file = Path(images_dir), Path(annotation_file)
        self.masks = masks
        data = load_annotations(self.annotation_file)
        validate(data, self.annotation_file, self.images_dir)
        with contextlib.redirect_stdout(io.StringIO()):  # pycocotools prints as it indexes
            self.coco = COCO()
            self.coco.dataset = data
            self.coco.createIndex()
        self.image_ids = sorted(self.coco.imgs)
        self.category_ids = sorted(self.coco.cats)
        self._label = {c: i + 1 for i, c in enumerate(self.category_ids)}

    @property
    def num_classes(self) -> int:
        """Categories plus background, as torchvision's ``num_classes`` counts them."""
        return len(self.category_ids) + 1

    def __len__(self) -> int:
        return len(self.image_ids)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        image_id = self.image_ids[index]
        info = self.coco.imgs[image_id]
        with Image.open(self.images_dir / info["file_name"]) as file:
            pixels = np.asarray(file.convert("RGB"), dtype=np.float32) / 255.0
        image = torch.from_numpy(pixels).permute(2, 0, 1).contiguous()
        annotations = [a for a in self.coco.imgToAnns.get(image_id, []) if not a.get("iscrowd", 0)]
        boxes = torch.tensor([a["bbox"] for a in annotations], dtype=torch.float32).view(-1, 4)
        boxes[:, 2:] += boxes[:, :2]
        target = {
            "boxes": boxes,
            "labels": torch.tensor(
                [self._label[a["category_id"]] for a in annotations], dtype=torch.int64
            ),
            "image_id": image_id,
            "area": torch.tensor([float(a.get("area", 0.0)) for a in annotations]),
            "iscrowd": torch.zeros(len(annotations), dtype=torch.int64),
        }
        if self.masks:
            stacked = [self.coco.annToMask(a) for a in annotations]
            shape = (0, info["height"], info["width"])
            target["masks"] = torch.from_numpy(
                np.stack(stacked) if stacked else np.zeros(shape, np.uint8)
            )
        return image, target
