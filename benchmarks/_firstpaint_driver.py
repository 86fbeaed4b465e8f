"""The Textual driver of the first-paint child (:mod:`benchmarks._firstpaint`).

A module of its own because Textual reads ``TEXTUAL_DRIVER`` when it is first imported: the
child sets the variable before anything imports Textual, and Textual then imports this module
(which imports Textual) to build the driver.
"""

from __future__ import annotations

import os
import time
from typing import Any

from benchmarks.peer.render_driver import RenderDriver

OUT_ENV = "VC_FIRSTPAINT_OUT"
"""Where :class:`FirstPaintDriver` writes the time of the first frame (Textual builds the driver,
so it is told through the environment)."""


class FirstPaintDriver(RenderDriver):
    """A :class:`RenderDriver` (every frame rendered to the bytes a terminal would get) that
    notes the CLOCK_MONOTONIC time of the first frame written to ``$VC_FIRSTPAINT_OUT``, then asks
    the app to exit."""

    def __init__(self, app: Any, *, debug: bool = False, mouse: bool = True,
                 size: tuple[int, int] | None = None) -> None:
        super().__init__(app, debug=debug, mouse=mouse, size=size)
        self.painted_app = app
        self.painted = False

    def write(self, data: str) -> None:
        """Write ``data``; after the first frame, note its time and ask the app to exit."""
        super().write(data)
        if self.painted or data.startswith("\x1b]"):  # an OSC sequence (pointer shape, clipboard) is no frame
            return
        self.painted = True
        with open(os.environ[OUT_ENV], "w", encoding="ascii") as f:
            f.write(repr(time.monotonic()))
        self.painted_app.call_later(self.painted_app.exit, 0)
