"""Sampled inference: K fusion networks drawn from q(w), the backbone run once (sec. 4.2.1).

A variational neck is a distribution over fusion networks: each draw of the connection
weights w is one network. The backbone body and the neck's laterals do not depend on w, so
`sampled_detections` computes them once per image and runs only the graph part of the neck
and the detector's heads K times, as one batched pass over K·B images (the neck accepts a
``[K, C]`` weight batch, sample-major). `detections_per_pass` is the plain reference: one
full forward pass per weight vector.

Works for every torchvision detector `build_detector` makes: they all call
``self.backbone(images.tensors)`` once and run their heads per image, so a stand-in backbone
that repeats its maps K times turns a batch of K copies of B images into K detection sets.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch
from torch import nn

from archsearch.errors import ConfigError
from archsearch.neck import FusionNeck
from archsearch.neck.backbone import by_position
from archsearch.strategies import strategy_entries
from archsearch.strategies.variational import VariationalPruning
from archsearch.weights import DeterministicWeights, VariationalWeights

Detections = dict[str, torch.Tensor]


def variational_weights(model: nn.Module, strategy: str | None = None) -> VariationalWeights:
    """The variational weight object of ``model``'s neck; `ConfigError` if it has none.

    ``strategy``, the name of the strategy the model was trained with, goes into the message:
    a deterministic strategy (dense, lasso, taylor...) leaves fixed weights, no distribution.
    """
    neck = getattr(getattr(model, "backbone", None), "neck", None)
    trained = f"strategy {strategy!r}" if strategy else "its strategy"
    if not isinstance(neck, FusionNeck):
        kind = type(neck).__name__
        raise ConfigError(f"neck {kind} is no fusion graph: it has no connection weights to sample")
    if not isinstance(neck.weights, VariationalWeights):
        known = ", ".join(variational_strategies())
        raise ConfigError(
            f"cannot sample fusion networks: {trained} gives the neck deterministic weights "
            f"({type(neck.weights).__name__}), not a distribution; train with a variational "
            f"strategy ({known})"
        )
    return neck.weights


def variational_strategies() -> list[str]:
    """Names of the registered strategies whose weights are a distribution (ard, fullard...)."""
    return sorted(e.name for e in strategy_entries() if issubclass(e.obj, VariationalPruning))


def draw_weights(weights: VariationalWeights, samples: int, seed: int = 0) -> torch.Tensor:
    """``samples`` draws of w as ``[samples, C]``, from ``seed``; torch's RNG is left as it was."""
    if samples < 1:
        raise ConfigError(f"samples must be at least 1, got {samples}")
    device = weights.mean().device
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        return weights.sample(samples)


class _SampledBackbone(nn.Module):
    """Stands in for `BackboneWithNeck` (its maps named alike): body and laterals once, the
    fusion K times.

    Called on K sample-major copies of B images, it runs the body on the first B only, then
    fuses the repeated maps with one weight vector per copy.
    """

    def __init__(self, backbone: nn.Module, weights: torch.Tensor) -> None:
        super().__init__()
        self.body, self.neck = backbone.body, backbone.neck
        self.out_channels = backbone.out_channels
        self.samples = weights

    def forward(self, tensors: torch.Tensor) -> dict[str, torch.Tensor]:
        count = len(self.samples)
        images = tensors[: tensors.shape[0] // count]
        inputs = self.neck.laterals(self.body(images))
        repeated = [x.repeat(count, *([1] * (x.dim() - 1))) for x in inputs]
        return by_position(self.neck.fuse(repeated, self.samples))


@contextmanager
def _swapped(owner: nn.Module, name: str, module: nn.Module) -> Iterator[None]:
    """``owner.name`` replaced by ``module`` inside the block, restored however it exits."""
    original = getattr(owner, name)
    setattr(owner, name, module)
    try:
        yield
    finally:
        setattr(owner, name, original)


@torch.no_grad()
def sampled_detections(
    model: nn.Module, images: Sequence[torch.Tensor], weights: torch.Tensor
) -> list[list[Detections]]:
    """Detections of each of the K fusion networks ``weights`` (``[K, C]``) on ``images``.

    Returns, per image, its K detection sets (torchvision's output dicts), in sample order.
    One batched pass: the body once on the B images, the fusion and heads on K·B.
    """
    count = len(variational_weights(model))
    if weights.dim() != 2 or weights.shape[1] != count:
        shape = tuple(weights.shape)
        raise ConfigError(
            f"weight samples must be [K, {count}] (the neck's connections), got {shape}"
        )
    model.eval()
    batch = len(images)
    with _swapped(model, "backbone", _SampledBackbone(model.backbone, weights)):
        outputs = model(list(images) * len(weights))
    return [[outputs[k * batch + i] for k in range(len(weights))] for i in range(batch)]


@torch.no_grad()
def detections_per_pass(
    model: nn.Module, images: Sequence[torch.Tensor], weights: torch.Tensor
) -> list[list[Detections]]:
    """As `sampled_detections`, by K full forward passes, each with one fixed weight vector.

    The reference the batched pass must match, and the naive cost it must beat.
    """
    connection_ids = variational_weights(model).connection_ids
    model.eval()
    per_sample = []
    for vector in weights:
        fixed = DeterministicWeights(connection_ids, vector).to(vector.device)
        with _swapped(model.backbone.neck, "weights", fixed):
            per_sample.append(model(list(images)))
    return [[outputs[i] for outputs in per_sample] for i in range(len(images))]


def box_detections(detections: Detections) -> Detections:
    """``boxes``, ``scores`` and ``labels`` on the CPU: what merging and decoding read."""
    return {name: detections[name].cpu() for name in ("boxes", "scores", "labels")}
