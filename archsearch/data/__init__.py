"""Data: COCO-format detection data sets and the embedded digit-scene default."""

from archsearch.data.coco import CocoDetection, load_annotations
from archsearch.data.digits import (
    PROFILES,
    DigitScenes,
    ScaleProfile,
    default_data_dir,
    make_digit_scenes,
    scenes_dir,
)

__all__ = [
    "PROFILES",
    "CocoDetection",
    "DigitScenes",
    "ScaleProfile",
    "default_data_dir",
    "load_annotations",
    "make_digit_scenes",
    "scenes_dir",
]
