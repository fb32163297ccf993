"""Exports: the copy reproduces PyTorch in the runtime it was made for, and a refused export
writes nothing.

Each test runs the exported file itself (onnxruntime, `torch.export.load`) and compares with
the PyTorch module, so the comparison the exporter makes is not what is tested against.
"""

import importlib.util

import pytest
import torch

from archsearch.cli import main
from archsearch.detection import export
from archsearch.detection.export import backbone_maps, export_detector, export_neck
from archsearch.detection.profiles import detector_from_profile
from archsearch.errors import ConfigError
from archsearch.graph import dense
from archsearch.neck import FusionNeck, backbone_shapes
from archsearch.weights import GaussianARD
from tests.detection import TINY

onnxruntime = pytest.importorskip("onnxruntime", reason="the export extra is not installed")

# Sizes unlike the traced one: the copy must not have frozen the image's shape.
SIZES = [(64, 64), (48, 80), (70, 52)]


def _images(seed=0):
    generator = torch.Generator().manual_seed(seed)
    return [torch.rand(3, *size, generator=generator) for size in SIZES]


def _run_onnx(path, inputs):
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {node.name: x.numpy() for node, x in zip(session.get_inputs(), inputs, strict=True)}
    return [torch.from_numpy(array) for array in session.run(None, feed)]


@pytest.mark.parametrize("kind", ["faster_rcnn", "mask_rcnn", "retinanet", "fcos"])
def test_a_detector_exports_to_onnx_and_detects_as_pytorch_at_any_size(kind, tmp_path):
    torch.manual_seed(0)
    model = detector_from_profile(TINY, kind, "dense", num_classes=4).eval()
    # Untrained heads score all anchors alike, and ties sort in any order: spread the
    # scores as a trained detector's are, and compare the 20 best of any score.
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn_like(parameter), alpha=0.05)
    postprocess = getattr(model, "roi_heads", model)
    postprocess.score_thresh, postprocess.detections_per_img = 0.0, 20
    images = _images()
    path = tmp_path / "detector.onnx"
    agreement = export_detector(model, images[:1], path)
    assert agreement.within_tolerance and path.is_file()
    for image in images[1:]:
        with torch.no_grad():
            expected = model([image])[0]
        found = dict(zip(expected, _run_onnx(path, [image]), strict=True))
        assert len(expected["boxes"]) > 0
        # near-tied scores may come out in either order: each detection has its partner
        assert _partnered(expected, found) and _partnered(found, expected)


def _partnered(detections, others):
    """Whether each detection has one in ``others`` of its label, box (1e-3 px) and score
    (1e-4), and the counts are equal."""
    if len(detections["boxes"]) != len(others["boxes"]):
        return False
    boxes = (detections["boxes"][:, None] - others["boxes"][None]).abs().amax(-1) <= 1e-3
    scores = (detections["scores"][:, None] - others["scores"][None]).abs() <= 1e-4
    labels = detections["labels"][:, None] == others["labels"][None]
    return bool((boxes & scores & labels).any(1).all())


def _variational_neck():
    graph = dense()
    weights = GaussianARD(graph.connection_ids, initial_scale=1.0)
    with torch.no_grad():
        weights.mu.uniform_(0.2, 1.5)  # a posterior mean far from any draw's
    torch.manual_seed(1)
    return FusionNeck(graph, [8, 16, 32], 8, weights).eval()


def _maps(neck, size, batch, seed):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(s, generator=generator) for s in backbone_shapes(neck, size, batch)]


@pytest.mark.parametrize(
    "format, traced, checked",
    [
        ("onnx", (64, 64), [((64, 64), 1), ((97, 131), 3)]),
        # torch.export fixes the sizes of a one-pixel top map: traced where P7 is 2×2
        ("pt2", (160, 160), [((160, 160), 1), ((192, 224), 3)]),
    ],
)
def test_a_variational_neck_exports_with_its_posterior_means(format, traced, checked, tmp_path):
    neck = _variational_neck()
    path = tmp_path / f"neck.{format}"
    export_neck(neck, [_maps(neck, traced, 1, seed=0)], path, format)
    program = None if format == "onnx" else torch.export.load(str(path)).module()
    for size, batch in checked:
        maps = _maps(neck, size, batch, seed=2)
        with torch.no_grad():
            expected = list(neck(maps, weights=neck.weights.mean()).values())
            found = _run_onnx(path, maps) if program is None else list(program(maps).values())
        for want, got in zip(expected, found, strict=True):
            torch.testing.assert_close(got, want, atol=1e-4, rtol=1e-4)


