"""`archsearch draw-detections`: Figure 4's analog for images of a trained variational run."""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.cli import whole
from archsearch.cli.train import load_run
from archsearch.errors import ConfigError
from archsearch.uncertainty import DecoderSettings, decode_images, draw_weights
from archsearch.uncertainty.sampling import variational_weights


def register(subcommands: argparse._SubParsersAction) -> None:
    draw = subcommands.add_parser(
        "draw-detections",
        help="baseline boxes beside variance-voted ones, each corner's spread as a circle",
    )
    draw.add_argument("run", type=Path, help="a run folder trained with a variational strategy")
    draw.add_argument(
        "--images", type=whole(0), nargs="+", default=[0, 1, 2], help="validation image indices"
    )
    draw.add_argument("--samples", type=whole(1), default=10, help="sampled fusion networks (K)")
    draw.add_argument("--sample-seed", type=whole(0), default=0, help="seed of the K samples")
    draw.add_argument("--min-score", type=float, default=0.2, help="hide boxes scoring under")
    draw.add_argument("--out", type=Path, help="folder for the figures (default: RUN/figures)")
    draw.set_defaults(func=_draw)


def _draw(args: argparse.Namespace) -> None:
    # imported here: matplotlib is slow to load and only this command needs it
    from archsearch.reporting.figures import save_figure
    from archsearch.uncertainty.drawing import detections_figure

    strategy, model, val_set, _ = load_run(args.run)
    weights = draw_weights(variational_weights(model, strategy), args.samples, args.sample_seed)
    unknown = [index for index in args.images if not 0 <= index < len(val_set)]
    if unknown:
        raise ConfigError(f"no validation image {unknown[0]}: the set has {len(val_set)}")
    names = [val_set.coco.cats[c]["name"] for c in val_set.category_ids]
    out = args.out or args.run / "figures"
    for index in args.images:
        image, target = val_set[index]
        decoded = decode_images(model, [image], weights, DecoderSettings())[0]
        figure = detections_figure(
            image, decoded["baseline"], decoded["varvote"], names, args.min_score
        )
        for path in save_figure(figure, out / f"detections-{int(target['image_id'])}", ("png",)):
            print(path)
