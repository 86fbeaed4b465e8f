"""The playback worker: an output device that pulls the :class:`PlaybackBuffer`.

The PortAudio callback fills the output from the buffer (a short lock, no I/O) and hands a copy
of the block to the event loop. What opening, loss and reopening involve is in
:mod:`voiceconsole.audio.device_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np

from voiceconsole.audio.device_worker import DeviceWorker
from voiceconsole.audio.devices import DeviceInfo, Kind
from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.errors import DeviceError


class DeviceSink(DeviceWorker):
    """The playback worker: the output callback pulls the :class:`PlaybackBuffer` (the jitter
    buffer) and hands a copy of each played block to the session on the event loop.

    Underruns counted: the buffer's (a reply ran dry while still being synthesized) plus
    PortAudio's ``output_underflow``. While the device is lost the buffer is still drained at
    real-time pace, so replies finish and the session goes on.
    """

    kind: Kind = "output"

    def __init__(
        self, device: DeviceInfo, block_ms: int = 20, *, stall_timeout_s: float = 5.0
    ) -> None:
        super().__init__(device, block_ms, stall_timeout_s)
        self.underflows = 0
        """PortAudio output underflows so far."""
        self._buffer: PlaybackBuffer | None = None
        self._on_progress: Callable[[np.ndarray | None], None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost: asyncio.Event | None = None  # created on the loop in start()
        self.on_played: Callable[[np.ndarray, int, float | None], None] | None = None
        """Called on the loop with each block as sent to the device, its rate and when it is
        heard (PortAudio's ``outputBufferDacTime``; None while the device is lost): the echo
        canceller's far end."""

    def _make_stream(self, channels: int) -> Any:
        return self._sd.OutputStream(
            device=self.device.index,
            samplerate=self.sample_rate,
            blocksize=self.blocksize,
            channels=channels,
            dtype="float32",
            callback=self._callback,
            finished_callback=self._on_finished,
        )

    def _callback(
        self, outdata: np.ndarray, frames: int, time_info: Any, status: Any
    ) -> None:
        if self._end_stream:
            raise self._sd.CallbackAbort
        self.callbacks += 1
        if status.output_underflow:
            self.underflows += 1
        buffer = self._buffer
        if buffer is None:
            outdata.fill(0.0)
            return
        mono = outdata[:, 0]
        buffer.pull_into(mono)
        if self.channels > 1:
            outdata[:, 1:] = outdata[:, :1]
        self._wake_threadsafe(self._played, mono.copy(), time_info.outputBufferDacTime)

    @property
    def underruns(self) -> int:
        """Output underruns so far (the buffer's and PortAudio's)."""
        return (
            self._buffer.underruns if self._buffer is not None else 0
        ) + self.underflows

    def _played(self, block: np.ndarray | None, dac_time: float | None = None) -> None:
        """On the loop, after each block: tell the session, report underruns."""
        if self.on_played is not None and block is not None:
            self.on_played(block, self.sample_rate, dac_time or None)
        if self._on_progress is not None:
            self._on_progress(block)
        self._report_xruns(self.underruns, "underrun")

    def _wake(self) -> None:
        if self._lost is not None:
            self._lost.set()

    async def start(
        self, buffer: PlaybackBuffer, on_progress: Callable[[np.ndarray | None], None]
    ) -> None:
        """Start playing ``buffer``; ``on_progress(block)`` follows on the loop after each block."""
        self._loop = asyncio.get_running_loop()
        self._buffer = buffer
        self._on_progress = on_progress
        self._lost = asyncio.Event()
        await self._blocking(self._start_stream)
        self._report_open("started")
        self._watchdog = asyncio.create_task(self._watch(), name="vc-output-watchdog")

    def write(self, block: np.ndarray) -> None:
        """Unused: a device pulls its own blocks."""
        return None

    async def _watch(self) -> None:
        """Notice a lost device (the stream finished, or callbacks stalled) and reopen it."""
        assert self._lost is not None and self._loop is not None
        while not self._closed:
            seen = self.callbacks
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._lost.wait(), timeout=self.stall_timeout_s)
            if self._closed:
                return
            if self._finished:
                detail = "the stream stopped"
            elif self.callbacks == seen:
                detail = f"no callback for {self.stall_timeout_s:g} s"
            else:
                continue
            self._lost.clear()
            await self._recover(detail)

    async def _recover(self, detail: str) -> None:
        assert self._loop is not None and self._buffer is not None
        self._report_lost(
            detail, "reopening it; replies are timed but not heard until it is back"
        )
        with contextlib.suppress(DeviceError):
            await self._blocking(self._close_stream)
        self._stream = None
        # Drain at real-time pace like a null sink, so replies still start and finish.
        async for due in self._blocks_until_reopened():
            self._played(self._buffer.pull(self.blocksize))
            await asyncio.sleep(max(0.0, due - self._loop.time()))

    async def close(self) -> None:
        """Stop playing and release the device."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watchdog
        self._report_xruns(self.underruns, "underrun", force=True)
        await self._release()


__all__ = ["DeviceSink"]
