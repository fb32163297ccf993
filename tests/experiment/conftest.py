"""A tiny experiment: two or four runs of a few steps on a dozen digit scenes."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

TINY = {
    "name": "tiny",
    "detectors": ["faster_rcnn"],
    "data": {"digits": {"layout": "mixed"}},
    "runs": [{"strategy": "dense"}, {"strategy": "random", "params": {"target": 9}}],
    "presets": {
        "tiny": {
            "profile": "quick",
            "scenes": 10,
            "seeds": [0],
            "overrides": {"steps": 3, "batch_size": 2, "warmup_steps": 1},
        },
    },
}


@pytest.fixture
def experiment(tmp_path, monkeypatch):
    """Write the tiny experiment; data and runs go under ``tmp_path``."""
    monkeypatch.setenv("ARCHSEARCH_DATA", str(tmp_path / "data"))

    def write(**changes) -> Path:
        config = {**TINY, **changes}
        path = tmp_path / f"{config['name']}.yaml"
        path.write_text(yaml.safe_dump(config))
        return path

    return write


def archsearch(*args: str, cwd: Path, env: dict | None = None, **kwargs) -> subprocess.Popen:
    """The CLI in a subprocess (a worker), its stderr captured; ``env`` adds variables."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "archsearch", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )
