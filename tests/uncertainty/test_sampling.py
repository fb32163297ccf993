"""Sampled inference: the batched pass (body once) equals K separate full passes."""

import pytest
import torch

from archsearch.detection.profiles import detector_from_profile
from archsearch.errors import ConfigError
from archsearch.strategies import strategy_runner
from archsearch.uncertainty import detections_per_pass, draw_weights, sampled_detections
from tests.detection import TINY
from tests.uncertainty.conftest import FAMILIES, variational_detector


def table(detections: dict) -> torch.Tensor:
    """Rows (label, box, score) in a fixed order: ties in score may order them either way."""
    rows = torch.cat(
        [detections["labels"][:, None].float(), detections["boxes"], detections["scores"][:, None]],
        dim=1,
    )
    order = sorted(range(len(rows)), key=lambda i: rows[i].tolist())
    return rows[order]


def assert_same(a: dict, b: dict) -> None:
    assert len(a["boxes"]) == len(b["boxes"])
    torch.testing.assert_close(table(a), table(b), atol=1e-4, rtol=1e-5)


@pytest.mark.parametrize(
    ("family", "kind"),
    [(family, "faster_rcnn") for family in sorted(FAMILIES)]
    + [("ard", "retinanet"), ("ard", "fcos")],
)
def test_batched_equals_one_pass_per_sample(family, kind, scenes):
    model = variational_detector(family, kind=kind)
    images = [scenes[i][0] for i in range(2)]
    weights = draw_weights(model.backbone.neck.weights, 3, seed=1)
    batched = sampled_detections(model, images, weights)
    naive = detections_per_pass(model, images, weights)
    assert len(batched) == 2 and all(len(sets) == 3 for sets in batched)
    for image_sets, reference_sets in zip(batched, naive, strict=True):
        for sampled, reference in zip(image_sets, reference_sets, strict=True):
            assert_same(sampled, reference)
    # the samples are distinct networks, so a mix-up of samples would be caught
    assert any(not torch.allclose(table(sets[0]), table(sets[1]), atol=1e-3) for sets in batched)


def test_mean_weights_as_a_sample_give_the_plain_forward(scenes):
    model = variational_detector("ard")
    images = [scenes[i][0] for i in range(2)]
    mean = model.backbone.neck.weights.mean().detach()[None]
    batched = sampled_detections(model, images, mean)
    with torch.no_grad():
        plain = model(images)  # eval mode: the weight scaling rule, eq. 18
    for sets, output in zip(batched, plain, strict=True):
        assert_same(sets[0], output)


def test_draws_are_seeded_and_leave_torch_rng_alone():
    weights = variational_detector("ard").backbone.neck.weights
    torch.manual_seed(5)
    expected_next = torch.rand(3)
    torch.manual_seed(5)
    first = draw_weights(weights, 4, seed=2)
    assert torch.equal(torch.rand(3), expected_next)
    assert torch.equal(first, draw_weights(weights, 4, seed=2))
    assert first.shape == (4, len(weights)) and not torch.equal(first[0], first[1])
    with pytest.raises(ConfigError, match="at least 1"):
        draw_weights(weights, 0)


@pytest.mark.parametrize("strategy", ["dense", "lasso"])
def test_deterministic_strategy_cannot_be_sampled(strategy, scenes):
    weights = strategy_runner(strategy, {}, "dense", TINY.levels, 10, 4).make_weights()
    model = detector_from_profile(TINY, "faster_rcnn", "dense", 4, weights)
    from archsearch.uncertainty import variational_weights

    with pytest.raises(ConfigError) as error:
        variational_weights(model, strategy)
    message = str(error.value)
    assert f"strategy {strategy!r}" in message and "DeterministicWeights" in message
    assert "ard" in message and "fullard" in message  # what to train with instead
    with pytest.raises(ConfigError, match="deterministic weights"):
        sampled_detections(model, [scenes[0][0]], torch.ones(2, len(weights)))


def test_weight_samples_must_match_the_connections(scenes):
    model = variational_detector("ard")
    with pytest.raises(ConfigError, match=r"must be \[K, 63\]"):
        sampled_detections(model, [scenes[0][0]], torch.ones(2, 5))


def test_module_neck_has_nothing_to_sample(scenes):
    model = detector_from_profile(TINY, "faster_rcnn", "pconv", 4)
    with pytest.raises(ConfigError, match="no fusion graph"):
        sampled_detections(model, [scenes[0][0]], torch.ones(2, 3))
