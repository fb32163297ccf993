"""A data set described as a mapping: the one form experiment files and `archsearch train` share.

    {"digits": "mixed"}                                        embedded digit scenes
    {"digits": {"profile": "small", "images": 600, "seed": 0}}
    {"coco": {"images": DIR, "train": JSON, "val": JSON}}      any COCO-format folder
    {"coco": {..., "val_images": DIR}}                         validation images elsewhere

`train_and_val` turns a description into the two data sets, so both front ends load data
through one function and name the same fields in their errors; `data_description` makes one
from a command line's flags.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.data.coco import CocoDetection
from archsearch.data.digits import PROFILES, cached_digit_scenes
from archsearch.errors import DataError

DEFAULT_IMAGES = 2000


def data_description(
    data: str | None,
    images: int = DEFAULT_IMAGES,
    seed: int = 0,
    coco: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None),
) -> dict[str, Any]:
    """The description of a data set named as a command line names it: ``digits-<profile>``
    (``images`` scenes from ``seed``), or, with ``data`` empty, the COCO files ``coco``
    (training images, training annotations, validation images, validation annotations)."""
    if data:
        profile = data.removeprefix("digits-")
        if profile == data:
            raise DataError(f"unknown data set {data!r}; use digits-<profile> or COCO files")
        return {"digits": {"profile": profile, "images": images, "seed": seed}}
    if not all(coco):
        raise DataError("without --data, give --train-images/-annotations and --val-*")
    train_images, train, val_images, val = coco
    return {"coco": {"images": train_images, "train": train, "val": val, "val_images": val_images}}


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
    settings = check_digits(source, images)
    scenes = cached_digit_scenes(
        settings["profile"], settings["images"], settings["seed"], image_size
    )
    return scenes.train(masks), scenes.val(masks)


def check_digits(source: Mapping[str, Any], images: int | None = None) -> dict[str, Any]:
    """The digit-scene settings of ``source`` with their defaults, each checked: a known
    profile, a positive whole count of images (``images`` overrides it), a whole seed."""
    if "digits" not in source:
        raise DataError(f"data has neither 'digits' nor 'coco' (got {sorted(source)})")
    settings = digit_settings(source["digits"])
    if not isinstance(settings.get("profile"), str) or settings["profile"] not in PROFILES:
        known = ", ".join(PROFILES)
        raise DataError(f"unknown digit-scene profile {settings.get('profile')!r}; known: {known}")
    count = images if images is not None else settings.get("images")
    count = DEFAULT_IMAGES if count is None else count
    seed = settings.get("seed", 0)
    for key, value, smallest in (("images", count, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise DataError(f"data.digits.{key}: {value!r} is not a whole number >= {smallest}")
    return {**settings, "images": count, "seed": seed}


def digit_settings(digits: str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``digits`` description as a mapping: ``"mixed"`` is ``{"profile": "mixed"}``."""
    if isinstance(digits, str):
        return {"profile": digits}
    if not isinstance(digits, Mapping):
        raise DataError(f"data.digits: expected a profile name or a mapping, got {digits!r:.40}")
    return dict(digits)
