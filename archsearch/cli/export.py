"""`archsearch export`: a trained run's detector, or its neck alone, for an inference runtime.

The copy is checked against PyTorch on the run's validation images before it is written;
a variational neck exports with its posterior means.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from archsearch.cli import whole
from archsearch.cli.train import load_run
from archsearch.detection.export import (
    FORMATS,
    OPSET,
    backbone_maps,
    check_export,
    export_detector,
    export_neck,
)
from archsearch.errors import ConfigError


def register(subcommands: argparse._SubParsersAction) -> None:
    exporter = subcommands.add_parser(
        "export",
        help="export a trained run's detector (ONNX) or neck (ONNX, pt2), checked against PyTorch",
    )
    exporter.add_argument("run", type=Path, help="a run folder of `archsearch train` or `run`")
    exporter.add_argument(
        "--out",
        type=Path,
        required=True,
        help=f"the file to write: NAME.onnx (opset {OPSET}) or NAME.pt2",
    )
    exporter.add_argument("--format", help=f"{' or '.join(FORMATS)}; default: the suffix of --out")
    exporter.add_argument(
        "--neck-only",
        action="store_true",
        help="the neck alone: backbone maps C3... in, pyramid P3... out",
    )
    exporter.add_argument(
        "--images", type=whole(1), default=8, help="validation images to check on (default 8)"
    )
    exporter.set_defaults(func=_export)


def _export(args: argparse.Namespace) -> None:
    format = args.format or args.out.suffix.removeprefix(".")
    if not format:
        raise ConfigError(
            f"--out {args.out}: name the file NAME.onnx or NAME.pt2, or pass --format"
        )
    if args.out.suffix != f".{format}":
        raise ConfigError(f"--out {args.out}: a {format} export is written to a .{format} file")
    check_export(format, args.neck_only)
    strategy, model, val_set, _ = load_run(args.run)
    images = [val_set[index][0] for index in range(min(args.images, len(val_set)))]
    neck = model.backbone.neck
    if args.neck_only:
        agreement = export_neck(neck, backbone_maps(model, images), args.out, format)
    else:
        agreement = export_detector(model, images, args.out, format)
    for line in agreement.lines():
        print(line)
    graph = getattr(neck, "graph", None)
    wiring = f", {len(graph.connections())} connections" if graph is not None else ""
    what = "neck" if args.neck_only else "detector"
    size = args.out.stat().st_size / 2**20
    print(f"wrote {args.out} ({size:.1f} MiB): {strategy} {what}{wiring}")
