"""Config errors are reported before any training, naming the file and key."""

import dataclasses
from pathlib import Path

import pytest
import yaml

from archsearch.errors import ConfigError
from archsearch.experiment import engine
from archsearch.experiment.config import expand_runs, load_experiment
from tests.experiment.conftest import TINY


def _runs(write, **changes):
    return expand_runs(load_experiment(write(**changes)), "tiny")


def test_runs_expand_over_detectors_and_seeds(experiment):
    runs = _runs(experiment, detectors=["faster_rcnn", "mask_rcnn"])
    assert len(runs) == 4
    assert len({r.id for r in runs}) == 4
    assert {r.strategy for r in runs} == {"dense", "random"}


def test_a_preset_names_its_own_detectors(experiment):
    """Table 4's Mask R-CNN section runs one seed where the Faster R-CNN one runs three."""
    presets = {
        "tiny": {**TINY["presets"]["tiny"], "seeds": [0, 1]},
        "tiny-mask": {**TINY["presets"]["tiny"], "detectors": ["mask_rcnn"]},
    }
    config = load_experiment(experiment(presets=presets))
    assert {(r.detector, r.seed) for r in expand_runs(config, "tiny")} == {
        ("faster_rcnn", 0),
        ("faster_rcnn", 1),
    }
    assert {(r.detector, r.seed) for r in expand_runs(config, "tiny-mask")} == {("mask_rcnn", 0)}
    presets["tiny"]["detectors"] = [3]
    with pytest.raises(ConfigError, match=r"presets.tiny.detectors: every item must be a string"):
        expand_runs(load_experiment(experiment(presets=presets)), "tiny")


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"runz": []}, "unknown key 'runz'"),
        ({"runs": [{"strategy": "nope"}]}, r"runs\[0\]: unknown strategy 'nope'"),
        ({"runs": [{"neck": "nope"}]}, r"runs\[0\]: unknown neck 'nope'"),
        ({"runs": [{"strategy": "ard", "params": {"kl": 1}}]}, "no hyper-parameter 'kl'"),
        ({"runs": [{"stratgy": "ard"}]}, r"runs\[0\]: unknown key 'stratgy'"),
        ({"runs": [{"neck": "pconv", "strategy": "ard"}]}, "only strategy 'dense' applies"),
        ({"detectors": ["yolo"]}, "unknown detector 'yolo'"),
        (
            {"runs": [{"strategy": "taylor", "params": {"target": 64}}]},
            r"runs\[0\]: target 64 is outside what graph 'dense' allows: 5 to 63 connections",
        ),
        (
            {"runs": [{"strategy": "random", "params": {"target": 4}}]},
            r"runs\[0\]: target 4 is outside what graph 'dense' allows: 5 to 63",
        ),
        (
            {"data": {"coco": {"images": "/no/such", "train": "/x", "val": "/y"}}},
            "data.coco.images '/no/such' does not exist",
        ),
        # experiment files written before issue 22's renames: one line naming the new key
        ({"profiles": TINY["presets"]}, "key 'profiles' is now called 'presets'"),
        (
            {"presets": {"tiny": {**TINY["presets"]["tiny"], "train": "quick"}}},
            r"presets.tiny: key 'train' is now called 'profile'",
        ),
        (
            {"presets": {"tiny": {"profile": "quick", "images": 10}}},
            r"presets.tiny: key 'images' is now called 'scenes'",
        ),
        (
            {"data": {"digits": {"profile": "mixed", "images": 10}}},
            r"data.digits: key 'profile' is now called 'layout'",
        ),
    ],
)
def test_config_errors_name_the_key(experiment, changes, message):
    with pytest.raises(ConfigError, match=message):
        _runs(experiment, **changes)


def test_unknown_preset_and_missing_file(experiment, tmp_path):
    with pytest.raises(ConfigError, match="no preset 'paper'; known: tiny"):
        expand_runs(load_experiment(experiment()), "paper")
    with pytest.raises(ConfigError, match="missing.yaml: no such file"):
        load_experiment(tmp_path / "missing.yaml")


SHIPPED = sorted((Path(__file__).parents[2] / "experiments").glob("*.yaml"))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_experiment_expands_on_the_cpu_presets(path):
    """Each file's demo and quick sections pass every check `archsearch run` makes first."""
    config = load_experiment(path)
    for preset in set(config["presets"]) & {"demo", "quick"}:
        runs = expand_runs(config, preset)
        assert runs and len({run.id for run in runs}) == len(runs)


def test_a_run_folder_saved_before_the_renames_opens_under_todays_names(experiment, tmp_path):
    (run,) = expand_runs(load_experiment(experiment(runs=[{"strategy": "dense"}])), "tiny")
    old = {
        ("profile" if k == "preset" else "train" if k == "profile" else k): v
        for k, v in run.to_dict().items()
    }
    old["images"] = old.pop("scenes")
    old["data"] = {"digits": {"profile": "mixed", "images": 10}}
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / engine.SPEC).write_text(yaml.safe_dump(old))
    loaded = engine.load_spec(tmp_path / "old")
    assert loaded == dataclasses.replace(run, data={"digits": {"layout": "mixed", "scenes": 10}})
    (tmp_path / "new").mkdir()
    engine.save_spec(run, tmp_path / "new")  # today's spec reads back as it is
    assert engine.load_spec(tmp_path / "new") == run
