"""Audio sources (the mic side) and sinks (the speaker side) that need no device.

Sources yield float32 mono blocks at their own rate. A source that is not ``self_clocked``
(a file) is paced by the session: in real time, or as fast as possible on a virtual clock.
A sink that is not ``self_clocked`` (a file, the null sink) receives one block per session tick;
a self-clocked sink (a device) pulls from the playback buffer on its own.

The classes here subclass the protocols explicitly and so inherit their defaults (``attach``
ignores the session's ``emit``: they have nothing to report).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Protocol

import numpy as np

from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.audio.resample import to_mono
from voiceconsole.audio.wavio import WavReader, WavWriter
from voiceconsole.events import Event

Emit = Callable[..., Event]
"""The session's ``emit(event_type, **fields)``: stamps and publishes an event."""


class AudioSource(Protocol):
    """Where mic audio comes from."""

    name: str
    description: str
    """What the source is, for people (shown in the status bar and ``session.start``)."""
    sample_rate: int
    self_clocked: bool

    def attach(self, emit: Emit) -> None:
        """Take the session's ``emit`` before :meth:`blocks` is read, to report trouble (a device:
        xruns, a lost device) as events. The default ignores it."""
        return None

    def blocks(self) -> AsyncIterator[np.ndarray]:
        """Float32 mono blocks at ``sample_rate``; ends when the input ends."""
        ...

    async def close(self) -> None:
        """Release the source."""
        ...


class AudioSink(Protocol):
    """Where reply audio goes."""

    name: str
    description: str
    """What the sink is, for people (shown in the status bar and ``session.start``)."""
    sample_rate: int
    self_clocked: bool

    def attach(self, emit: Emit) -> None:
        """Take the session's ``emit`` before :meth:`start`, to report trouble (a device: xruns,
        a lost device) as events. The default ignores it."""
        return None

    async def start(self, buffer: PlaybackBuffer, on_progress: Callable[[np.ndarray | None], None]) -> None:
        """Begin playing. Self-clocked sinks pull from ``buffer`` and, after each block, get
        ``on_progress(block_played)`` called on the event loop (``loop.call_soon_threadsafe``), so
        levels, recordings and playback events follow what was really played."""
        ...

    def write(self, block: np.ndarray) -> None:
        """Tick-driven sinks: take the next block pulled by the session."""
        ...

    async def close(self) -> None:
        """Finish and release the sink."""
        ...


READ_AHEAD_BLOCKS = 50
"""How many blocks of a WAV file a :class:`WavFileSource` reads and converts at once."""


class WavFileSource(AudioSource):
    """Mic audio from a WAV file (any rate, mono or stereo), in blocks of ``block_ms``."""

    self_clocked = False

    def __init__(self, path: str | os.PathLike[str], block_ms: int = 20) -> None:
        self._reader = WavReader(path)
        info = self._reader.info
        self.sample_rate = info.sample_rate
        self.name = f"file:{info.path.name}"
        self.description = f"{info.path.name} ({info.describe()})"
        self.duration_s = info.duration_s
        self._block = max(1, int(round(info.sample_rate * block_ms / 1000)))

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        # Read and convert many blocks at once, hand out views of them one by one: one file
        # read and one conversion per second (20 ms blocks) instead of per block; same blocks.
        block = self._block
        per_read = block * READ_AHEAD_BLOCKS
        while True:
            frames = self._reader.read(per_read)
            if frames.shape[0] == 0:
                return
            mono = to_mono(frames)
            for start in range(0, mono.shape[0], block):
                yield mono[start : start + block]

    async def close(self) -> None:
        self._reader.close()


class SilenceSource(AudioSource):
    """A silent mic (for typed-text sessions and tests); endless unless ``duration_s`` is set."""

    self_clocked = False

    def __init__(self, sample_rate: int = 16000, block_ms: int = 20, duration_s: float | None = None) -> None:
        self.sample_rate = sample_rate
        self.name = "silence"
        self.description = "silence"
        self.duration_s = duration_s
        self._block = int(round(sample_rate * block_ms / 1000))

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        total = None if self.duration_s is None else int(round(self.duration_s * self.sample_rate))
        sent = 0
        while total is None or sent < total:
            n = self._block if total is None else min(self._block, total - sent)
            sent += n
            yield np.zeros(n, dtype=np.float32)

    async def close(self) -> None:
        return None


class NullSink(AudioSink):
    """Discards reply audio (still paced, so playback events and timings are real)."""

    self_clocked = False

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self.name = "null"
        self.description = "null (discarded)"

    async def start(self, buffer: PlaybackBuffer, on_progress: Callable[[np.ndarray | None], None]) -> None:
        return None

    def write(self, block: np.ndarray) -> None:
        return None

    async def close(self) -> None:
        return None


class WavFileSink(AudioSink):
    """Writes what the speaker would play, silence included, to a 16-bit WAV file."""

    self_clocked = False

    def __init__(self, path: str | os.PathLike[str], sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self._writer = WavWriter(path, sample_rate)
        self.name = f"file:{self._writer.path.name}"
        self.description = f"{self._writer.path} ({sample_rate} Hz)"

    async def start(self, buffer: PlaybackBuffer, on_progress: Callable[[np.ndarray | None], None]) -> None:
        return None

    def write(self, block: np.ndarray) -> None:
        self._writer.write(block)

    async def close(self) -> None:
        self._writer.close()
