"""Start-up of the light commands: `archsearch --help` and `archsearch graph info`.

Each command runs in a fresh process, in turn with a reference process that only imports
torch (what every command paid before subcommands were imported on demand), round after
round. Prints each one's median wall time and peak resident memory, and its time as a ratio
of the reference's. Goals (issue "one way in"): ≤ 1.5 s and ≤ 250 MB on a 2-core machine.

    python -m experiments.benchmarks.front_door --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_SECONDS, GOAL_MEGABYTES = 1.5, 250


def run_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident MiB of one run of ``command``."""
    begin = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - begin
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return seconds, usage.ru_maxrss / 1024  # Linux reports KiB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    cli = [sys.executable, "-m", "archsearch"]
    with tempfile.TemporaryDirectory() as folder:
        graph = Path(folder) / "dense.json"
        subprocess.run([*cli, "graph", "build", "dense", "--out", str(graph)], check=True)
        commands = {
            "import torch (reference)": [sys.executable, "-c", "import torch"],
            "archsearch --help": [*cli, "--help"],
            "archsearch graph info": [*cli, "graph", "info", str(graph)],
        }
        results: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
        for _ in range(args.repeats):
            for name, command in commands.items():
                results[name].append(run_once(command))
    reference = statistics.median(seconds for seconds, _ in results["import torch (reference)"])
    print(
        f"median of {args.repeats} interleaved runs; "
        f"goals ≤ {GOAL_SECONDS} s, ≤ {GOAL_MEGABYTES} MB"
    )
    for name, runs in results.items():
        seconds = statistics.median(s for s, _ in runs)
        megabytes = max(m for _, m in runs)
        print(
            f"{name:26s} {seconds:6.2f} s  {megabytes:6.0f} MB  {seconds / reference:5.2f}× torch"
        )


if __name__ == "__main__":
    main()
