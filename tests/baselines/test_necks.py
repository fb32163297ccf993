"""Every baseline neck, graph or module: shapes, gradients, and a Faster R-CNN training step."""

import pytest
import torch
from torchvision.models import resnet18
from torchvision.models._utils import IntermediateLayerGetter
from torchvision.models.detection import FasterRCNN

from archsearch.neck import BackboneWithNeck, backbone_shapes, build_neck, detection_kwargs

NECKS = ["fpn", "panet", "bifpn", "nasfpn", "hrfpn", "pconv", "dense"]
IN_CHANNELS = [8, 16, 32]
RETURN_LAYERS = {"layer2": "C3", "layer3": "C4", "layer4": "C5"}


def _stride2(size):
    """Size after a 3×3 stride-2 conv with padding 1 (how the laterals make P6, P7)."""
    return (size + 1) // 2


@pytest.mark.parametrize("name", NECKS)
@pytest.mark.parametrize("levels", [(3, 7), (2, 6)])
def test_forward_and_backward_at_two_sizes(name, levels):
    torch.manual_seed(0)
    neck = build_neck(name, IN_CHANNELS, 8, levels)
    assert neck.out_channels == 8 and list(neck.levels) == list(range(levels[0], levels[1] + 1))
    for height, width in ((64, 64), (97, 131)):
        features = [torch.randn(shape) for shape in backbone_shapes(neck, (height, width), 2)]
        out = neck(features)
        assert list(out) == [f"P{level}" for level in neck.levels]
        expected = [(-(-height // 2**lv), -(-width // 2**lv)) for lv in neck.levels[:3]]
        for _ in neck.levels[3:]:
            expected.append(tuple(_stride2(side) for side in expected[-1]))
        assert [tuple(v.shape) for v in out.values()] == [(2, 8, *hw) for hw in expected]
        neck.zero_grad()
        sum(v.square().mean() for v in out.values()).backward()
        grads = [p.grad for p in neck.parameters()]
        assert all(g is not None and torch.isfinite(g).all() for g in grads)
        assert sum(int(torch.count_nonzero(g)) for g in grads) > 0


@pytest.mark.parametrize("name", NECKS)
def test_faster_rcnn_trains_one_step(name):
    torch.manual_seed(0)
    neck = build_neck(name, [128, 256, 512], 16)
    model = FasterRCNN(
        BackboneWithNeck(IntermediateLayerGetter(resnet18(), RETURN_LAYERS), neck),
        num_classes=3,
        min_size=64,
        max_size=96,
        **detection_kwargs(list(neck.levels)),
    )
    images = [torch.rand(3, 97, 131), torch.rand(3, 80, 64)]
    targets = [
        {"boxes": torch.tensor([[10.0, 12.0, 60.0, 70.0]]), "labels": torch.tensor([1])},
        {"boxes": torch.tensor([[5.0, 5.0, 40.0, 50.0]]), "labels": torch.tensor([2])},
    ]
    losses = model.train()(images, targets)
    loss = sum(losses.values())
    assert torch.isfinite(loss)
    before = [p.detach().clone() for p in neck.parameters()]
    loss.backward()
    torch.optim.SGD(model.parameters(), lr=0.01).step()
    assert any(not torch.equal(b, p) for b, p in zip(before, neck.parameters(), strict=True))
