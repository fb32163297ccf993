"""A tiny experiment whose runs train a miniature detector in about a second.

The miniature profile (16 channels, 64 px, few proposals) keeps each trial cheap on two
CPU cores; the digit scenes are generated once per session. Worker subprocesses use one
thread each, so that two of them do not oversubscribe the cores.
"""

import copy
from pathlib import Path

import pytest
import torch
import yaml

MINIATURE = {
    "steps": 10,
    "batch_size": 2,
    "warmup_steps": 1,
    "channels": 16,
    "backbone_widths": [8, 16, 32],
    "box_head_width": 32,
    "rois_per_image": 32,
    "rpn_train": [50, 20],
    "rpn_test": [50, 10],
    "min_size": 64,
    "max_size": 64,
}
TINY = {
    "name": "tiny",
    "detectors": ["faster_rcnn"],
    "data": {"digits": {"layout": "mixed"}},
    "runs": [{"strategy": "dense"}, {"strategy": "lasso", "params": {"target": 9}}],
    "presets": {
        "tiny": {"profile": "quick", "scenes": 10, "seeds": [0], "overrides": MINIATURE},
    },
}


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture
def experiment(tmp_path, monkeypatch, data_dir):
    """Write the tiny experiment (``steps`` overrides the miniature profile's 10)."""
    monkeypatch.setenv("ARCHSEARCH_DATA", str(data_dir))
    monkeypatch.setenv("OMP_NUM_THREADS", "1")

    def write(steps: int = 10, **changes) -> Path:
        config = copy.deepcopy({**TINY, **changes})
        config["presets"]["tiny"]["overrides"] = {**MINIATURE, "steps": steps}
        path = tmp_path / f"{config['name']}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return write


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread: on two shared cores, more threads only wait for each other."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
