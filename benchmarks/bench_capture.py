"""Capture to wire: from the PortAudio capture callback to the bytes handed to the Cartesia
STT websocket, on the real path (device -> ring -> event loop -> resample -> levels -> the STT
stage awaiting the Ink-2 turns client's ``send_audio`` -> the audio streamer's ``send`` ->
websockets' ``send``) against the local scripted server.

The capture block is complete when its callback runs, so the figure is the console's own delay
beyond the chunk's accumulation time. A block counts as sent when the last STT sample made
from it has gone (so audio a resampler holds back is charged to the console). Timing taps, on
public seams only: the capture worker's ``on_block`` tap (called in its PortAudio callback,
before the loop is woken) notes the time block k arrived; a wrapper around the engine's
``streamer.send`` notes when each chunk's ``send`` returned, that is when websockets took the
frame. Measured with the session headless (``--no-ui``) and inside the real app as
``voiceconsole`` runs it (the session on its own thread and loop; the UI drawing every frame to
terminal bytes through :class:`benchmarks.peer.render_driver.RenderDriver`).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from benchmarks.common import Figure, distribution
from benchmarks.live import (
    cartesia_settings,
    run_with,
    time_capture,
    use_virtual_audio,
)

WARMUP_S = 1.0


async def _measure(url: str, seconds: float, ui: bool) -> tuple[list[float], str]:
    from voiceconsole.session.build import build_session

    settings = cartesia_settings(url, speaker="null")
    session = build_session(settings, hold_open=True)
    source, stt = session.source, session.stt
    times = time_capture(source)
    block, in_rate, out_rate = source.blocksize, source.sample_rate, session.stt_rate
    latencies: list[float] = []
    recording = [False]
    sent = [0]  # STT samples handed to the websocket so far
    done = [0]  # capture blocks whose every sample has reached the wire
    streamer = stt.streamer
    original_send = streamer.send

    async def send(samples: Any) -> None:  # what the STT stage awaits, through send_audio
        await original_send(samples)
        t = time.monotonic()
        sent[0] += int(samples.shape[0])
        # Block k is on the wire once the STT sample matching its last input sample has gone.
        while (done[0] + 1) * block * out_rate // in_rate <= sent[0]:
            if recording[0]:
                latencies.append(t - times[done[0] % times.size])
            done[0] += 1

    streamer.send = send  # type: ignore[method-assign]
    rates = f"{in_rate} Hz device -> {out_rate} Hz STT"

    async def body() -> None:
        await asyncio.sleep(WARMUP_S)
        recording[0] = True
        await asyncio.sleep(seconds)
        recording[0] = False

    await run_with(session, body, ui=ui, settings=settings)
    return latencies, rates


def run(quick: bool) -> list[Figure]:
    from benchmarks._cartesia import cartesia_server

    use_virtual_audio()
    seconds = 3.0 if quick else 20.0
    figures = []
    with cartesia_server(turn_every=4.0) as url:
        for ui in (False, True):
            lat, rates = asyncio.run(_measure(url, seconds, ui))
            where = "inside the app (session thread, UI painting)" if ui else "headless session (--no-ui)"
            figures.append(distribution(f"capture to wire: {where}", "ms", [x * 1000 for x in lat],
                                        target=5.0, target_stat="p99",
                                        note=f"Ink-2 turns client, local server, 20 ms blocks, {rates}"))
    return figures
