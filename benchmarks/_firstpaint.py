"""Child of the start-up benchmark: run the real ``voiceconsole`` app and note its first paint.

``python -m benchmarks._firstpaint OUT [voiceconsole args]`` writes the CLOCK_MONOTONIC time of
the first frame to OUT, then quits the app. Textual runs headless (no terminal here); the
first frame is still rendered to the bytes a terminal would get, so no rendering is skipped.
"""

from __future__ import annotations

import sys
import time


def main() -> int:
    out = sys.argv[1]
    args = sys.argv[2:] or ["--mic", "silence", "--speaker", "null", "--stt", "local", "--tts", "local"]
    from textual.app import App

    from voiceconsole.cli import main as cli_main

    original_display = App._display
    original_run = App.run
    done = False

    def display(self: App, screen, renderable) -> None:  # type: ignore[no-untyped-def]
        nonlocal done
        original_display(self, screen, renderable)
        if renderable is None or done:
            return
        renderable.render_segments(self.console)
        done = True
        with open(out, "w", encoding="ascii") as f:
            f.write(repr(time.monotonic()))
        self.call_later(self.exit, 0)

    def run(self: App, *a, **kw):  # type: ignore[no-untyped-def]
        kw.update(headless=True, size=(120, 40))
        return original_run(self, *a, **kw)

    App._display = display  # type: ignore[method-assign]
    App.run = run  # type: ignore[method-assign]
    return cli_main(args)


if __name__ == "__main__":
    sys.exit(main())
