"""`archsearch data make|info`: generate the embedded default, inspect any COCO folder."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from archsearch.cli import whole
from archsearch.data import CocoDetection, make_digit_scenes, scenes_dir
from archsearch.data.digits import LAYOUTS
from archsearch.errors import DataError

COCO_AREAS = (32**2, 96**2)  # COCO's small / medium / large thresholds, in pixels²


def register(subcommands: argparse._SubParsersAction) -> None:
    data = subcommands.add_parser("data", help="generate and inspect data sets")
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)

    make = actions.add_parser("make", help="generate digit scenes in COCO format")
    make.add_argument(
        "--layout", choices=list(LAYOUTS), default="mixed", help="what the scenes hold"
    )
    make.add_argument("--scenes", type=whole(1), default=2000, help="images to generate")
    make.add_argument("--seed", type=whole(0), default=0)
    make.add_argument("--image-size", type=whole(1), default=128)
    make.add_argument("--out", type=Path, help="default: the cache folder under $ARCHSEARCH_DATA")
    make.set_defaults(func=_make)

    info = actions.add_parser(
        "info", help="check a COCO folder or JSON (entries, image files); counts and sizes"
    )
    info.add_argument("path", type=Path, help="a folder with train.json/val.json, or a JSON")
    info.add_argument("--images-dir", type=Path, help="default: images/ beside the JSON")
    info.set_defaults(func=_info)


def _make(args: argparse.Namespace) -> None:
    out = args.out or scenes_dir(args.layout, args.scenes, args.seed, args.image_size)
    made = make_digit_scenes(out, args.layout, args.scenes, args.seed, args.image_size)
    print(made.root)
    for name, split in (("train", made.train()), ("val", made.val())):
        print(f"  {name}: {len(split)} images, {len(split.coco.anns)} annotations")


def _info(args: argparse.Namespace) -> None:
    for file in _annotation_files(args.path):
        dataset = CocoDetection(args.images_dir or file.parent / "images", file)
        dataset.verify_images()
        annotations = dataset.coco.anns.values()
        print(
            f"{file}: {len(dataset)} images, {len(annotations)} annotations, "
            f"{dataset.num_classes - 1} categories"
        )
        if annotations:
            for line in _size_lines([a["bbox"] for a in annotations]):
                print(f"  {line}")


def _annotation_files(path: Path) -> list[Path]:
    """``path`` itself, or a folder's train.json and val.json (else every JSON but the manifest)."""
    if not path.is_dir():
        return [path]
    splits = [path / name for name in ("train.json", "val.json") if (path / name).is_file()]
    files = splits or sorted(p for p in path.glob("*.json") if p.name != "manifest.json")
    if not files:
        raise DataError(f"{path}: no COCO annotation JSON in this folder")
    return files


def _size_lines(boxes: list[list[float]]) -> list[str]:
    """Object sizes: side (√area of the box) percentiles, and COCO's small/medium/large shares."""
    areas = np.array([w * h for _, _, w, h in boxes], dtype=np.float64)
    percentiles = np.percentile(np.sqrt(areas), [10, 50, 90])
    small, large = COCO_AREAS
    shares = [(areas < small).mean(), ((areas >= small) & (areas < large)).mean()]
    shares.append(1 - sum(shares))
    return [
        "object side p10/p50/p90: " + "/".join(f"{v:.1f}" for v in percentiles) + " px",
        "small/medium/large: " + "/".join(f"{100 * s:.0f}%" for s in shares),
    ]
