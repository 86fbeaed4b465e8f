"""Child of the start-up benchmark: run the real ``voiceconsole`` app and note its first paint.

``python -m benchmarks._firstpaint OUT [voiceconsole args]`` writes the CLOCK_MONOTONIC time of
the first frame to OUT, then quits the app. There is no terminal here: the app draws through
:class:`benchmarks._firstpaint_driver.FirstPaintDriver`, a
:class:`benchmarks.peer.render_driver.RenderDriver` (every frame rendered to the bytes a terminal
would get, so no rendering is skipped), selected with Textual's public ``TEXTUAL_DRIVER``
environment variable, at 120 x 40 (``COLUMNS`` and ``LINES``). Nothing of Textual or of
voiceconsole is patched: the CLI runs as a user starts it.
"""

from __future__ import annotations

import os
import sys

DRIVER = "benchmarks._firstpaint_driver:FirstPaintDriver"


def main() -> int:
    out = sys.argv[1]
    args = sys.argv[2:] or ["--mic", "silence", "--speaker", "null", "--stt", "local", "--tts", "local"]
    if "textual" in sys.modules:
        raise RuntimeError("Textual was imported before TEXTUAL_DRIVER was set; it would not be used")
    os.environ.update({"VC_FIRSTPAINT_OUT": out, "TEXTUAL_DRIVER": DRIVER, "COLUMNS": "120", "LINES": "40"})
    from voiceconsole.cli import main as cli_main

    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
