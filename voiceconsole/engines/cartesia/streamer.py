"""Streaming mic audio to a Cartesia STT socket: real-time pacing, outages and the silence watchdog.

Cartesia's realtime endpoints take audio at most at real time ("one second of audio data per
second"): every frame goes through a :class:`RealtimePacer`, so a ``--fast`` file run streams
at real time (after a lead of ``max_lead_s``) instead of being throttled or refused.

Cartesia's STT endpoints need a continuous stream: when audio stops, a started turn never
ends. The session already streams zeros while muted and after a file ends; the watchdog here
covers every other gap (a stalled device, a paused source, shutdown) by sending zeros in real
time once no audio went out for ``idle_after_s``.

Audio captured during an outage is counted in an :class:`OutageBuffer` (bounded) and dropped
when the connection is back, as Pipecat does: sending it late would be a burst faster than real
time, and pacing it would delay every later turn by the outage's length. The engine says how
much was dropped (an ``engine.warning``); the turn in flight was already closed with its text.
"""

from __future__ import annotations

import asyncio
import contextlib

import numpy as np

from voiceconsole.engines.cartesia.outage import OutageBuffer
from voiceconsole.engines.cartesia.protocol import bytes_per_sample, encode_audio
from voiceconsole.engines.cartesia.socket import CartesiaSocket

_FULL_SCALE = np.float32(32767.0)


