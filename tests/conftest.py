"""Fixtures shared across test folders."""

import pytest

from archsearch.cli import train as cli_train
from archsearch.detection import profiles
from tests.detection import TINY, TinyScenes


@pytest.fixture
def tiny_runs(monkeypatch):
    """The tiny profile under the name "quick", and tiny scenes in place of the data layer."""
    monkeypatch.setitem(profiles.PROFILES, "quick", TINY)
    monkeypatch.setattr(cli_train, "datasets", lambda run, size: (TinyScenes(4), TinyScenes(2)))
