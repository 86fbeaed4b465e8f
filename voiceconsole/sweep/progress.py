"""The progress bar of a sweep, on stderr: runs done, the rate, and the time left.

The time left (ETA) is the runs still to do divided by the rate of the runs done in this
invocation (runs taken from the cache are counted as done but not in the rate). On a terminal
the bar is redrawn in place; otherwise a line is written at every tenth of the way.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


def format_duration(seconds: float) -> str:
    """``0:42``, ``12:05``, ``2:03:00``."""
    s = max(0, round(seconds))
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class Progress:
    """Counts finished runs and draws the bar."""

    def __init__(self, total: int, cached: int, stream: TextIO | None = None) -> None:
        self.total = total
        self.cached = cached
        self.done = cached
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self._last_tenth = -1
        self.draw()

    def line(self) -> str:
        """The bar as one line of text."""
        fraction = self.done / self.total if self.total else 1.0
        filled = int(fraction * WIDTH)
        computed = self.done - self.cached
        elapsed = time.monotonic() - self.started
        left = self.total - self.done
        if left == 0:
            eta = "done in " + format_duration(elapsed)
        elif computed:
            eta = "ETA " + format_duration(left * elapsed / computed)
        else:
            eta = "ETA --:--"
        cached = f" ({self.cached} cached)" if self.cached else ""
        return f"sweep [{'#' * filled}{'.' * (WIDTH - filled)}] {self.done}/{self.total} runs{cached} {fraction:4.0%}  {eta}"

    def draw(self) -> None:
        """Redraw (terminal) or write a line at each tenth (log)."""
        if self.tty:
            self.stream.write("\r" + self.line() + "\x1b[K")
        else:
            tenth = int(10 * self.done / self.total) if self.total else 10
            if tenth == self._last_tenth:
                return
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
        self.stream.flush()

    def advance(self) -> None:
        """One more run finished."""
        self.done += 1
        self.draw()

    def close(self) -> None:
        """End the bar's line."""
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()