class RealtimePacer:
    """A token bucket of audio seconds: refilled at one second per second up to ``max_lead_s``;
    a frame waits until the bucket holds its duration. So audio goes out at most at real time,
    with bursts of at most ``max_lead_s``."""

    def __init__(self, bytes_per_second: int, max_lead_s: float = 1.0) -> None:
        self.bytes_per_second = bytes_per_second
        self.max_lead_s = max_lead_s
        self._tokens = max_lead_s
        self._last: float | None = None
        self.waited_s = 0.0
        """Seconds spent waiting so far (how much faster than real time the audio came)."""

    async def wait(self, n_bytes: int) -> None:
        """Return once ``n_bytes`` of audio may be sent."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._last is not None:
            self._tokens = min(self.max_lead_s, self._tokens + (now - self._last))
        self._last = now
        need = n_bytes / self.bytes_per_second
        if need > self._tokens:
            delay = need - self._tokens
            self.waited_s += delay
            await asyncio.sleep(delay)
            self._tokens, self._last = 0.0, loop.time()
        else:
            self._tokens -= need


class AudioStreamer:
    """Sends float32 mic audio as ``encoding`` frames over ``socket``; never waits for replies."""

    def __init__(
        self,
        socket: CartesiaSocket,
        *,
        encoding: str,
        sample_rate: int,
        outage_buffer_s: float = 5.0,
        idle_after_s: float = 1.0,
        fill_chunk_s: float = 0.1,
        max_lead_s: float = 1.0,
    ) -> None:
        self._socket = socket
        self.encoding = encoding
        self.sample_rate = sample_rate
        self._bytes_per_second = bytes_per_sample(encoding) * sample_rate
        self.buffer = OutageBuffer(int(outage_buffer_s * self._bytes_per_second))
        self.pacer = RealtimePacer(self._bytes_per_second, max_lead_s)
        self.outage_buffer_s = outage_buffer_s
        self.idle_after_s = idle_after_s
        self.fill_chunk_s = fill_chunk_s
        self._lock = asyncio.Lock()
        self._last_sent = 0.0
        self._watchdog: asyncio.Task[None] | None = None
        self._scaled = np.empty(0, dtype=np.float32)
        self._pcm = np.empty(0, dtype="<i2")
        self.bytes_sent = 0
        """Audio bytes that reached the socket (including watchdog zeros)."""
        self.zero_bytes_sent = 0
        """Of those, zeros sent by the watchdog."""

    def seconds(self, n_bytes: int) -> float:
        """Duration of ``n_bytes`` of audio."""
        return n_bytes / self._bytes_per_second

    async def send(self, samples: np.ndarray) -> None:
        """Send one block, at most at real time (see :class:`RealtimePacer`); count it as dropped
        if the connection is down.

        Returns once the websocket has taken the frame; it waits only when it must: behind a
        pacer, a watchdog fill or another message being sent, or while the connection's write
        buffer is full (websockets' backpressure).
        """
        await self._send_bytes(self.encode(samples))

    def encode(self, samples: np.ndarray) -> bytes:
        """``encode_audio(samples, encoding)``; 16-bit PCM from float32 mono is made in scratch
        arrays kept between blocks, since this runs for every mic block."""
        if self.encoding != "pcm_s16le" or samples.dtype != np.float32 or samples.ndim != 1:
            return encode_audio(samples, self.encoding)
        n = samples.shape[0]
        if self._scaled.shape[0] != n:
            self._scaled = np.empty(n, dtype=np.float32)
            self._pcm = np.empty(n, dtype="<i2")
        scaled = self._scaled
        np.multiply(samples, _FULL_SCALE, out=scaled)
        np.minimum(scaled, _FULL_SCALE, out=scaled)
        np.maximum(scaled, -_FULL_SCALE, out=scaled)
        np.rint(scaled, out=self._pcm, casting="unsafe")  # whole numbers in int16 range: exact
        return self._pcm.tobytes()

    async def _send_bytes(self, frame: bytes) -> None:
        async with self._lock:
            self._last_sent = asyncio.get_running_loop().time()
            if (len(self.buffer) or self.buffer.dropped_bytes) and self._socket.connected:
                self._drop_held()
            if self._socket.connected:
                await self.pacer.wait(len(frame))
            if await self._socket.send(frame):
                self.bytes_sent += len(frame)
                return
            self._hold(frame)

    def _hold(self, frame: bytes) -> None:
        """Count a frame that could not be sent (none once the socket is done)."""
        if self._socket.state in ("failed", "closed", "closing"):
            return
        self.buffer.push(frame)

    async def replay(self) -> None:
        """The connection is back: drop the audio captured during the outage, and say how much."""
        async with self._lock:
            self._drop_held()

    def _drop_held(self) -> None:
        frames, dropped = self.buffer.take_all()
        lost = sum(len(f) for f in frames) + dropped
        if lost:
            self._socket.warn(
                f"reconnected: dropped {self.seconds(lost):.2f} s of audio captured during the outage "
                "(Cartesia takes audio at most at real time: sent late, it would be a burst)"
            )

    def discard(self) -> None:
        """Closing while disconnected: the held audio is lost; say so."""
        frames, dropped = self.buffer.take_all()
        lost = sum(len(f) for f in frames) + dropped
        if lost:
            self._socket.warn(f"closed while disconnected: {self.seconds(lost):.2f} s of held audio was never transcribed")

    def start_watchdog(self) -> None:
        """Begin filling gaps in the stream with zeros."""
        if self._watchdog is None:
            self._last_sent = asyncio.get_running_loop().time()
            self._watchdog = asyncio.create_task(self._watch(), name="cartesia-silence-watchdog")

    async def stop_watchdog(self) -> None:
        """Stop filling gaps (before the close command, so no audio follows it)."""
        task, self._watchdog = self._watchdog, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        loop = asyncio.get_running_loop()
        step = min(self.fill_chunk_s, self.idle_after_s)
        while True:
            # While audio flows, sleep until the stream could first count as idle (not every
            # step: that would be ten wakeups a second on the session loop for nothing).
            await asyncio.sleep(max(step, self._last_sent + self.idle_after_s - loop.time()))
            idle = loop.time() - self._last_sent
            if idle < self.idle_after_s or not self._socket.connected:
                continue
            # Zeros in real time: as much silence as wall time has passed since the last send.
            n = int(min(idle, 1.0) * self.sample_rate)
            zeros = encode_audio(np.zeros(n, dtype=np.float32), self.encoding)
            async with self._lock:
                await self.pacer.wait(len(zeros))
                if await self._socket.send(zeros):
                    self.bytes_sent += len(zeros)
                    self.zero_bytes_sent += len(zeros)
                self._last_sent = loop.time()
