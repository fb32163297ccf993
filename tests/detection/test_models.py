"""build_detector: heads follow the neck's levels; backbones load from local files only."""

import itertools

import pytest
import torch

from archsearch.detection.models import SmallResNet, TorchvisionFPN, build_backbone, build_detector
from archsearch.detection.profiles import detector_from_profile
from archsearch.detection.train import collate
from archsearch.errors import ConfigError
from archsearch.neck import anchor_sizes, build_neck, level_anchors
from tests.detection import TINY, TinyScenes


@pytest.mark.parametrize("kind", ["faster_rcnn", "mask_rcnn", "retinanet", "fcos"])
def test_every_detector_trains_a_step_and_detects(kind):
    torch.manual_seed(0)
    masks = kind == "mask_rcnn"
    images, targets = collate([TinyScenes(2, masks=masks)[i] for i in range(2)])
    model = detector_from_profile(TINY, kind, "dense", num_classes=4).train()
    loss = sum(model(images, targets).values())
    assert torch.isfinite(loss)
    loss.backward()
    assert model.backbone.neck.weights.values.grad.abs().sum() > 0
    with torch.no_grad():
        detections = model.eval()(images)
    assert len(detections) == 2 and detections[0]["boxes"].shape[-1] == 4
    assert ("masks" in detections[0]) == masks


def test_anchors_and_pooled_maps_follow_the_levels():
    model = detector_from_profile(TINY, "faster_rcnn", "dense", num_classes=4)
    # the maps are named by position, as torchvision's; the backbone says which level each is
    assert model.backbone.levels == [2, 3, 4, 5, 6]
    assert model.roi_heads.box_roi_pool.featmap_names == ["0", "1", "2", "3"]
    sizes = [s[0] for s in model.rpn.anchor_generator.sizes]
    assert sizes[0] == pytest.approx(8.0) and sizes[-1] == pytest.approx(40.0)
    ratios = [b / a for a, b in itertools.pairwise(sizes)]
    assert ratios == pytest.approx([(40 / 8) ** 0.25] * 4, rel=1e-3)
    assert model.rpn.anchor_generator.aspect_ratios == ((1.0,),) * 5


def test_default_anchors_are_four_strides():
    assert level_anchors([3, 4, 5, 6, 7]).sizes == tuple((4.0 * 2**lv,) for lv in range(3, 8))
    assert anchor_sizes([3], 10, 40) == [20.0]


def test_torchvision_fpn_yields_the_same_levels_as_the_fusion_neck():
    body = SmallResNet()
    images = torch.rand(1, 3, 64, 64)
    for levels in ((2, 4), (2, 5), (2, 6)):
        fpn, fusion = (
            TorchvisionFPN(body.out_channels_list, 16, levels),
            build_neck("dense", body.out_channels_list, 16, levels),
        )
        maps = [m.eval()(body(images)) for m in (fpn, fusion)]
        names = [f"P{level}" for level in range(levels[0], levels[1] + 1)]
        assert list(maps[0]) == list(maps[1]) == names
        assert [m.shape for m in maps[0].values()] == [m.shape for m in maps[1].values()]
    with pytest.raises(ConfigError, match="3 levels"):
        TorchvisionFPN(body.out_channels_list, 16, (2, 7))


def test_resnet_bodies_feed_the_lowest_levels():
    for lowest, channels, shape in ((3, [128, 256, 512], 8), (2, [64, 128, 256], 16)):
        body = build_backbone("resnet18", lowest_level=lowest)
        assert body.out_channels_list == channels
        maps = body(torch.rand(1, 3, 64, 64))
        assert [m.shape[1] for m in maps] == channels and maps[0].shape[-1] == shape


def test_backbone_weights_load_from_a_local_file(tmp_path):
    trained = SmallResNet()
    with torch.no_grad():
        trained.stem[0].weight.fill_(0.5)
    torch.save(trained.state_dict(), tmp_path / "small.pt")
    body = build_backbone("small", 2, tmp_path / "small.pt")
    assert torch.equal(body.stem[0].weight, trained.stem[0].weight)
    with pytest.raises(ConfigError, match="does not exist"):
        build_backbone("resnet18", 3, tmp_path / "missing.pt")
    with pytest.raises(ConfigError, match="small.pt: not weights of backbone 'resnet18' \\(key"):
        build_backbone("resnet18", 3, tmp_path / "small.pt")  # another network's weights
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ConfigError, match="junk.pt: not weights of backbone 'small'"):
        build_backbone("small", 2, tmp_path / "junk.pt")


def test_unknown_names_raise_config_errors():
    body = SmallResNet()
    neck = TorchvisionFPN(body.out_channels_list, 16, (2, 6))
    with pytest.raises(ConfigError, match="unknown detector"):
        build_detector("yolo", body, neck, 3)
    with pytest.raises(ConfigError, match="unknown backbone"):
        build_backbone("vgg16")
    with pytest.raises(ConfigError, match="P2 upward"):
        build_backbone("small", 3)


@pytest.mark.parametrize("model", ["resnet18", "efficientnet_b0", "convnext_atto"])
def test_timm_backbones_feed_the_neck_by_their_feature_info(model, tmp_path):
    """Three timm families at random init: channels and strides from timm's feature_info,
    one Faster R-CNN training step with the dense neck; weights from a local file."""
    timm = pytest.importorskip("timm")
    profile = TINY.replace(backbone=f"timm:{model}")
    torch.manual_seed(0)
    detector = detector_from_profile(profile, "faster_rcnn", "dense", num_classes=4).train()
    body = detector.backbone.body
    reference = timm.create_model(model, features_only=True, pretrained=False)
    info = reference.feature_info
    by_stride = dict(zip(info.reduction(), info.channels(), strict=True))
    assert body.strides == [4, 8, 16]  # TINY's P2-P6: C2, C3, C4
    assert body.out_channels_list == [by_stride[s] for s in (4, 8, 16)]
    images, targets = collate([TinyScenes(2)[i] for i in range(2)])
    loss = sum(detector(images, targets).values())
    loss.backward()
    assert torch.isfinite(loss) and detector.backbone.neck.weights.values.grad.abs().sum() > 0
    whole = timm.create_model(model, pretrained=False)  # a whole model's weights, head too
    torch.save(whole.state_dict(), tmp_path / "weights.pt")
    loaded = build_backbone(f"timm:{model}", 2, tmp_path / "weights.pt")
    kept = [v for v in whole.state_dict().values() if v.dim() == 4]  # convolution kernels
    mine = [v for v in loaded.body.state_dict().values() if v.dim() == 4]
    assert all(any(v.shape == w.shape and torch.equal(v, w) for w in kept) for v in mine)


def test_timm_names_and_strides_that_do_not_fit_are_one_error():
    pytest.importorskip("timm")
    with pytest.raises(ConfigError, match="unknown timm model 'resnet_nope'; closest: resnet50_gn"):
        build_backbone("timm:resnet_nope", 3)
    with pytest.raises(ConfigError, match="unknown timm model 'convnext_atom'; closest: "):
        build_backbone("timm:convnext_atom", 3)
    with pytest.raises(ConfigError, match=r"has maps of strides \[4, 8, 16, 32\], not \[2, 4, 8\]"):
        build_backbone("timm:convnext_atto", 1)
