"""The capture worker: mic blocks from an input device, through a preallocated ring.

The PortAudio callback copies each block into the ring and wakes the event loop only when it
is waiting; the loop takes float32 mono copies out. What opening, loss and reopening involve is
in :mod:`voiceconsole.audio.device_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from voiceconsole.audio.device_worker import DeviceWorker
from voiceconsole.audio.devices import DeviceInfo, Kind
from voiceconsole.errors import DeviceError


class DeviceSource(DeviceWorker):
    """The capture worker: mic blocks from an input device, at the device's own rate.

    The callback copies each block into a preallocated ring of ``ring_blocks`` slots; a full ring
    (the loop fell behind) drops the block and counts an overflow, like PortAudio's own
    ``input_overflow``. ``blocks()`` yields float32 mono copies as they arrive, until closed.
    """

    kind: Kind = "input"
    # The STT engines take 16 kHz. Capturing at that rate leaves no resampler between the
    # callback and the wire (a streaming resampler holds part of each block back for its
    # filter; benchmarks/bench_capture.py measures it); an audio server that accepts 16 kHz
    # resamples as it reads.
    preferred_rate: int | None = 16000

    def __init__(
        self,
        device: DeviceInfo,
        block_ms: int = 20,
        *,
        ring_blocks: int = 100,
        stall_timeout_s: float = 5.0,
    ) -> None:
        super().__init__(device, block_ms, stall_timeout_s)
        self._slots = ring_blocks
        self._ring = np.zeros(
            (ring_blocks, self.blocksize, self.channels), dtype=np.float32
        )
        self._lengths = np.zeros(ring_blocks, dtype=np.int64)
        self._adc_times = np.zeros(ring_blocks, dtype=np.float64)
        self.block_time: float | None = None
        """When the block last yielded was captured (PortAudio's ``inputBufferAdcTime``, in the
        streams' shared clock; None while the device is lost): the echo canceller aligns by it."""
        self._written = 0  # blocks written (callback only)
        self._read = 0  # blocks read (loop only)
        self.overflows = 0
        """Input overflows so far: PortAudio's, plus blocks dropped because the ring was full."""
        self._waiting = False
        self._event_ready: asyncio.Event | None = None
        self._wait_started = 0.0
        self._stalled = False
        self._stall_timer: asyncio.TimerHandle | None = None
        self.on_block: Callable[[int], None] | None = None
        """Called on PortAudio's callback thread for each block kept in the ring, with its number
        (0, 1, 2, ... in capture order), before the loop is woken for it: a timing tap for
        measuring capture latency from outside (``benchmarks/bench_capture.py``). It runs on the
        real-time thread, so it must be quick and never block; None (the default) calls nothing."""

    def _make_stream(self, channels: int) -> Any:
        return self._sd.InputStream(
            device=self.device.index,
            samplerate=self.sample_rate,
            blocksize=self.blocksize,
            channels=channels,
            dtype="float32",
            latency="low",
            callback=self._callback,
            finished_callback=self._on_finished,
        )

    def _open_stream(self) -> Any:
        stream = super()._open_stream()
        ring = getattr(self, "_ring", None)
        if ring is not None and ring.shape[2] != self.channels:
            # Reopened with another channel count: the ring is empty (the loop drained it).
            self._ring = np.zeros(
                (self._slots, self.blocksize, self.channels), dtype=np.float32
            )
        return stream

    def _callback(
        self, indata: np.ndarray, frames: int, time_info: Any, status: Any
    ) -> None:
        if self._end_stream:
            raise self._sd.CallbackAbort
        self.callbacks += 1
        if status.input_overflow:
            self.overflows += 1
        if self._written - self._read >= self._slots:
            self.overflows += 1
        else:
            slot = self._written % self._slots
            n = min(frames, self.blocksize)
            self._ring[slot, :n] = indata[:n]
            self._lengths[slot] = n
            self._adc_times[slot] = time_info.inputBufferAdcTime
            self._written += 1
            if self.on_block is not None:
                self.on_block(self._written - 1)
        if self._waiting:
            self._waiting = False
            self._wake_threadsafe(self._wake)

    def _wake(self) -> None:
        if self._event_ready is not None:
            self._event_ready.set()

    def _take(self) -> np.ndarray | None:
        if self._read >= self._written:
            return None
        slot = self._read % self._slots
        frames = self._ring[slot, : self._lengths[slot]]
        self.block_time = float(self._adc_times[slot]) or None
        block = (
            frames[:, 0].copy()
            if self.channels == 1
            else frames.mean(axis=1, dtype=np.float32)
        )
        self._read += 1
        return block

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        """Float32 mono blocks at ``sample_rate`` as the device delivers them, until closed.

        While the device is lost, silence at the real-time rate, so the session goes on."""
        self._loop = asyncio.get_running_loop()
        self._event_ready = asyncio.Event()
        await self._blocking(self._start_stream)
        self._report_open("started")
        while not self._closed:
            block = self._take()
            if block is not None:
                self._report_xruns(self.overflows, "overflow")
                yield block
                continue
            if self._finished:
                async for silence in self._recover("the stream stopped"):
                    yield silence
                continue
            if not await self._wait_for_data():
                async for silence in self._recover(
                    f"no audio for {self.stall_timeout_s:g} s"
                ):
                    yield silence

    async def _wait_for_data(self) -> bool:
        """Wait for the callback; False when it stalled for ``stall_timeout_s``.

        A plain wait on the event: ``asyncio.wait_for`` would cost a task and a timer for every
        block. One stall timer, re-armed lazily (about once per ``stall_timeout_s`` while
        audio flows), wakes the wait instead when no audio came for that long."""
        assert self._event_ready is not None and self._loop is not None
        self._event_ready.clear()
        self._waiting = True
        if self._read < self._written or self._finished or self._closed:
            self._waiting = False
            return True
        now = self._loop.time()
        self._wait_started = now
        self._stalled = False
        if self._stall_timer is None:
            self._stall_timer = self._loop.call_at(
                now + self.stall_timeout_s, self._check_stall
            )
        try:
            await self._event_ready.wait()
        finally:
            self._waiting = False
        return (
            self._closed
            or not self._stalled
            or self._read < self._written
            or self._finished
        )

    def _check_stall(self) -> None:
        """On the loop: wake a wait that has gone ``stall_timeout_s`` without audio, else re-arm."""
        assert self._loop is not None
        self._stall_timer = None
        if self._closed:
            return
        if self._waiting:
            due = self._wait_started + self.stall_timeout_s
            if self._loop.time() >= due:
                self._stalled = True
                if self._event_ready is not None:
                    self._event_ready.set()
                return
        else:
            due = self._loop.time() + self.stall_timeout_s
        self._stall_timer = self._loop.call_at(due, self._check_stall)

    async def _recover(self, detail: str) -> AsyncIterator[np.ndarray]:
        assert self._loop is not None
        self._report_lost(
            detail, "reopening it; the session goes on with silence until it is back"
        )
        with contextlib.suppress(DeviceError):
            await self._blocking(self._close_stream)
        self._stream = None
        self._read = self._written  # what the lost stream left is stale
        self.block_time = None
        silence = np.zeros(self.blocksize, dtype=np.float32)
        async for due in self._blocks_until_reopened():
            await asyncio.sleep(max(0.0, due - self._loop.time()))
            yield silence

    async def close(self) -> None:
        """Stop capturing and release the device."""
        self._closed = True
        if self._stall_timer is not None:
            self._stall_timer.cancel()
            self._stall_timer = None
        self._wake()
        self._report_xruns(self.overflows, "overflow", force=True)
        await self._release()


__all__ = ["DeviceSource"]
