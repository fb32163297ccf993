"""Detection harness: torchvision detectors over any neck, their training, COCO evaluation and
export, in the manner of `torchvision.models.detection`.

`detector_from_profile` builds a detector of a training profile (`QUICK` for the CPU,
`PAPER` for the GPU) around any neck `archsearch.neck.build_neck` knows; `build_detector`
does the same around a backbone and neck of your own. `Trainer` trains one with a pruning
strategy's runner, `evaluate` scores it with pycocotools, `export_detector` and `export_neck`
write it for an inference runtime.
"""

from archsearch.detection.evaluate import Evaluation, evaluate
from archsearch.detection.export import export_detector, export_neck
from archsearch.detection.models import DETECTORS, build_backbone, build_detector
from archsearch.detection.profiles import (
    PAPER,
    QUICK,
    Profile,
    detector_from_profile,
    get_profile,
)
from archsearch.detection.train import TrainConfig, Trainer

__all__ = [
    "DETECTORS",
    "PAPER",
    "QUICK",
    "Evaluation",
    "Profile",
    "TrainConfig",
    "Trainer",
    "build_backbone",
    "build_detector",
    "detector_from_profile",
    "evaluate",
    "export_detector",
    "export_neck",
    "get_profile",
]
