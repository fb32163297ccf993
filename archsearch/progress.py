"""Progress that reads well wherever standard error goes.

On a terminal, a tqdm bar. Anywhere else (CI, a log file, ``nohup``), a bar rewritten in place
turns into a line per update; `progress` then prints one line at the start and one each time
another ``LINE_EVERY`` of the work is done, with the same counts and postfix a bar shows.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from tqdm import tqdm

LINE_EVERY = 0.1  # of the total, between two lines off a terminal


def progress(total: int, desc: str, initial: int = 0, disable: bool = False) -> Any:
    """A tqdm bar on a terminal, `Lines` elsewhere; both take ``update``, ``set_postfix``
    and ``close``."""
    if disable or sys.stderr.isatty():
        return tqdm(total=total, initial=initial, desc=desc, disable=disable)
    return Lines(total, desc, initial)


class Lines:
    """``desc: 40/400 (10%), 12 s, loss=0.512``: one line for every ``LINE_EVERY``."""

    def __init__(self, total: int, desc: str, initial: int = 0) -> None:
        self.total, self.desc, self.n = total, desc, initial
        self.started = time.perf_counter()
        self.postfix = ""
        self.next_line = initial
        self._print_if_due()

    def update(self, n: int = 1) -> None:
        self.n += n
        self._print_if_due()

    def set_postfix(self, **values: Any) -> None:
        self.postfix = ", ".join(f"{key}={value}" for key, value in values.items())

    def close(self) -> None:
        """Nothing to clean up: the last update printed the last line."""

    def _print_if_due(self) -> None:
        if self.n < self.next_line and self.n < self.total:
            return
        step = max(1, round(self.total * LINE_EVERY))
        self.next_line = (self.n // step + 1) * step
        share = f" ({100 * self.n / self.total:.0f}%)" if self.total else ""
        seconds = time.perf_counter() - self.started
        extra = f", {self.postfix}" if self.postfix else ""
        line = f"{self.desc}: {self.n}/{self.total}{share}, {seconds:.0f} s{extra}"
        print(line, file=sys.stderr, flush=True)
