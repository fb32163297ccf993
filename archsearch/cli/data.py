"""`archsearch data make|info`: generate the embedded default, inspect any COCO folder."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from archsearch.data import PROFILES, CocoDetection, make_digit_scenes


def register(subcommands: argparse._SubParsersAction) -> None:
    data = subcommands.add_parser("data", help="generate and inspect data sets")
    actions = data.add_subparsers(dest="action", metavar="ACTION", required=True)
    make = actions.add_parser("make", help="generate digit scenes in COCO format")
    make.add_argument("--profile", choices=sorted(PROFILES), default="mixed")
    make.add_argument("--images", type=int, default=2000)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--image-size", type=int, default=128)
    make.add_argument("--out", type=Path, required=True)
    make.set_defaults(func=_make)
    info = actions.add_parser("info", help="counts and object sizes of a COCO folder or JSON")
    info.add_argument("path", type=Path, help="a folder with train.json/val.json, or a JSON")
    info.add_argument("--images-dir", type=Path, help="default: images/ beside the JSON")
    info.set_defaults(func=_info)


def _make(args: argparse.Namespace) -> None:
    scenes = make_digit_scenes(args.out, args.profile, args.images, args.seed, args.image_size)
    print(f"{scenes.root}")
    for name, split in (("train", scenes.train()), ("val", scenes.val())):
        print(f"  {name}: {len(split)} images, {len(split.coco.anns)} annotations")


def _info(args: argparse.Namespace) -> None:
    files = sorted(args.path.glob("*.json")) if args.path.is_dir() else [args.path]
    for file in (f for f in files if f.name != "manifest.json"):
        images_dir = args.images_dir or file.parent / "images"
        dataset = CocoDetection(images_dir, file)
        sides = [np.sqrt(a["bbox"][2] * a["bbox"][3]) for a in dataset.coco.anns.values()]
        quartiles = np.percentile(sides, [10, 50, 90]) if sides else [0, 0, 0]
        print(
            f"{file}: {len(dataset)} images, {len(sides)} annotations, "
            f"{dataset.num_classes - 1} categories, object side p10/p50/p90 "
            + "/".join(f"{q:.0f}" for q in quartiles)
            + " px"
        )
