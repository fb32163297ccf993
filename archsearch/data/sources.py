"""A data set described as a mapping: the one form experiment files and `archsearch train` share.

    {"digits": "mixed"}                                        embedded digit scenes
    {"digits": {"layout": "small", "scenes": 600, "seed": 0}}
    {"coco": {"images": DIR, "train": JSON, "val": JSON}}      any COCO-format folder
    {"coco": {..., "val_images": DIR}}                         validation images elsewhere

`train_and_val` turns a description into the two data sets, so both front ends load data
through one function and name the same fields in their errors; `data_description` makes one
from a command line's flags. A digit-scene ``layout`` is one of `archsearch.data.digits`'
`LAYOUTS`, ``scenes`` how many images to generate; ``images`` is always a folder.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from archsearch.data.coco import CocoDetection
from archsearch.data.digits import LAYOUTS, cached_digit_scenes
from archsearch.errors import DataError

DEFAULT_SCENES = 2000
# keys of ``digits`` before issue 22: old -> new
RENAMED_DIGITS_KEYS = {"profile": "layout", "images": "scenes"}


def data_description(
    data: str | None,
    scenes: int = DEFAULT_SCENES,
    seed: int = 0,
    coco: tuple[str | None, str | None, str | None, str | None] = (None, None, None, None),
) -> dict[str, Any]:
    """The description of a data set named as a command line names it: ``digits-<layout>``
    (``scenes`` images from ``seed``), or, with ``data`` empty, the COCO files ``coco``
    (training images, training annotations, validation images, validation annotations)."""
    if data:
        layout = data.removeprefix("digits-")
        if layout == data:
            raise DataError(f"unknown data set {data!r}; use digits-<layout> or COCO files")
        return {"digits": {"layout": layout, "scenes": scenes, "seed": seed}}
    if not all(coco):
        raise DataError("without --data, give --train-images/-annotations and --val-*")
    train_images, train, val_images, val = coco
    return {"coco": {"images": train_images, "train": train, "val": val, "val_images": val_images}}


def train_and_val(
    source: Mapping[str, Any], image_size: int, masks: bool = False, scenes: int | None = None
) -> tuple[CocoDetection, CocoDetection]:
    """Training and validation sets of ``source``; digit scenes of ``image_size`` pixels are
    generated once and cached (`cached_digit_scenes`). ``scenes`` overrides the digit
    scenes' count (an experiment preset's smaller data set)."""
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
    settings = check_digits(source, scenes)
    made = cached_digit_scenes(settings["layout"], settings["scenes"], settings["seed"], image_size)
    return made.train(masks), made.val(masks)


def check_digits(source: Mapping[str, Any], scenes: int | None = None) -> dict[str, Any]:
    """The digit-scene settings of ``source`` with their defaults, each checked: a known
    layout, a positive whole count of scenes (``scenes`` overrides it), a whole seed."""
    if "digits" not in source:
        raise DataError(f"data has neither 'digits' nor 'coco' (got {sorted(source)})")
    settings = digit_settings(source["digits"])
    for old, new in RENAMED_DIGITS_KEYS.items():
        if old in settings:
            raise DataError(f"data.digits: key {old!r} is now called {new!r}")
    if not isinstance(settings.get("layout"), str) or settings["layout"] not in LAYOUTS:
        known = ", ".join(LAYOUTS)
        raise DataError(f"unknown digit-scene layout {settings.get('layout')!r}; known: {known}")
    count = scenes if scenes is not None else settings.get("scenes")
    count = DEFAULT_SCENES if count is None else count
    seed = settings.get("seed", 0)
    for key, value, smallest in (("scenes", count, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < smallest:
            raise DataError(f"data.digits.{key}: {value!r} is not a whole number >= {smallest}")
    return {**settings, "scenes": count, "seed": seed}


def digit_settings(digits: str | Mapping[str, Any]) -> dict[str, Any]:
    """A ``digits`` description as a mapping: ``"mixed"`` is ``{"layout": "mixed"}``."""
    if isinstance(digits, str):
        return {"layout": digits}
    if not isinstance(digits, Mapping):
        raise DataError(f"data.digits: expected a layout name or a mapping, got {digits!r:.40}")
    return dict(digits)
