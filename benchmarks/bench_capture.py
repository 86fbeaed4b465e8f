"""Capture to wire: from the PortAudio capture callback to the bytes handed to the Cartesia
STT websocket, on the real path (device -> ring -> event loop -> resample -> levels ->
reference VAD -> Ink-2 turns client -> websocket send) against the local scripted server.

The capture block is complete when its callback runs, so the figure is the console's own delay
beyond the chunk's accumulation time. A block counts as sent when the last STT sample made
from it has gone (so audio a resampler holds back is charged to the console). Hooks, installed from outside: the capture worker's
callback notes the time of block k; a block goes to the wire either where it arrives (the
streamer's ``send_now``, when nothing waits before it) or through the STT stage's queue (which
notes each chunk's size) and the streamer's send; each notes when the bytes were handed over. Measured with
the session headless (``--no-ui``) and inside the real app as ``voiceconsole`` runs it (the
session on its own thread and loop; the UI run headless, frames rendered to terminal bytes).
"""

from __future__ import annotations

import asyncio
import collections
import time
from typing import Any

from benchmarks.common import Figure, distribution
from benchmarks.live import cartesia_settings, install_timed_capture, run_with, use_virtual_audio

WARMUP_S = 1.0


async def _measure(url: str, seconds: float, ui: bool, times: Any) -> tuple[list[float], str]:
    from voiceconsole.session.build import build_session

    settings = cartesia_settings(url, speaker="null")
    session = build_session(settings, hold_open=True)
    source, stt = session.source, session.stt
    block, in_rate, out_rate = source.blocksize, source.sample_rate, session.stt_rate
    latencies: list[float] = []
    recording = [False]
    sent = [0]  # STT samples handed to the websocket so far
    done = [0]  # capture blocks whose every sample has reached the wire
    sizes: collections.deque[int] = collections.deque()  # chunks queued for the STT stage
    queue = session._stt_q
    original_put = queue.put_nowait

    def put_nowait(item: Any) -> None:
        sizes.append(int(item.shape[0]))
        original_put(item)

    queue.put_nowait = put_nowait
    streamer = stt.streamer
    original_send = streamer._send_bytes

    def on_wire(size: int) -> None:
        t = time.monotonic()
        sent[0] += size
        # Block k is on the wire once the STT sample matching its last input sample has gone.
        while (done[0] + 1) * block * out_rate // in_rate <= sent[0]:
            if recording[0]:
                latencies.append(t - times[done[0] % times.size])
            done[0] += 1

    async def send_bytes(frame: bytes) -> None:  # the STT stage's path (a block that had to wait)
        size = sizes.popleft() if sizes else 0
        await original_send(frame)
        on_wire(size)

    streamer._send_bytes = send_bytes
    original_now = streamer.send_now

    def send_now(samples: Any) -> bool:  # the path of a block sent where it arrives
        taken = original_now(samples)
        if taken:
            on_wire(int(samples.shape[0]))
        return taken

    streamer.send_now = send_now
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
    times = install_timed_capture()
    seconds = 3.0 if quick else 20.0
    figures = []
    with cartesia_server(turn_every=4.0) as url:
        for ui in (False, True):
            lat, rates = asyncio.run(_measure(url, seconds, ui, times))
            where = "inside the app (session thread, UI painting)" if ui else "headless session (--no-ui)"
            figures.append(distribution(f"capture to wire: {where}", "ms", [x * 1000 for x in lat],
                                        target=5.0, target_stat="p99",
                                        note=f"Ink-2 turns client, local server, 20 ms blocks, {rates}"))
    return figures
