"""Data: COCO-format detection data sets and the embedded digit-scene default."""

from archsearch.data.coco import CocoDetection, collate, load_annotations
from archsearch.data.digits import (
    DigitScenes,
    cached_digit_scenes,
    default_data_dir,
    make_digit_scenes,
    scenes_dir,
)
from archsearch.data.scenes import ContextLayout, SceneLayout
from archsearch.data.sources import data_description, train_and_val

__all__ = [
    "CocoDetection",
    "ContextLayout",
    "DigitScenes",
    "SceneLayout",
    "cached_digit_scenes",
    "collate",
    "data_description",
    "default_data_dir",
    "load_annotations",
    "make_digit_scenes",
    "scenes_dir",
    "train_and_val",
]
