"""Profiles: changes by name, checked, with YAML's lists read as the fields' tuples."""

import math

import pytest
import torch
import yaml
from torchvision.models import resnet50

from archsearch.detection.evaluate import evaluate
from archsearch.detection.profiles import PAPER, QUICK, detector_from_profile
from archsearch.detection.train import Trainer
from archsearch.errors import ConfigError
from tests.detection import TinyScenes


def test_a_profile_changed_from_yaml_equals_the_one_changed_in_code():
    text = "levels: [3, 7]\nanchor_range: [8.0, 40.0]\nchannels: 32\n"
    from_yaml = QUICK.replace(**yaml.safe_load(text))
    in_code = QUICK.replace(levels=(3, 7), anchor_range=(8.0, 40.0), channels=32)
    assert from_yaml == in_code and hash(from_yaml) == hash(in_code)
    assert from_yaml != QUICK


def test_an_unknown_setting_is_named():
    with pytest.raises(ConfigError, match="profile has no setting 'chanels'"):
        QUICK.replace(chanels=8)


def test_the_paper_profile_trains_two_steps_and_evaluates(tmp_path):
    """The paper's detector (ResNet-50, P3-P7, 256 channels, its anchors and heads) at a
    small image size, its backbone weights from a local file: two steps and an evaluation."""
    reference = resnet50()
    torch.save(reference.state_dict(), tmp_path / "resnet50.pt")
    profile = PAPER.replace(
        backbone_weights=str(tmp_path / "resnet50.pt"),
        min_size=128,
        max_size=128,
        steps=2,
        warmup_steps=1,
        batch_size=2,
        rpn_train=(200, 100),
        rpn_test=(100, 50),
        rois_per_image=64,
    )
    torch.manual_seed(0)
    model = detector_from_profile(profile, "faster_rcnn", "dense", num_classes=4)
    backbone = model.backbone.body.body
    assert torch.equal(backbone.layer4[2].conv3.weight, reference.layer4[2].conv3.weight)
    assert model.backbone.neck.graph.levels == (3, 7) and model.backbone.neck.out_channels == 256
    config = profile.train_config(4, seed=0)
    records = Trainer(model, TinyScenes(4, size=128), config, progress=False).fit()
    assert [r["step"] for r in records] == [1, 2]
    assert all(math.isfinite(r["loss"]) for r in records)
    result = evaluate(model, TinyScenes(2, size=128))
    assert 0.0 <= result.metrics["bbox"]["AP"] <= 1.0
