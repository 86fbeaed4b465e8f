"""CPU: the whole app (Textual UI run headless with frames rendered to terminal bytes, the
session, the reference VAD, Cartesia Ink-2 turns STT and sonic TTS against the local server,
which runs in its own process and is not counted) as a fraction of one core.

* streaming: the speech fixture as the mic in real time, looped (meters live, a scripted turn
  every 4 s, echo replies synthesized and played to the null sink in real time);
* idle: the app open on a session with no mic stream at all (a source that never delivers a
  block: no audio flows; the meters are still polled, the STT keepalive still runs), against a
  server that scripts no turns.

CPU time is the process's user + system time (all threads), after a warm-up, over consecutive
windows of a few seconds; the figure is their median (the max is shown beside it), so one
window disturbed by another process on a shared machine does not decide it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np

from benchmarks.common import Figure, cpu_seconds, distribution, repo_root
from benchmarks.live import cartesia_settings, run_with

WARMUP_S = 2.0
WINDOW_S = 5.0


class LoopedWavSource:
    """The speech fixture as a mic that starts over at its end (streaming never runs dry)."""

    self_clocked = False

    def __init__(self, path: str) -> None:
        from voiceconsole.audio.io import WavFileSource

        self._path = path
        self._open = WavFileSource
        self._current = WavFileSource(path)
        self.sample_rate = self._current.sample_rate
        self.name = self._current.name
        self.description = f"{self._current.description}, looped"
        self.duration_s = None

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        while True:
            async for block in self._current.blocks():
                yield block
            await self._current.close()
            self._current = self._open(self._path)

    async def close(self) -> None:
        await self._current.close()


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


async def _measure(url: str, windows: int, idle: bool) -> list[float]:
    import time

    from voiceconsole.session.build import build_session

    fixture = f"{repo_root()}/tests/data/speech_turns.wav"
    settings = cartesia_settings(url, speaker="null", mic="silence" if idle else fixture)
    session = build_session(settings, hold_open=True)
    session.source = NoAudioSource() if idle else LoopedWavSource(fixture)

    async def body() -> list[float]:
        await asyncio.sleep(WARMUP_S)
        shares = []
        for _ in range(windows):
            c0, t0 = cpu_seconds(), time.monotonic()
            await asyncio.sleep(WINDOW_S)
            shares.append((cpu_seconds() - c0) / (time.monotonic() - t0))
        return shares

    return await run_with(session, body, ui=True, settings=settings)


def run(quick: bool) -> list[Figure]:
    from benchmarks._cartesia import cartesia_server

    windows = 1 if quick else 4
    with cartesia_server(turn_every=4.0) as url:
        streaming = asyncio.run(_measure(url, windows, idle=False))
    # The scripted server counts the silence the STT client keeps the connection alive with as
    # audio and would script turns (and replies) into it; a real one hears none in silence.
    with cartesia_server() as url:
        idle = asyncio.run(_measure(url, windows, idle=True))
    what = f"median of {windows} windows of {WINDOW_S:g} s"
    return [
        distribution("CPU: app streaming audio, meters live", "% core", [100 * x for x in streaming], target=10.0,
                     target_stat="median", note=f"the speech fixture in real time, looped; {what}"),
        distribution("CPU: app idle (no mic stream)", "% core", [100 * x for x in idle], target=2.0,
                     target_stat="median", note=what),
    ]
