"""A data set described as a mapping: the one form experiment files and `archsearch train` share.

    {"digits": "mixed"}                                        embedded digit scenes
    {"digits": {"profile": "small", "images": 600, "seed": 0}}
    {"coco": {"images": DIR, "train": JSON, "val": JSON}}      any COCO-format folder
    {"coco": {..., "val_images": DIR}}                         validation images elsewhere

`train_and_val` turns a description into the two data sets, so both front ends load data
through one function and name the same fields in their errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.data.coco import CocoDetection
from archsearch.data.digits import cached_digit_scenes
from archsearch.errors import DataError

DEFAULT_IMAGES = 2000


def train_and_val(
    source: Mapping[str, Any], image_size: int, masks: bool = False, images: int | None = None
) -> tuple[CocoDetection, CocoDetection]:
    """Training and validation sets of ``source``; digit scenes of ``image_size`` pixels are
    generated once and cached (`cached_digit_scenes`). ``images`` overrides the scenes'
    count (an experiment profile's smaller data set)."""
    if "coco" in source:
        coco = source["coco"]
        missing = [key for key in ("images", "train", "val") if not coco.get(key)]
        if missing:
            raise DataError(f"data.coco has no {missing[0]!r}")
        val_images = coco.get("val_images") or coco["images"]
        return (
            CocoDetection(Path(coco["images"]), Path(coco["train"]), masks),
            CocoDetection(Path(val_images), Path(coco["val"]), masks),
        )
    if "digits" not in source:
        raise DataError(f"data has neither 'digits' nor 'coco' (got {sorted(source)})")
    settings = digit_settings(source["digits"])
    scenes = cached_digit_scenes(
        settings["profile"],
        images or settings.get("images") or DEFAULT_IMAGES,
        settings.get("seed", 0),
        image_size,
    )
    return scenes.train(masks), scenes.val(masks)


def digit_settings(digits: str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``digits`` description as a mapping: ``"mixed"`` is ``{"profile": "mixed"}``."""
    return {"profile": digits} if isinstance(digits, str) else dict(digits)
