"""Event to screen: from a turn event arriving on the session's bus to the real app having
painted it: the frame written as terminal bytes by the benchmark's Textual driver
(:class:`benchmarks.peer.render_driver.RenderDriver`, set as the app's public ``driver_class``;
the bytes go to /dev/null, and the driver's ``on_write`` sees each write). The app runs on a
live session: the speech fixture as the mic in real time (meters live), Cartesia engines
against the local server; turn events with a unique transcript are published on the session's
bus every 100 ms, as the STT client would, and the frame that first shows each transcript
closes its measurement.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial

from benchmarks.common import Figure, distribution, repo_root
from benchmarks.live import cartesia_settings, rendered_app, wait_stopped
from voiceconsole.events import TurnEnd, TurnStart, TurnUpdate

UPDATES_PER_TURN = 6


async def _measure(url: str, events: int) -> tuple[list[float], int]:
    from voiceconsole.session.build import build_session
    from voiceconsole.session.threaded import SessionThread
    from voiceconsole.ui.app import VoiceConsoleApp

    settings = cartesia_settings(url, speaker="null", mic=f"{repo_root()}/tests/data/speech_turns.wav")
    session = build_session(settings, hold_open=True)
    waiting: dict[str, float] = {}
    latencies: list[float] = []

    def on_frame(text: str) -> None:
        t = time.monotonic()
        for marker in [m for m in waiting if m in text]:
            latencies.append(t - waiting.pop(marker))

    # As run_console does: the session on its own thread; events are emitted there (as the STT
    # client would), so the hop to the UI thread is part of what is measured.
    controller = SessionThread(session)
    app = VoiceConsoleApp(controller=controller, settings=settings)

    async def body() -> None:
        await asyncio.sleep(1.0)
        turn = 1000
        sent = 0
        while sent < events:
            turn += 1
            controller.call_soon(partial(session.emit, TurnStart, turn=turn))
            words: list[str] = []
            for k in range(UPDATES_PER_TURN):
                await asyncio.sleep(0.1)
                words.append(f"w{turn}x{k}")
                marker = words[-1]
                waiting[marker] = time.monotonic()
                controller.call_soon(partial(session.emit, TurnUpdate, turn=turn, transcript=" ".join(words)))
                sent += 1
            await asyncio.sleep(0.1)
            waiting[f"end{turn}"] = time.monotonic()
            controller.call_soon(partial(session.emit, TurnEnd, turn=turn, transcript=" ".join(words) + f" end{turn}"))
            sent += 1
        await asyncio.sleep(0.5)

    async with rendered_app(app, size=(120, 40), on_frame=on_frame):
        while not session.running:
            await asyncio.sleep(0.01)
        await body()
        controller.request_stop("benchmark done")
        await wait_stopped(controller)
    return latencies, len(waiting)


def run(quick: bool) -> list[Figure]:
    from benchmarks._cartesia import cartesia_server

    with cartesia_server() as url:
        lat, unseen = asyncio.run(_measure(url, 14 if quick else 140))
    return [distribution("event to screen: turn event -> painted frame", "ms", [x * 1000 for x in lat],
                         target=33.0, target_stat="p95",
                         note=f"real app, frames to terminal bytes, live session; {unseen} events never seen on screen")]
