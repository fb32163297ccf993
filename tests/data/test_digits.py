"""Digit scenes: deterministic, cached, atomic, and faithful to the glyphs."""

import json
import statistics

import pytest

from archsearch.cli import main
from archsearch.data import make_digit_scenes
from archsearch.errors import DataError


def _files(root):
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_scenes(tmp_path):
    a = make_digit_scenes(tmp_path / "a", "small", images=8, seed=1)
    b = make_digit_scenes(tmp_path / "b", "small", images=8, seed=1)
    c = make_digit_scenes(tmp_path / "c", "small", images=8, seed=2)
    assert _files(a.root) == _files(b.root)
    assert _files(a.root)["train.json"] != _files(c.root)["train.json"]


def test_cache_hit_and_conflicting_parameters(tmp_path):
    scenes = make_digit_scenes(tmp_path / "s", "mixed", images=6, seed=0)
    stamp = (scenes.root / "train.json").stat().st_mtime_ns
    assert make_digit_scenes(tmp_path / "s", "mixed", images=6, seed=0).root == scenes.root
    assert (scenes.root / "train.json").stat().st_mtime_ns == stamp
    with pytest.raises(DataError, match="other parameters"):
        make_digit_scenes(tmp_path / "s", "mixed", images=6, seed=1)
    with pytest.raises(DataError, match="unknown digit-scene profile 'huge'"):
        make_digit_scenes(tmp_path / "t", "huge")
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary folder left


def test_profiles_differ_in_object_size(tmp_path):
    medians = {}
    for profile in ("small", "mixed", "large"):
        data = make_digit_scenes(tmp_path / profile, profile, images=15, seed=0).train()
        sides = [max(a["bbox"][2], a["bbox"][3]) for a in data.coco.anns.values()]
        medians[profile] = statistics.median(sides)
    assert medians["small"] < medians["mixed"] < medians["large"]


def test_validation_glyphs_are_unseen_in_training(tmp_path):
    scenes = make_digit_scenes(tmp_path / "s", "small", images=30, seed=0)
    glyphs = {
        split: {
            a["digit_index"]
            for a in json.loads((scenes.root / f"{split}.json").read_text())["annotations"]
        }
        for split in ("train", "val")
    }
    assert glyphs["train"] and glyphs["val"] and not glyphs["train"] & glyphs["val"]


def test_cli_make_and_info(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "make", "--profile", "large", "--images", "5", "--out", str(out)]) == 0
    assert "train: 4 images" in capsys.readouterr().out
    assert main(["data", "info", str(out)]) == 0
    assert "val.json: 1 images" in capsys.readouterr().out
    assert main(["data", "info", str(tmp_path / "missing.json")]) == 2
