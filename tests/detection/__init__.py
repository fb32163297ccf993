"""Tiny seeded scenes in COCO form, shaped like `archsearch.data.CocoDetection`.

Squares of a class-specific colour on noise: a detector can learn them in a few steps, and
the COCO object is built in memory so no test touches the disk for data. Category ids are
deliberately not 1..K, so the label <-> category mapping is exercised.
"""

from __future__ import annotations

import contextlib
import io

import torch
from pycocotools.coco import COCO
from torch.utils.data import Dataset

from archsearch.detection.profiles import QUICK

CATEGORY_IDS = [7, 11, 20]
COLOURS = torch.tensor([[1.0, 0.1, 0.1], [0.1, 1.0, 0.1], [0.1, 0.1, 1.0]])

# The quick profile shrunk to 64 px images, two images a step and a few steps.
TINY = QUICK.replace(
    min_size=64,
    max_size=64,
    anchor_range=(8.0, 40.0),
    batch_size=2,
    steps=3,
    warmup_steps=1,
    rpn_train=(100, 30),
    rpn_test=(100, 20),
    rois_per_image=32,
)


class TinyScenes(Dataset):
    """``images`` scenes of ``size``² pixels, one or two squares each."""

    def __init__(self, images: int = 4, size: int = 64, masks: bool = False, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.masks = masks
        self.category_ids = CATEGORY_IDS
        self.num_classes = len(CATEGORY_IDS) + 1
        self.image_ids = [100 + index for index in range(images)]
        self.items = [self._scene(i, size, generator) for i in self.image_ids]
        annotations = [a for _, _, anns in self.items for a in anns]
        for number, annotation in enumerate(annotations, start=1):
            annotation["id"] = number
        self.coco = COCO()
        self.coco.dataset = {
            "images": [{"id": i, "width": size, "height": size} for i in self.image_ids],
            "annotations": annotations,
            "categories": [{"id": c, "name": str(c)} for c in CATEGORY_IDS],
        }
        with contextlib.redirect_stdout(io.StringIO()):
            self.coco.createIndex()

    @staticmethod
    def _scene(image_id: int, size: int, generator: torch.Generator):
        image = torch.rand(3, size, size, generator=generator) * 0.3
        annotations = []
        count = int(torch.randint(1, 3, (1,), generator=generator))
        for _ in range(count):
            side = int(torch.randint(12, size // 2, (1,), generator=generator))
            x, y = (int(v) for v in torch.randint(0, size - side, (2,), generator=generator))
            label = int(torch.randint(1, len(CATEGORY_IDS) + 1, (1,), generator=generator))
            image[:, y : y + side, x : x + side] = COLOURS[label - 1].view(3, 1, 1)
            polygon = [x, y, x + side, y, x + side, y + side, x, y + side]
            annotations.append(
                {
                    "image_id": image_id,
                    "category_id": CATEGORY_IDS[label - 1],
                    "bbox": [x, y, side, side],
                    "area": side * side,
                    "iscrowd": 0,
                    "segmentation": [[float(v) for v in polygon]],
                }
            )
        return image_id, image, annotations

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int):
        image_id, image, annotations = self.items[index]
        boxes = torch.tensor([a["bbox"] for a in annotations], dtype=torch.float32)
        boxes[:, 2:] += boxes[:, :2]
        labels = [CATEGORY_IDS.index(a["category_id"]) + 1 for a in annotations]
        target = {"boxes": boxes, "labels": torch.tensor(labels), "image_id": image_id}
        if self.masks:
            masks = torch.zeros(len(annotations), *image.shape[1:], dtype=torch.uint8)
            for mask, box in zip(masks, boxes.int().tolist(), strict=True):
                mask[box[1] : box[3], box[0] : box[2]] = 1
            target["masks"] = masks
        return image.clone(), target
