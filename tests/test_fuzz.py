"""Fuzz: malformed graphs, COCO files and experiment files thrown at the command line.

Each case is a valid document with one random change (a key dropped, a value of another
type put in, the text cut short or some bytes overwritten), seeded so that a failure
reproduces. The command either accepts the file (exit 0; `run` stops at a sentinel where it
would open its study) or refuses it: exit 2, one line on stderr, no traceback, and the
folder exactly as it was.
"""

import contextlib
import hashlib
import json
import random

import pytest
import yaml

from archsearch.cli import main
from archsearch.data import make_digit_scenes
from archsearch.experiment import pipeline
from archsearch.graph import dense, to_dict
from tests.experiment.conftest import TINY

CASES = 100  # per family
ODD_VALUES = [
    "x",
    "",
    -1,
    0,
    2.5,
    10**12,
    None,
    True,
    [],
    {},
    [1, "a"],
    {"a": {"b": [1]}},
    "../../etc/hostname",
    float("nan"),
]


class Sentinel(Exception):
    """Raised in place of opening a study: the file passed every check of `run`."""


def _paths(tree, prefix=()):
    """Every (container, key) pair in a JSON-like tree."""
    items = tree.items() if isinstance(tree, dict) else enumerate(tree)
    for key, value in list(items):
        yield tree, key
        if isinstance(value, dict | list) and value:
            yield from _paths(value, (*prefix, key))


def _mutated(tree, rng) -> str | bytes:
    """``tree`` with one random change, as JSON text (or bytes, for a byte-level change)."""
    tree = json.loads(json.dumps(tree))
    kind = rng.choice(["drop", "odd", "odd", "cut", "bytes"])
    if kind in ("drop", "odd"):
        container, key = rng.choice(list(_paths(tree)))
        if kind == "drop":
            del container[key]
        else:
            container[key] = rng.choice(ODD_VALUES)
        return json.dumps(tree)
    text = json.dumps(tree).encode()
    if kind == "cut":
        return text[: rng.randrange(len(text))]
    spot = rng.randrange(len(text))
    return text[:spot] + bytes(rng.randrange(256) for _ in range(4)) + text[spot + 4 :]


def _checksums(folder):
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        if p.is_file()
        else ""
        for p in sorted(folder.rglob("*"))
    }


def _refused_cleanly_or_accepted(folder, argv, capsys):
    before = _checksums(folder)
    try:
        code = main(argv)
    except Sentinel:
        return
    except SystemExit as exit:  # argparse
        code = exit.code
    err = capsys.readouterr().err.strip()
    assert code in (0, 2), (argv, err)
    if code == 2:
        assert err.count("\n") == 0 and "Traceback" not in err, (argv, err)
        assert _checksums(folder) == before, argv


def _write(path, content):
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("seed", range(CASES))
def test_malformed_graphs(tmp_path, capsys, seed):
    path = tmp_path / "graph.json"
    _write(path, _mutated(to_dict(dense()), random.Random(seed)))
    _refused_cleanly_or_accepted(tmp_path, ["graph", "info", str(path)], capsys)


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    scenes = make_digit_scenes(tmp_path_factory.mktemp("d") / "s", "mixed", scenes=6, seed=0)
    return scenes, json.loads(scenes.train_json.read_text())


@pytest.mark.parametrize("seed", range(CASES))
def test_malformed_coco_files(tmp_path, capsys, coco, seed):
    scenes, data = coco
    path = tmp_path / "train.json"
    _write(path, _mutated(data, random.Random(seed)))
    argv = ["data", "info", str(path), "--images-dir", str(scenes.images_dir)]
    _refused_cleanly_or_accepted(tmp_path, argv, capsys)


@pytest.mark.parametrize("seed", range(CASES))
def test_malformed_experiment_files(tmp_path, capsys, monkeypatch, seed):
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path / "data"))

    def sentinel(*args, **kwargs):
        raise Sentinel

    monkeypatch.setattr(pipeline, "open_study", sentinel)
    content = _mutated(TINY, random.Random(seed))
    if isinstance(content, str):  # as YAML, the form experiment files take
        with contextlib.suppress(ValueError):  # cut short: broken JSON is broken YAML too
            content = yaml.safe_dump(json.loads(content))
    path = tmp_path / "experiment.yaml"
    _write(path, content)
    argv = ["run", str(path), "--preset", "tiny", "--root", str(tmp_path / "runs")]
    _refused_cleanly_or_accepted(tmp_path, argv, capsys)
