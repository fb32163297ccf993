"""Interleaved timing: every candidate measured in turn, repeat after repeat, in one process.

Interleaving spreads the machine's noise evenly over the candidates, so ratios between them
are fair even when absolute times drift. On CUDA, CUDA events time the device work.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

import torch


def time_once(run: Callable[[], None], device: torch.device) -> float:
    """Seconds one call of ``run`` takes (CUDA events on a GPU, wall clock on the CPU)."""
    if device.type == "cuda":
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        run()
        end.record()
        torch.cuda.synchronize()
        return start.elapsed_time(end) / 1e3
    begin = time.perf_counter()
    run()
    return time.perf_counter() - begin


def interleaved_times(
    runs: Mapping[str, Callable[[], None]], repeats: int, device: torch.device, warmup: int = 3
) -> dict[str, list[float]]:
    """``repeats`` timings of each run, taken round-robin after ``warmup`` untimed rounds."""
    for _ in range(warmup):
        for run in runs.values():
            run()
    times: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeats):
        for name, run in runs.items():
            times[name].append(time_once(run, device))
    return times
