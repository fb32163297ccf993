"""Digit scenes: deterministic, cached, atomic, faithful to the glyphs; and the data CLI."""

import json
import statistics

import numpy as np
import pytest
from pycocotools import mask as mask_utils

from archsearch.cli import main
from archsearch.data import digits, make_digit_scenes, scenes_dir
from archsearch.errors import DataError


def _files(root):
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_same_seed_same_bytes_other_seed_other_scenes(tmp_path):
    a = make_digit_scenes(tmp_path / "a", "small", scenes=8, seed=1)
    b = make_digit_scenes(tmp_path / "b", "small", scenes=8, seed=1)
    c = make_digit_scenes(tmp_path / "c", "small", scenes=8, seed=2)
    assert _files(a.root) == _files(b.root)
    assert _files(a.root)["train.json"] != _files(c.root)["train.json"]
    assert _files(a.root)["images/000000.png"] != _files(c.root)["images/000000.png"]


def test_cache_hit_and_conflicting_parameters(tmp_path):
    scenes = make_digit_scenes(tmp_path / "s", "mixed", scenes=6, seed=0)
    stamps = {p: p.stat().st_mtime_ns for p in scenes.root.rglob("*")}
    assert make_digit_scenes(tmp_path / "s", "mixed", scenes=6, seed=0) == scenes
    assert {p: p.stat().st_mtime_ns for p in scenes.root.rglob("*")} == stamps
    with pytest.raises(DataError, match=r"/s: holds digit scenes of other parameters \(seed\)"):
        make_digit_scenes(tmp_path / "s", "mixed", scenes=6, seed=1)
    with pytest.raises(DataError, match="unknown digit-scene layout 'huge'"):
        make_digit_scenes(tmp_path / "t", "huge")
    with pytest.raises(DataError, match="leave a split empty"):
        make_digit_scenes(tmp_path / "t", scenes=1)
    assert [p.name for p in tmp_path.iterdir()] == ["s"]  # no temporary folder left


def test_never_writes_into_a_foreign_folder_but_fills_an_empty_one(tmp_path):
    (tmp_path / "taken").mkdir()
    (tmp_path / "taken" / "notes.txt").write_text("mine")
    with pytest.raises(DataError, match="taken: exists and is not a digit-scene folder"):
        make_digit_scenes(tmp_path / "taken", scenes=4)
    (tmp_path / "empty").mkdir()
    assert make_digit_scenes(tmp_path / "empty", scenes=4).train_json.is_file()


def test_an_interrupted_generation_leaves_nothing(tmp_path, monkeypatch):
    calls = []

    def failing(*args):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real(*args)

    real = digits.render_scene
    monkeypatch.setattr(digits, "render_scene", failing)
    with pytest.raises(KeyboardInterrupt):
        make_digit_scenes(tmp_path / "s", scenes=6)
    assert list(tmp_path.iterdir()) == []


def test_layouts_differ_in_object_size(tmp_path):
    medians = {}
    for layout in ("small", "mixed", "large"):
        data = make_digit_scenes(tmp_path / layout, layout, scenes=15, seed=0).train()
        sides = [max(a["bbox"][2], a["bbox"][3]) for a in data.coco.anns.values()]
        medians[layout] = statistics.median(sides)
    assert medians["small"] < medians["mixed"] < medians["large"]


def test_object_sizes_scale_with_the_image(tmp_path):
    data = make_digit_scenes(tmp_path / "s", "large", scenes=10, image_size=64).train()
    image, target = data[0]
    assert image.shape == (3, 64, 64) and (target["boxes"] <= 64).all()
    assert max(max(a["bbox"][2:]) for a in data.coco.anns.values()) <= 64 * 80 / 128 + 1


def test_masks_are_visible_digits(tmp_path):
    scenes = make_digit_scenes(tmp_path / "s", "mixed", scenes=12, seed=4)
    coco = scenes.train(masks=True).coco
    for image_id in coco.imgs:
        masks = [coco.annToMask(a) for a in coco.imgToAnns[image_id]]
        if masks:  # a later digit hides what it covers, so no pixel belongs to two digits
            assert np.stack(masks).sum(axis=0).max() <= 1
        for annotation, mask in zip(coco.imgToAnns[image_id], masks, strict=True):
            assert mask.sum() == annotation["area"] > 0
            assert list(mask_utils.toBbox(annotation["segmentation"])) == annotation["bbox"]


def test_validation_glyphs_are_unseen_in_training(tmp_path):
    scenes = make_digit_scenes(tmp_path / "s", "small", scenes=30, seed=0)
    glyphs = {
        split: {
            a["digit_index"]
            for a in json.loads((scenes.root / f"{split}.json").read_text())["annotations"]
        }
        for split in ("train", "val")
    }
    assert glyphs["train"] and glyphs["val"] and not glyphs["train"] & glyphs["val"]
    manifest = json.loads(scenes.manifest.read_text())
    assert manifest["profile"] == "small" and manifest["images"] == 30


def test_scenes_dir_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path))
    assert scenes_dir("mixed", 2000, 0) == tmp_path / "digits-mixed-2000-s0-128"


def test_cli_make_and_info(tmp_path, capsys):
    out = tmp_path / "cli"
    assert main(["data", "make", "--layout", "large", "--scenes", "5", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert str(out) in printed and "train: 4 images" in printed and "val: 1 images" in printed
    assert main(["data", "info", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "train.json: 4 images" in printed and "10 categories" in printed
    assert "object side p10/p50/p90" in printed and "small/medium/large" in printed
    assert main(["data", "info", str(out / "val.json")]) == 0
    assert "val.json: 1 images" in capsys.readouterr().out
    assert main(["data", "info", str(tmp_path / "missing.json")]) == 2
    assert "missing.json: no such file" in capsys.readouterr().err
    assert main(["data", "info", str(out / "images")]) == 2
    assert "no COCO annotation JSON" in capsys.readouterr().err


def test_cli_make_defaults_to_the_cache_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path))
    assert main(["data", "make", "--layout", "small", "--scenes", "4", "--seed", "2"]) == 0
    assert (tmp_path / "digits-small-4-s2-128" / "train.json").is_file()
    assert main(["data", "make", "--layout", "small", "--scenes", "5", "--seed", "2"]) == 0


def test_context_scenes_are_deterministic_small_and_labelled_by_their_frame(tmp_path):
    a = make_digit_scenes(tmp_path / "a", "context", scenes=24, seed=3)
    b = make_digit_scenes(tmp_path / "b", "context", scenes=24, seed=3)
    assert _files(a.root) == _files(b.root)
    coco = a.train(masks=True).coco
    assert {c: coco.cats[c]["name"] for c in coco.cats} == {
        1: "in a warm frame",
        2: "in a cool frame",
    }
    layout = digits.LAYOUTS["context"]
    frames, counts = set(), []
    for image_id in coco.imgs:
        annotations = coco.imgToAnns[image_id]
        counts.append(len(annotations))
        categories = {a["category_id"] for a in annotations}
        assert len(categories) <= 1  # the digits of one scene share its frame
        frames |= categories
        for annotation in annotations:
            # small objects only: a glyph's 8 px are scaled to at most the layout's largest size
            assert max(annotation["bbox"][2:]) <= layout.sizes[1] * 10 / 8 + 1
            assert annotation["area"] < 32**2  # COCO's "small"
            mask = coco.annToMask(annotation)
            assert mask.sum() == annotation["area"] > 0
    assert frames == {1, 2}  # both frames occur
    assert max(counts) <= layout.objects[1] and sum(counts) / len(counts) >= layout.objects[0] - 1
