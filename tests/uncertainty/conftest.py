"""A tiny Faster R-CNN whose dense neck has variational weights, and its scenes."""

import pytest
import torch

from archsearch.detection.profiles import detector_from_profile
from archsearch.graph import build_graph
from archsearch.weights import FullARD, GaussianARD, Laplace
from tests.detection import TINY, TinyScenes

FAMILIES = {"ard": GaussianARD, "fullard": FullARD, "laplace": Laplace}


def variational_detector(
    family: str = "ard", seed: int = 0, kind: str = "faster_rcnn"
) -> torch.nn.Module:
    """Untrained, seeded; q(w) at its initialisation (mean 1, unit spread), so the sampled
    fusion networks differ visibly. One-stage detectors keep every score: untrained, they
    would otherwise detect nothing."""
    torch.manual_seed(seed)
    graph = build_graph("dense", TINY.levels)
    weights = FAMILIES[family](graph.connection_ids)
    model = detector_from_profile(TINY, kind, "dense", 4, weights).eval()
    if kind in ("retinanet", "fcos"):
        model.score_thresh = 0.0
    return model


@pytest.fixture(scope="module")
def scenes() -> TinyScenes:
    return TinyScenes(4)
