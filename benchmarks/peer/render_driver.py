"""A Textual driver for benchmarks: the app renders every frame to terminal bytes, as it would
on a real terminal, and the bytes go to /dev/null.

Textual's own headless driver skips turning frames into terminal bytes, which is a large part
of what a dashboard costs; this one does not report itself as headless, so Textual pays the full
paint. It has no input. Select it for any Textual app, without touching the app's code, with the
environment variable ``TEXTUAL_DRIVER=benchmarks.peer.render_driver:RenderDriver`` (``textual.constants.DRIVER``);
the terminal size comes from ``COLUMNS`` and ``LINES``. In a benchmark's own process, set the
app's public ``driver_class`` to :class:`RenderDriver` before running it (Textual reads the
variable once, when it is imported).

With ``VC_BENCH_RENDER_DIR`` set, each process that renders keeps ``<dir>/<pid>.json`` up to date
(at most once a second) with how many writes and bytes it sent, so a benchmark can show that
every tool it measured did draw. This module imports only Textual's public API, so it loads in
the project's environment and in the peer's virtualenv (another Textual version) alike.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from typing import Any

from textual import events
from textual.driver import Driver
from textual.geometry import Size

STATS_EVERY_S = 1.0


class RenderDriver(Driver):
    """Renders like a terminal driver, writes to /dev/null, reads no input.

    ``RenderDriver.on_write``, when set (process-wide), is called with each write's text: a
    benchmark in the app's own process can watch what reaches the screen.
    """

    on_write: Callable[[str], None] | None = None

    def __init__(self, app: Any, *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.requested_size = size

    def start_application_mode(self) -> None:
        """Open the sink and tell the app its size (``run_async(size=)``, else ``COLUMNS`` x ``LINES``)."""
        self.sink = os.open(os.devnull, os.O_WRONLY)
        self.writes = 0
        self.bytes = 0
        self.stats_dir = os.environ.get("VC_BENCH_RENDER_DIR")
        self.stats_at = 0.0
        width, height = self.requested_size or shutil.get_terminal_size((120, 40))
        size = Size(width, height)
        self.send_message(events.Resize(size, size))

    def write(self, data: str) -> None:
        """Encode the frame as a terminal would receive it and drop it."""
        raw = data.encode("utf-8")
        os.write(self.sink, raw)
        if RenderDriver.on_write is not None:
            RenderDriver.on_write(data)
        self.writes += 1
        self.bytes += len(raw)
        if self.stats_dir is not None and time.monotonic() - self.stats_at >= STATS_EVERY_S:
            self.write_stats()

    def write_stats(self) -> None:
        """Write this process's counts to ``<VC_BENCH_RENDER_DIR>/<pid>.json``."""
        self.stats_at = time.monotonic()
        path = os.path.join(self.stats_dir or ".", f"{os.getpid()}.json")
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump({"pid": os.getpid(), "writes": self.writes, "bytes": self.bytes}, f)
        os.replace(path + ".tmp", path)

    def disable_input(self) -> None:
        """There is no input to disable."""

    def stop_application_mode(self) -> None:
        """Write the final counts and close the sink."""
        if self.stats_dir is not None:
            self.write_stats()
        os.close(self.sink)
