"""Profiles: every setting of a run besides the data and the neck, as one dataclass.

``quick`` is engineered for signal per CPU-minute (2 cores, 128 px digit scenes): a high
learning rate at 16 images a step and one sampling point per RoI bin let a dense Faster
R-CNN detect within its 400 steps (what it reaches, and in how long, is measured by
`experiments/benchmarks/quick_profile.py` and reported in ``reports/FINDINGS.md``).
``paper`` follows sec. 4.1 (ResNet-50, P3–P7, 1333×800, two images a step, 15 epochs).
`detector_from_profile` is the one place a profile turns into modules.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from archsearch.detection.models import build_backbone, build_detector
from archsearch.detection.train import TrainConfig
from archsearch.errors import ConfigError
from archsearch.neck import build_neck
from archsearch.weights import ConnectionWeights

# Setting: (int: a whole number >= the bound; float: a number > 0, bound 0; may be None).
# A tuple setting checks each item.
SETTING_RULES: dict[str, tuple[type, float, bool]] = {
    "backbone_widths": (int, 1, False),
    "backbone_depth": (int, 1, False),
    "levels": (int, 0, False),
    "channels": (int, 1, False),
    "min_size": (int, 1, False),
    "max_size": (int, 1, False),
    "anchor_range": (float, 0, True),
    "aspect_ratios": (float, 0, False),
    "canonical_scale": (int, 1, False),
    "roi_sampling": (int, 0, False),
    "rpn_train": (int, 1, False),
    "rpn_test": (int, 1, False),
    "rois_per_image": (int, 1, False),
    "box_head_width": (int, 1, False),
    "mask_head_width": (int, 1, False),
    "steps": (int, 1, True),
    "epochs": (float, 0, True),
    "batch_size": (int, 1, False),
    "base_lr": (float, 0, False),
    "base_batch": (int, 1, False),
    "warmup_steps": (int, 0, False),
    "clip_norm": (float, 0, True),
}


def _in_range(value: Any, whole: bool, smallest: float) -> bool:
    """A finite number, not a bool: whole and >= ``smallest``, or else > ``smallest``."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return False
    return isinstance(value, int) and value >= smallest if whole else value > smallest


