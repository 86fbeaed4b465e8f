"""Barge-in: from the interrupt command (``Session.interrupt``, what the ``i`` key calls) to the
first output block with no reply audio, on the real playback worker (PortAudio output stream
on the virtual audio device), with a reply from the Cartesia sonic client (local server) playing.

Hook, installed from outside: the playback buffer's ``pull_into`` (called in the PortAudio
callback) notes the time of the first all-silent block after the command. The target is one
block duration + 2 ms: an interrupt that lands just after a callback waits for the next one.
"""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

from benchmarks.common import Figure, distribution
from benchmarks.live import cartesia_settings, run_with, use_virtual_audio
from voiceconsole.events import PlaybackStarted

REPLY = "this is a long reply that keeps on playing until somebody barges in and cuts it off " * 3


async def _measure(url: str, trials: int) -> tuple[list[float], float]:
    from voiceconsole.session.build import build_session

    settings = cartesia_settings(url, speaker="device", mic="silence")
    session = build_session(settings, hold_open=True)
    playback = session.playback
    armed = [False]
    silent_at = [0.0]
    original_pull = playback.pull_into

    def pull_into(out: Any) -> None:
        original_pull(out)
        if armed[0] and not out.any():
            armed[0] = False
            silent_at[0] = time.monotonic()

    playback.pull_into = pull_into
    started = asyncio.Event()

    def on_event(event: Any) -> None:
        if isinstance(event, PlaybackStarted):
            started.set()

    session.bus.add_listener(on_event)
    latencies: list[float] = []
    rng = random.Random(7)

    async def body() -> None:
        for _ in range(trials):
            started.clear()
            session.say(REPLY)
            await asyncio.wait_for(started.wait(), 10)
            await asyncio.sleep(rng.uniform(0.1, 0.3))
            silent_at[0] = 0.0
            armed[0] = True
            t0 = time.monotonic()
            session.interrupt("key")
            while armed[0]:
                await asyncio.sleep(0.005)
            latencies.append(silent_at[0] - t0)
            await asyncio.sleep(0.05)

    await run_with(session, body, ui=False, settings=settings)
    return latencies, session.sink.blocksize / session.sink.sample_rate


def run(quick: bool) -> list[Figure]:
    from benchmarks._cartesia import cartesia_server

    use_virtual_audio()
    with cartesia_server() as url:
        lat, block_s = asyncio.run(_measure(url, 5 if quick else 40))
    return [distribution("barge-in: interrupt -> first silent output block", "ms", [x * 1000 for x in lat],
                         target=block_s * 1000 + 2.0, target_stat="p95",
                         note=f"playback worker, {block_s * 1000:.0f} ms blocks; target one block + 2 ms")]
