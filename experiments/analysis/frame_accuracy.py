"""How well a `context` run tells its digits' frames apart, on the ground-truth boxes.

On the context digit scenes a digit's category is its frame's colour, which only the deep
pyramid levels see. Giving the box head each ground-truth box as its proposal and taking
the likelier of the two categories separates the two parts of a detector's AP: finding
the digits (the RPN and the boxes) and telling their frame (the features pooled for
them). A neck that cannot see the frame scores 0.5, the share of the likelier frame at
best; one that sees it, up to 1:

    python -m experiments.analysis.frame_accuracy runs/<study>/<run id> [...]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch import nn

from archsearch.cli.train import load_run
from archsearch.data import CocoDetection


@torch.no_grad()
def frame_accuracy(model: nn.Module, dataset: CocoDetection) -> float:
    """The share of ground-truth objects whose category the box head ranks first among the
    object categories, each box given as its own proposal (background left out)."""
    model.eval()
    right = total = 0
    for index in range(len(dataset)):
        image, target = dataset[index]
        if not len(target["boxes"]):
            continue
        images, _ = model.transform([image])
        scale = images.image_sizes[0][0] / image.shape[-2]  # the transform's resize
        features = model.backbone(images.tensors)
        heads = model.roi_heads
        pooled = heads.box_roi_pool(features, [target["boxes"] * scale], images.image_sizes)
        logits, _ = heads.box_predictor(heads.box_head(pooled))
        right += int((logits[:, 1:].argmax(-1) + 1 == target["labels"]).sum())
        total += len(target["labels"])
    return right / total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders on the context scenes")
    for run_dir in parser.parse_args().runs:
        _, model, val_set, _ = load_run(run_dir)
        print(f"{run_dir.name}: frame accuracy {frame_accuracy(model, val_set):.3f}")


if __name__ == "__main__":
    main()