@dataclass(frozen=True)
class Profile:
    """Backbone, pyramid, heads and schedule of a run.

    ``steps`` fixes the number of optimizer steps; when None, ``epochs`` over the training
    set does. ``base_lr`` is the learning rate at ``base_batch`` images a step, scaled
    linearly to ``batch_size``.
    """

    name: str
    backbone: str = "resnet50"
    backbone_widths: tuple[int, ...] = (32, 64, 128)
    backbone_depth: int = 1
    backbone_weights: str | None = None
    levels: tuple[int, int] = (3, 7)
    channels: int = 256
    min_size: int = 800
    max_size: int = 1333
    anchor_range: tuple[float, float] | None = None
    aspect_ratios: tuple[float, ...] = (0.5, 1.0, 2.0)
    canonical_scale: int = 224
    roi_sampling: int = 2
    rpn_train: tuple[int, int] = (2000, 2000)
    rpn_test: tuple[int, int] = (1000, 1000)
    rois_per_image: int = 512
    box_head_width: int = 1024
    mask_head_width: int = 256
    steps: int | None = None
    epochs: float | None = 15.0
    batch_size: int = 2
    base_lr: float = 0.02
    base_batch: int = 16
    warmup_steps: int = 500
    schedule: str = "step"
    clip_norm: float | None = None

    def __post_init__(self) -> None:
        """Each setting of the type and range it needs: a bad override fails here, before
        any data is generated or a study is created, with the setting and value named."""
        for name, value in dataclasses.asdict(self).items():
            rule = SETTING_RULES.get(name)
            if rule is None or (value is None and rule[2]):
                continue
            kind, smallest, nullable = rule
            values = value if isinstance(value, tuple) else (value,)
            whole = kind is int
            if not values or not all(_in_range(v, whole, smallest) for v in values):
                what = f"whole number >= {smallest}" if whole else "positive number"
                alternative = " or null" if nullable else ""
                raise ConfigError(
                    f"profile {self.name!r}: {name} {value!r:.40} must be a {what}{alternative}"
                )

    def replace(self, **changes: Any) -> Profile:
        """A copy with ``changes``; unknown names raise `ConfigError` naming them.

        Lists (as YAML writes sequences) become the tuples the fields hold, so that a
        profile read from a file equals, and hashes like, the one built in code.
        """
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise ConfigError(f"profile has no setting {unknown[0]!r}; known: {sorted(known)}")
        changes = {k: tuple(v) if isinstance(v, list) else v for k, v in changes.items()}
        return dataclasses.replace(self, **changes)

    def total_steps(self, train_images: int) -> int:
        if self.steps is not None:
            return self.steps
        if self.epochs is None:
            raise ConfigError(f"profile {self.name!r} sets neither steps nor epochs")
        return max(1, math.ceil(self.epochs * train_images / self.batch_size))

    def train_config(self, train_images: int, **settings: Any) -> TrainConfig:
        """The `TrainConfig` of this profile; ``settings`` add the run's own (seed...)."""
        return TrainConfig(
            steps=self.total_steps(train_images),
            batch_size=self.batch_size,
            base_lr=self.base_lr,
            base_batch=self.base_batch,
            warmup_steps=self.warmup_steps,
            schedule=self.schedule,
            clip_norm=self.clip_norm,
            **settings,
        )

    def detector_kwargs(self) -> dict[str, Any]:
        """Keyword arguments of `build_detector` for the two-stage detectors."""
        return {
            "anchor_range": self.anchor_range,
            "aspect_ratios": self.aspect_ratios,
            "canonical_scale": self.canonical_scale,
            "roi_sampling": self.roi_sampling,
            "box_head_width": self.box_head_width,
            "mask_head_width": self.mask_head_width,
            "min_size": self.min_size,
            "max_size": self.max_size,
            "rpn_pre_nms_top_n_train": self.rpn_train[0],
            "rpn_post_nms_top_n_train": self.rpn_train[1],
            "rpn_pre_nms_top_n_test": self.rpn_test[0],
            "rpn_post_nms_top_n_test": self.rpn_test[1],
            "box_batch_size_per_image": self.rois_per_image,
        }


QUICK = Profile(
    name="quick",
    backbone="small",
    levels=(2, 6),
    channels=64,
    min_size=128,
    max_size=128,
    anchor_range=(12.0, 68.0),
    aspect_ratios=(1.0,),
    rpn_train=(300, 100),
    rpn_test=(200, 50),
    rois_per_image=128,
    box_head_width=256,
    mask_head_width=64,
    roi_sampling=1,
    steps=400,
    epochs=None,
    batch_size=16,
    base_lr=0.12,
    warmup_steps=100,
    schedule="cosine",
    clip_norm=10.0,
)
PAPER = Profile(name="paper")
PROFILES = {profile.name: profile for profile in (QUICK, PAPER)}


def get_profile(name: str) -> Profile:
    """The training profile ``name`` (`QUICK` or `PAPER`); `ConfigError` naming the known ones."""
    if not isinstance(name, str) or name not in PROFILES:
        raise ConfigError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]


def detector_from_profile(
    profile: Profile,
    kind: str,
    neck: str,
    num_classes: int,
    weights: ConnectionWeights | None = None,
) -> nn.Module:
    """The detector ``kind`` with neck ``neck`` (any name `build_neck` knows) of ``profile``."""
    body = build_backbone(
        profile.backbone,
        profile.levels[0],
        Path(profile.backbone_weights) if profile.backbone_weights else None,
        **_backbone_shape(profile),
    )
    module = build_neck(neck, body.out_channels_list, profile.channels, profile.levels, weights)
    kwargs = profile.detector_kwargs()
    if kind in ("retinanet", "fcos"):
        kwargs = {k: kwargs[k] for k in ("anchor_range", "aspect_ratios", "min_size", "max_size")}
    return build_detector(kind, body, module, num_classes, **kwargs)


def _backbone_shape(profile: Profile) -> dict[str, Any]:
    if profile.backbone != "small":
        return {}
    return {"widths": profile.backbone_widths, "depth": profile.backbone_depth}
