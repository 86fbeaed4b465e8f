"""CPU: the whole app (Textual UI run headless with frames rendered to terminal bytes, the
session, the reference VAD, Cartesia Ink-2 turns STT and sonic TTS against the local server,
which runs in its own process and is not counted) as a fraction of one core.

* streaming: the speech fixture as the mic in real time (meters live, a scripted turn every
  4 s, echo replies synthesized and played to the null sink in real time);
* idle: the app open on a session with no mic stream at all (a source that never delivers a
  block: no audio flows; the meters are still polled, the STT keepalive still runs).

CPU time is the process's user + system time (all threads) over the window, after a warm-up.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from benchmarks.common import Figure, cpu_seconds, repo_root, single
from benchmarks.live import cartesia_settings, run_with

WARMUP_S = 2.0


class NoAudioSource:
    """A mic that is open but delivers nothing (idle: no audio flowing)."""

    self_clocked = True

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self.name = "no audio"
        self.description = "no audio (idle)"

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        await asyncio.Event().wait()
        yield np.zeros(0, dtype=np.float32)

    async def close(self) -> None:
        return None


async def _measure(url: str, seconds: float, idle: bool) -> float:
    import time

    from voiceconsole.session.build import build_session

    mic = "silence" if idle else f"{repo_root()}/tests/data/speech_turns.wav"
    settings = cartesia_settings(url, speaker="null", mic=mic)
    session = build_session(settings, hold_open=True)
    if idle:
        session.source = NoAudioSource()

    async def body() -> float:
        await asyncio.sleep(WARMUP_S)
        c0, t0 = cpu_seconds(), time.monotonic()
        await asyncio.sleep(seconds)
        return (cpu_seconds() - c0) / (time.monotonic() - t0)

    return await run_with(session, body, ui=True, settings=settings)


def run(quick: bool) -> list[Figure]:
    from benchmarks._cartesia import cartesia_server

    seconds = 3.0 if quick else 12.0
    with cartesia_server(turn_every=4.0) as url:
        streaming = asyncio.run(_measure(url, seconds, idle=False))
        idle = asyncio.run(_measure(url, seconds, idle=True))
    return [
        single("CPU: app streaming audio, meters live", "% core", 100 * streaming, target=10.0,
               note=f"{seconds:g} s of the speech fixture in real time"),
        single("CPU: app idle (no mic stream)", "% core", 100 * idle, target=2.0, note=f"{seconds:g} s"),
    ]
