"""Export a trained detector, or its neck alone, and check the copy against PyTorch.

The copy is only written once it reproduces PyTorch on the images it is checked on, so a
file that exists is one whose outputs were compared. A variational neck exports with its
posterior means (eq. 18): the detector is exported in eval mode, where its weight object
returns E_q[w].

ONNX goes through torch's TorchScript-based exporter, the path torchvision tests its
detectors on, at opset `OPSET`. torch.export (and the dynamo-based ONNX exporter built on it)
stops at the data-dependent shapes of torchvision's proposal filtering and NMS
(pytorch/pytorch#146152), so a whole detector exports to ONNX only; a neck has no
data-dependent shape and exports both ways.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import math
import warnings
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from archsearch.errors import ConfigError
from archsearch.io import atomic_write

FORMATS = ("onnx", "pt2")
OPSET = 17
# How far the copy may stray from PyTorch: boxes in pixels, scores and masks as
# probabilities, neck maps relative to the map's largest magnitude.
TOLERANCES = {"boxes": 1e-3, "scores": 1e-4, "masks": 1e-3, "maps": 1e-4}

Outputs = list[torch.Tensor]
Runner = Callable[[Sequence[torch.Tensor]], Outputs]


@dataclass(frozen=True)
class Agreement:
    """How the exported copy's outputs compare with PyTorch's over ``images`` images.

    ``errors`` holds the largest difference per output kind (see `TOLERANCES`);
    ``mismatches`` says where the copy disagrees in kind, not in degree (a different number
    of detections, a different label).
    """

    images: int
    errors: dict[str, float]
    mismatches: tuple[str, ...]

    @property
    def within_tolerance(self) -> bool:
        tolerated = all(self.errors[name] <= TOLERANCES[name] for name in self.errors)
        return tolerated and not self.mismatches

    def lines(self) -> list[str]:
        worst = ", ".join(
            f"{name} {error:.2e} (≤ {TOLERANCES[name]:.0e})" for name, error in self.errors.items()
        )
        lines = [f"checked on {self.images} images: largest differences {worst}"]
        return lines + list(self.mismatches)


def export_detector(
    model: nn.Module, images: Sequence[torch.Tensor], path: Path, format: str = "onnx"
) -> Agreement:
    """Write ``model`` (a torchvision detector) to ``path`` as ONNX; one image in, the
    detections out (``boxes``, ``labels``, ``scores``, and ``masks`` for Mask R-CNN, in the
    input image's pixels), any image size.

    ``images`` are traced with (the first) and checked on (all). Nothing is written unless
    the copy agrees with PyTorch within `TOLERANCES`.
    """
    check_export(format, neck_only=False)
    model = model.eval()
    with torch.no_grad():
        names = list(model([images[0]])[0])

    def reference(inputs: Sequence[torch.Tensor]) -> Outputs:
        with torch.no_grad():
            detections = model(list(inputs))[0]
        return [detections[name] for name in names]

    def write(tmp: Path) -> Agreement:
        dynamic = {"image": {1: "height", 2: "width"}} | {name: {0: "detections"} for name in names}
        _onnx_export(model, ([images[0]],), tmp, ["image"], names, dynamic)
        agreement = _detections_agreement(reference, _onnx_runner(tmp), images, names)
        _refuse_unless_within(agreement)
        return agreement

    return _write(path, write)


def export_neck(
    neck: nn.Module, maps: Sequence[Sequence[torch.Tensor]], path: Path, format: str = "onnx"
) -> Agreement:
    """Write ``neck`` to ``path``: the backbone's maps in (``C3``, ``C4``... lowest stride
    first), the pyramid out (``P3``...). An ONNX neck takes any batch and size; a pt2 one
    any batch, and any size whose top map is at least 2×2 when traced on such sizes (where
    the traced top map is one pixel, torch.export fixes the sizes it was traced on).

    ``maps`` holds the backbone's maps of a few images (`backbone_maps`): traced with the
    first, checked on all. Nothing is written unless the copy agrees with PyTorch.
    """
    check_export(format, neck_only=True)
    neck = neck.eval()
    inputs = [f"C{level}" for level in neck.levels[: len(maps[0])]]
    outputs = [f"P{level}" for level in neck.levels]

    def reference(features: Sequence[torch.Tensor]) -> Outputs:
        with torch.no_grad():
            return list(neck(list(features)).values())

    def write(tmp: Path) -> Agreement:
        if format == "onnx":
            axes = {0: "batch", 2: "height", 3: "width"}
            dynamic = {name: axes for name in inputs} | {name: axes for name in outputs}
            _onnx_export(neck, (list(maps[0]),), tmp, inputs, outputs, dynamic)
            copy = _onnx_runner(tmp)
        else:
            _export_program(neck, maps[0], tmp)
            copy = _program_runner(tmp)
        agreement = _maps_agreement(reference, copy, maps)
        _refuse_unless_within(agreement)
        return agreement

    return _write(path, write)


def backbone_maps(model: nn.Module, images: Sequence[torch.Tensor]) -> list[list[torch.Tensor]]:
    """The backbone maps the neck of ``model`` sees for each image, after the detector's own
    resizing and normalization."""
    model = model.eval()
    maps = []
    with torch.no_grad():
        for image in images:
            batch, _ = model.transform([image])
            maps.append(list(model.backbone.body(batch.tensors)))
    return maps


def check_export(format: str, neck_only: bool) -> None:
    """Refuse, before any work, an export this module cannot make or check."""
    if format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}; known: {', '.join(FORMATS)}")
    if format == "pt2" and not neck_only:
        raise ConfigError(
            "--format pt2 takes the neck alone (--neck-only): torch.export cannot follow "
            "torchvision's data-dependent NMS (pytorch/pytorch#146152); export the whole "
            "detector with --format onnx"
        )
    needed = ("onnx", "onnxruntime")
    if format == "onnx" and not all(importlib.util.find_spec(name) for name in needed):
        raise ConfigError(
            "an ONNX export needs onnx and onnxruntime: pip install 'archsearch[export]'"
        )


def _write(path: Path, write: Callable[[Path], Agreement]) -> Agreement:
    result: list[Agreement] = []
    atomic_write(path, lambda tmp: result.append(write(tmp)))
    return result[0]


def _refuse_unless_within(agreement: Agreement) -> None:
    if not agreement.within_tolerance:
        raise ConfigError(
            f"the exported copy disagrees with PyTorch: {'; '.join(agreement.lines())}"
        )


def _onnx_export(
    module: nn.Module,
    args: tuple,
    path: Path,
    inputs: list[str],
    outputs: list[str],
    dynamic: dict[str, dict[int, str]],
) -> None:
    with _quiet(), _exporter_errors(module, "ONNX"):
        torch.onnx.export(
            module,
            args,
            str(path),
            opset_version=OPSET,
            input_names=inputs,
            output_names=outputs,
            dynamic_axes=dynamic,
            dynamo=False,
        )


def _export_program(neck: nn.Module, maps: Sequence[torch.Tensor], path: Path) -> None:
    # Traced on a batch of two, or torch.export takes the batch for a constant 1; sizes
    # torch.export finds fixed (a top map of one pixel) stay fixed, the others are free.
    pair = [torch.cat([m, m]) for m in maps]
    auto = torch.export.Dim.AUTO
    shapes = [{0: auto, 2: auto, 3: auto} for _ in pair]
    with _quiet(), torch.no_grad(), _exporter_errors(neck, "torch.export"):
        program = torch.export.export(neck, (pair,), dynamic_shapes=(shapes,), strict=False)
    torch.export.save(program, str(path))


def _onnx_runner(path: Path) -> Runner:
    import onnxruntime  # an optional extra, present by `check_export`

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [node.name for node in session.get_inputs()]

    def run(inputs: Sequence[torch.Tensor]) -> Outputs:
        feed = {name: tensor.numpy() for name, tensor in zip(names, inputs, strict=True)}
        return [torch.from_numpy(array) for array in session.run(None, feed)]

    return run


def _program_runner(path: Path) -> Runner:
    module = torch.export.load(str(path)).module()

    def run(inputs: Sequence[torch.Tensor]) -> Outputs:
        with torch.no_grad():
            return list(module(list(inputs)).values())

    return run


def _detections_agreement(
    reference: Runner, copy: Runner, images: Sequence[torch.Tensor], names: list[str]
) -> Agreement:
    errors = {name: 0.0 for name in names if name in TOLERANCES}
    mismatches = []
    for index, image in enumerate(images):
        expected = dict(zip(names, reference([image]), strict=True))
        found = dict(zip(names, copy([image]), strict=True))
        counts = len(expected["boxes"]), len(found["boxes"])
        if counts[0] != counts[1]:
            mismatches.append(
                f"image {index}: {counts[0]} detections in PyTorch, {counts[1]} in the copy"
            )
            continue
        if not counts[0]:
            continue
        order = _pairing(expected, found)
        if order is None:
            mismatches.append(f"image {index}: a detection without its label and score in the copy")
            continue
        for name in errors:
            difference = expected[name].double() - found[name][order].double()
            errors[name] = max(errors[name], difference.abs().max().item())
    return Agreement(len(images), errors, tuple(mismatches))


def _pairing(expected: dict[str, torch.Tensor], found: dict[str, torch.Tensor]) -> list[int] | None:
    """For each PyTorch detection, the copy's detection it is: the nearest box of the same
    label among those of a score within tolerance; None where a detection finds none.

    Detections whose scores tie to float precision come out in either order, so they are
    paired by content rather than by position.
    """
    labels = expected["labels"][:, None] == found["labels"].to(expected["labels"].dtype)[None]
    scores = (expected["scores"][:, None] - found["scores"][None]).abs() <= TOLERANCES["scores"]
    distance = torch.cdist(expected["boxes"].double(), found["boxes"].double(), p=float("inf"))
    distance[~(labels & scores)] = float("inf")
    order: list[int] = []
    for row in distance:
        row[order] = float("inf")
        best = int(row.argmin())
        if not math.isfinite(row[best].item()):
            return None
        order.append(best)
    return order


def _maps_agreement(
    reference: Runner, copy: Runner, maps: Sequence[Sequence[torch.Tensor]]
) -> Agreement:
    error = 0.0
    for features in maps:
        for want, got in zip(reference(features), copy(features), strict=True):
            scale = max(1.0, want.abs().max().item())
            error = max(error, (want.double() - got.double()).abs().max().item() / scale)
    return Agreement(len(maps), {"maps": error}, ())


@contextlib.contextmanager
def _exporter_errors(module: nn.Module, exporter: str) -> Iterator[None]:
    """An exporter's failure as one line naming the module and the exporter's own reason:
    a detector or neck of a kind the exporter cannot follow is a limit, not a crash."""
    try:
        yield
    except Exception as error:  # the exporters raise many types, from torch and onnx alike
        reason = next((line for line in str(error).splitlines() if line.strip()), "")
        kind = type(module).__name__
        raise ConfigError(f"{exporter} cannot export this {kind}: {reason[:300]}") from error


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The exporters' warnings and progress are about torch's internals, not the user's run."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        yield
