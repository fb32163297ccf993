"""BackboneWithFusion inside torchvision's detectors."""

import pytest
import torch
from torchvision.models import resnet18
from torchvision.models.detection import FCOS, FasterRCNN, MaskRCNN, RetinaNet

from archsearch.graph import dense
from archsearch.neck import BackboneWithFusion, detection_kwargs

RETURN_LAYERS = {"layer2": "C3", "layer3": "C4", "layer4": "C5"}


def _targets(masks):
    targets = []
    for height, width in ((97, 131), (120, 96)):
        target = {
            "boxes": torch.tensor([[10.0, 12.0, 60.0, 70.0], [30.0, 5.0, 90.0, 40.0]]),
            "labels": torch.tensor([1, 3]),
        }
        if masks:
            target["masks"] = torch.zeros(2, height, width, dtype=torch.uint8)
            target["masks"][0, 12:70, 10:60] = 1
            target["masks"][1, 5:40, 30:90] = 1
        targets.append(target)
    return targets


@pytest.mark.parametrize("detector, masks", [(FasterRCNN, False), (MaskRCNN, True)])
def test_detector_trains_one_step_and_infers(detector, masks):
    torch.manual_seed(0)
    graph = dense()
    backbone = BackboneWithFusion(resnet18(), RETURN_LAYERS, [128, 256, 512], graph, 32)
    model = detector(
        backbone,
        num_classes=4,
        min_size=96,
        max_size=160,
        **detection_kwargs([3, 4, 5, 6, 7], masks),
    )
    images = [torch.rand(3, 97, 131), torch.rand(3, 120, 96)]
    model.train()
    losses = model(images, _targets(masks))
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    weight_grad = backbone.neck.weights.values.grad
    assert weight_grad is not None and torch.count_nonzero(weight_grad) > 0
    torch.optim.SGD(model.parameters(), lr=0.01).step()
    model.eval()
    with torch.no_grad():
        detections = model(images)
    assert len(detections) == 2
    assert all(d["boxes"].shape[-1] == 4 for d in detections)
    if masks:
        assert all("masks" in d for d in detections)


def test_feature_maps_are_named_as_torchvision_names_them_and_know_their_levels():
    backbone = BackboneWithFusion(resnet18(), RETURN_LAYERS, [128, 256, 512], dense(), 16)
    out = backbone.eval()(torch.rand(1, 3, 64, 64))
    assert list(out) == ["0", "1", "2", "3", "4"]
    assert backbone.levels == [3, 4, 5, 6, 7]
    for name, level in zip(out, backbone.levels, strict=True):
        assert out[name].shape[-1] == -(-64 // 2**level)  # stride 2**level, rounded up
    assert backbone.out_channels == 16


@pytest.mark.parametrize("detector", [FasterRCNN, MaskRCNN, RetinaNet, FCOS])
def test_drops_in_where_backbone_with_fpn_would_with_torchvision_defaults(detector):
    """No anchor generator, no pooler: the detector's own defaults, as with BackboneWithFPN."""
    torch.manual_seed(0)
    backbone = BackboneWithFusion(resnet18(), RETURN_LAYERS, [128, 256, 512], dense(), 32)
    model = detector(backbone, num_classes=4, min_size=96, max_size=160)
    masks = detector is MaskRCNN
    images = [torch.rand(3, 97, 131), torch.rand(3, 120, 96)]
    losses = model.train()(images, _targets(masks))
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    loss.backward()
    assert torch.count_nonzero(backbone.neck.weights.values.grad) > 0
    with torch.no_grad():
        detections = model.eval()(images)
    assert len(detections) == 2 and all(d["boxes"].shape[-1] == 4 for d in detections)
