"""`archsearch necks`: every neck by name, with its connections, blocks, parameters and FLOPs."""

from __future__ import annotations

import argparse

from archsearch.cli import whole
from archsearch.cli.graph import _levels
from archsearch.neck.catalog import list_necks, summarize

ROW = "{:8s} {:6s} {:>11s} {:>6s} {:>10s} {:>7s}"


def register(subcommands: argparse._SubParsersAction) -> None:
    necks = subcommands.add_parser(
        "necks", help="list every neck `build_neck` accepts, with its size and cost"
    )
    necks.add_argument(
        "--in-channels",
        type=_channels,
        default=[512, 1024, 2048],
        help="backbone channels, lowest level first (default: ResNet-50 C3-C5, 512,1024,2048)",
    )
    necks.add_argument("--channels", type=whole(1), default=256, help="neck width (default 256)")
    necks.add_argument("--levels", type=_levels, default=(3, 7), help="level range, e.g. 3-7")
    necks.add_argument("--size", type=whole(1), default=512, help="square image side for FLOPs")
    necks.set_defaults(func=_list)


def _channels(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError as error:
        message = f"expected channels like 512,1024,2048, got {text!r}"
        raise argparse.ArgumentTypeError(message) from error


def _list(args: argparse.Namespace) -> None:
    print(
        f"in_channels {','.join(map(str, args.in_channels))}, channels {args.channels}, "
        f"P{args.levels[0]}-P{args.levels[1]}, FLOPs at {args.size}x{args.size}"
    )
    print(ROW.format("name", "kind", "connections", "blocks", "params", "GFLOPs"))
    for name in list_necks():
        row = summarize(name, args.in_channels, args.channels, args.levels, (args.size, args.size))
        print(
            ROW.format(
                row.name,
                row.kind,
                "-" if row.connections is None else str(row.connections),
                "-" if row.blocks is None else str(row.blocks),
                f"{row.params:,d}",
                f"{row.flops / 1e9:.2f}",
            )
        )
