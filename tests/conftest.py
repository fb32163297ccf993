"""Fixtures shared across test folders."""

import pytest

from archsearch.detection import profiles
from archsearch.experiment import engine
from tests.detection import TINY, TinyScenes


@pytest.fixture
def tiny_runs(monkeypatch):
    """The tiny profile under the name "quick", and tiny scenes in place of the data layer."""
    monkeypatch.setitem(profiles.PROFILES, "quick", TINY)
    monkeypatch.setattr(engine, "datasets", lambda run, size: (TinyScenes(4), TinyScenes(2)))