def test_a_copy_that_disagrees_is_not_written(tmp_path, monkeypatch):
    neck = _variational_neck()
    monkeypatch.setitem(export.TOLERANCES, "maps", -1.0)  # no copy can be this close
    path = tmp_path / "neck.onnx"
    with pytest.raises(ConfigError, match="the exported copy disagrees with PyTorch"):
        export_neck(neck, [_maps(neck, (64, 64), 1, seed=0)], path)
    assert list(tmp_path.iterdir()) == []


def test_backbone_maps_are_what_the_neck_sees_in_the_detector():
    torch.manual_seed(0)
    model = detector_from_profile(TINY, "faster_rcnn", "dense", num_classes=4).eval()
    image = _images()[1]
    [maps] = backbone_maps(model, [image])
    batch, _ = model.transform([image])
    with torch.no_grad():
        expected = model.backbone(batch.tensors)
        found = model.backbone.neck(maps)
    for want, got in zip(expected.values(), found.values(), strict=True):
        assert torch.equal(want, got)


def test_export_of_a_run(tmp_path, tiny_runs, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "1", "--strategy", "ard"]) == 0
    capsys.readouterr()
    out = tmp_path / "detector.onnx"
    assert main(["export", str(run), "--out", str(out), "--images", "2"]) == 0
    printed = capsys.readouterr().out
    assert "checked on 2 images: largest differences boxes" in printed
    assert f"wrote {out} (" in printed and "ard detector, 63 connections" in printed
    assert main(["export", str(run), "--out", str(tmp_path / "neck.pt2"), "--neck-only"]) == 0
    assert "ard neck, 63 connections" in capsys.readouterr().out


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--out", "{tmp}/d.pt2"], "--format pt2 takes the neck alone (--neck-only)"),
        (["--out", "{tmp}/d.onnx", "--format", "pt2"], "a pt2 export is written to a .pt2 file"),
        (["--out", "{tmp}/d"], "name the file NAME.onnx or NAME.pt2, or pass --format"),
        (["--out", "{tmp}/d.tflite"], "unknown export format 'tflite'; known: onnx, pt2"),
    ],
)
def test_an_export_it_cannot_make_is_one_line_before_any_work(tmp_path, capsys, flags, message):
    flags = [flag.format(tmp=tmp_path) for flag in flags]
    assert main(["export", str(tmp_path / "no-run"), *flags]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_incomplete_run_is_refused_and_nothing_written(tmp_path, tiny_runs, capsys):
    run = tmp_path / "run"
    assert main(["train", "--out", str(run), "--steps", "1"]) == 0
    checkpoint = run / "checkpoint.pt"
    good = checkpoint.read_bytes()
    out = tmp_path / "exports" / "detector.onnx"
    capsys.readouterr()
    for broken, message in [
        (good[: len(good) // 2], "checkpoint.pt: not a readable archsearch checkpoint"),
        (None, "no checkpoint at"),
    ]:
        if broken is None:
            checkpoint.unlink()
        else:
            checkpoint.write_bytes(broken)
        assert main(["export", str(run), "--out", str(out)]) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err, err
        assert not out.parent.exists()


def test_without_the_extra_an_onnx_export_says_what_to_install(monkeypatch):
    found = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name: None if name == "onnxruntime" else found(name)
    )
    with pytest.raises(ConfigError, match=r"pip install 'archsearch\[export\]'"):
        export.check_export("onnx", neck_only=False)
    export.check_export("pt2", neck_only=True)  # torch alone makes and checks a pt2 neck


class _Unexportable(torch.nn.Module):
    """A neck that only eager PyTorch can run: a branch on the values of its input."""

    levels = (3, 4, 5)

    def forward(self, maps):
        return {"P3": maps[0] * 2 if maps[0].sum() > 0 else maps[0]}


def test_a_neck_the_exporter_cannot_follow_is_one_line_and_nothing_written(tmp_path):
    maps = [[torch.randn(1, 2, 4, 4)]]
    with pytest.raises(ConfigError, match="torch.export cannot export this _Unexportable: "):
        export_neck(_Unexportable(), maps, tmp_path / "neck.pt2", "pt2")
    assert list(tmp_path.iterdir()) == []
