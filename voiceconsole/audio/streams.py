"""Capture and playback workers on PortAudio streams.

The stream callbacks run on PortAudio's real-time thread. They never block, log or allocate
much: capture copies frames into a preallocated ring and wakes the event loop only when it is
waiting; playback fills the output from the :class:`PlaybackBuffer` (a short lock, no I/O) and
hands a copy of the block to the event loop with ``call_soon_threadsafe``. Counters (xruns,
callbacks) are plain ints written by the callback and read on the loop, where events are emitted.

A device that stops (the stream finishes on its own, or no callback arrives for
``stall_timeout_s``) is reported lost (``audio.device`` state ``lost`` plus a non-fatal
``engine.error`` with role ``audio``); the worker keeps time with silence and tries to reopen
the same device with backoff, then reports it ``open`` again.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import numpy as np

from voiceconsole.audio.devices import (
    PA_LOCK,
    DeviceInfo,
    Kind,
    load_sounddevice,
    register_stream,
    unregister_stream,
)
from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.errors import DeviceError
from voiceconsole.events import AudioXrun, DeviceState, EngineError, Event

Emit = Callable[..., Event]

REOPEN_FIRST_S = 0.1
BLOCKING_CALL_TIMEOUT_S = 5.0  # longest wait for a PortAudio open/start/close before giving up on it
REOPEN_MAX_S = 2.0
XRUN_REPORT_S = 0.25  # at most one audio.xrun event per stream this often


class _DeviceWorker:
    """What capture and playback share: opening with a channel fallback, loss and reopening."""

    kind: Kind
    self_clocked = True
    preferred_rate: int | None = None
    """Rate to open the device at when it accepts it (else its default rate)."""

    def __init__(self, device: DeviceInfo, block_ms: int, stall_timeout_s: float) -> None:
        self._sd = load_sounddevice()
        self.device = device
        self.sample_rate = self._pick_rate()
        self.block_ms = block_ms
        self.blocksize = max(1, int(round(self.sample_rate * block_ms / 1000)))
        self.stall_timeout_s = stall_timeout_s
        self.name = f"device:{device.name}"
        self.description = f"{device.name} ({device.hostapi}, {self.sample_rate} Hz, {block_ms} ms blocks)"
        self.channels = 1
        self.callbacks = 0
        """Callbacks run so far (written by the real-time thread)."""
        self.reopened = 0
        self._emit: Emit | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._finished = False  # the stream stopped without us asking
        self._closing_stream = False
        self._end_stream = False  # asks the callback to end the stream (CallbackAbort)
        self._stream_done = threading.Event()  # the stream's finished callback ran
        self._stream: Any = self._open_stream()
        self._xrun_reported = 0
        self._xrun_reported_at = 0.0

    # --- wiring ---------------------------------------------------------------------------------

    def attach(self, emit: Emit) -> None:
        """The session's ``emit`` (called on the event loop only)."""
        self._emit = emit

    def _event(self, event_type: type[Event], /, **fields: Any) -> None:
        if self._emit is not None:
            self._emit(event_type, **fields)

    def _wake_threadsafe(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            return
        with contextlib.suppress(RuntimeError):  # the loop closed under us
            loop.call_soon_threadsafe(callback, *args)

    # --- the stream -----------------------------------------------------------------------------

    def _make_stream(self, channels: int) -> Any:
        raise NotImplementedError

    def _pick_rate(self) -> int:
        preferred = self.preferred_rate
        if preferred is None or preferred == self.device.default_rate:
            return self.device.default_rate
        check = self._sd.check_input_settings if self.kind == "input" else self._sd.check_output_settings
        try:
            with PA_LOCK:
                check(device=self.device.index, samplerate=preferred, channels=1, dtype="float32")
        except Exception:  # noqa: BLE001 - any refusal means "use the device's own rate"
            return self.device.default_rate
        return preferred

    def _open_stream(self) -> Any:
        """Open (not start) a stream on the device, mono if it can, else its first channels."""
        sd = self._sd
        tries = [1] + ([min(2, self.device.channels(self.kind))] if self.device.channels(self.kind) > 1 else [])
        error: Exception | None = None
        for channels in tries:
            try:
                with PA_LOCK:
                    stream = self._make_stream(channels)
            except (sd.PortAudioError, ValueError) as exc:
                error = exc
                continue
            self.channels = channels
            self._finished = False
            self._end_stream = False
            self._stream_done = threading.Event()
            register_stream(stream)
            return stream
        option = "--mic FILE.wav" if self.kind == "input" else "--speaker OUT.wav or null"
        raise DeviceError(
            f"cannot open {self.kind} device {self.device.index} {self.device.name!r} at "
            f"{self.sample_rate} Hz ({error}); choose another with --{self.kind}-device "
            f"(see --list-devices) or use {option}"
        )

    def _start_stream(self) -> None:
        try:
            with PA_LOCK:
                self._stream.start()
        except self._sd.PortAudioError as exc:
            raise DeviceError(
                f"cannot start {self.kind} device {self.device.index} {self.device.name!r} ({exc}); "
                f"choose another with --{self.kind}-device (see --list-devices)"
            ) from None

    def _close_stream(self) -> None:
        """Blocking. The callback ends a running stream itself (CallbackAbort) before it is
        closed: PortAudio's abort cancels the callback thread (pthread_cancel on ALSA), which
        can leave the Python runtime deadlocked."""
        stream = self._stream
        if stream is None:
            return
        self._closing_stream = True
        try:
            with contextlib.suppress(Exception):
                if stream.active and not self._stream_done.is_set():
                    self._end_stream = True
                    if not self._stream_done.wait(1.0):
                        stream.stop(ignore_errors=True)  # no callbacks come: the polite stop
                with PA_LOCK:
                    stream.close(ignore_errors=True)
        finally:
            unregister_stream(stream)
            self._closing_stream = False

    async def _blocking(self, call: Callable[[], Any]) -> Any:
        """Run a blocking PortAudio call in a daemon thread: one that hangs in a broken driver
        is abandoned after BLOCKING_CALL_TIMEOUT_S and cannot keep the process from exiting."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def settle(outcome: tuple[bool, Any]) -> None:
            if future.done():
                return
            if outcome[0]:
                future.set_result(outcome[1])
            else:
                future.set_exception(outcome[1])

        def run() -> None:
            try:
                outcome: tuple[bool, Any] = (True, call())
            except BaseException as exc:  # noqa: BLE001 - handed to the awaiting coroutine
                outcome = (False, exc)
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(settle, outcome)

        threading.Thread(target=run, name=f"vc-audio-{self.kind}", daemon=True).start()
        try:
            return await asyncio.wait_for(asyncio.shield(future), BLOCKING_CALL_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise DeviceError(
                f"the {self.kind} device did not answer within {BLOCKING_CALL_TIMEOUT_S:g} s"
            ) from None

    def _on_finished(self) -> None:
        # PortAudio thread: the stream became inactive (CallbackAbort, device error, stop).
        self._stream_done.set()
        if not self._closing_stream and not self._closed:
            self._finished = True
            self._wake_threadsafe(self._wake)

    def _wake(self) -> None:
        """On the loop: something changed (data arrived or the stream finished)."""

    # --- loss and recovery ----------------------------------------------------------------------

    def _report_open(self, detail: str) -> None:
        self._event(
            DeviceState,
            stream=self.kind,
            state="open",
            device=self.device.name,
            sample_rate=self.sample_rate,
            detail=detail,
        )

    def _report_lost(self, detail: str, hint: str) -> None:
        self._event(
            DeviceState, stream=self.kind, state="lost", device=self.device.name, sample_rate=self.sample_rate, detail=detail
        )
        self._event(
            EngineError,
            role="audio",
            engine=self.name,
            message=f"{self.kind} device {self.device.name!r} lost: {detail}",
            hint=hint,
            fatal=False,
        )

    async def _try_reopen(self) -> bool:
        """One attempt to reopen and start the device; True when it is back."""
        try:
            stream = await self._blocking(self._open_stream)
        except DeviceError:
            return False
        self._stream = stream
        try:
            await self._blocking(self._start_stream)
        except Exception:  # noqa: BLE001 - any PortAudio failure means "not yet"
            with contextlib.suppress(DeviceError):
                await self._blocking(self._close_stream)
            self._stream = None
            return False
        self.reopened += 1
        self._report_open("reopened")
        return True

    def _report_xruns(self, total: int, kind: str, force: bool = False) -> None:
        """Emit ``audio.xrun`` with the running total, coalesced to one event per XRUN_REPORT_S."""
        if total <= self._xrun_reported or self._loop is None:
            return
        now = self._loop.time()
        if force or now - self._xrun_reported_at >= XRUN_REPORT_S:
            self._xrun_reported = total
            self._xrun_reported_at = now
            self._event(AudioXrun, stream=self.kind, kind=kind, count=total)

    async def _release(self) -> None:
        self._closed = True
        if self._stream is not None:
            with contextlib.suppress(DeviceError):
                await self._blocking(self._close_stream)
            self._stream = None
        self._event(DeviceState, stream=self.kind, state="closed", device=self.device.name, sample_rate=self.sample_rate)


class DeviceSource(_DeviceWorker):
    """The capture worker: mic blocks from an input device, at the device's own rate.

    The callback copies each block into a preallocated ring of ``ring_blocks`` slots; a full ring
    (the loop fell behind) drops the block and counts an overflow, like PortAudio's own
    ``input_overflow``. ``blocks()`` yields float32 mono copies as they arrive, until closed.
    """

    kind: Kind = "input"
    # The STT engines take 16 kHz. Capturing at that rate leaves no resampler between the
    # callback and the wire: soxr's HQ stream holds about 40 ms back at 44.1 kHz -> 16 kHz
    # (benchmarks/bench_capture.py); an audio server that accepts 16 kHz resamples as it reads.
    preferred_rate: int | None = 16000

    def __init__(
        self, device: DeviceInfo, block_ms: int = 20, *, ring_blocks: int = 100, stall_timeout_s: float = 5.0
    ) -> None:
        super().__init__(device, block_ms, stall_timeout_s)
        self._slots = ring_blocks
        self._ring = np.zeros((ring_blocks, self.blocksize, self.channels), dtype=np.float32)
        self._lengths = np.zeros(ring_blocks, dtype=np.int64)
        self._written = 0  # blocks written (callback only)
        self._read = 0  # blocks read (loop only)
        self.overflows = 0
        """Input overflows so far: PortAudio's, plus blocks dropped because the ring was full."""
        self._waiting = False
        self._event_ready: asyncio.Event | None = None
        self._wait_started = 0.0
        self._stalled = False
        self._stall_timer: asyncio.TimerHandle | None = None

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
            self._ring = np.zeros((self._slots, self.blocksize, self.channels), dtype=np.float32)
        return stream

    def _callback(self, indata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
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
            self._written += 1
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
        block = frames[:, 0].copy() if self.channels == 1 else frames.mean(axis=1, dtype=np.float32)
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
                async for silence in self._recover(f"no audio for {self.stall_timeout_s:g} s"):
                    yield silence

    async def _wait_for_data(self) -> bool:
        """Wait for the callback; False when it stalled for ``stall_timeout_s``.

        A plain wait on the event: ``asyncio.wait_for`` would cost a task and a timer for every
        20 ms block. One stall timer, re-armed lazily (about once per ``stall_timeout_s`` while
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
            self._stall_timer = self._loop.call_at(now + self.stall_timeout_s, self._check_stall)
        try:
            await self._event_ready.wait()
        finally:
            self._waiting = False
        return self._closed or not self._stalled or self._read < self._written or self._finished

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
        self._report_lost(detail, "reopening it; the session goes on with silence until it is back")
        with contextlib.suppress(DeviceError):
            await self._blocking(self._close_stream)
        self._stream = None
        self._read = self._written  # what the lost stream left is stale
        silence = np.zeros(self.blocksize, dtype=np.float32)
        block_s = self.blocksize / self.sample_rate
        delay = REOPEN_FIRST_S
        started = self._loop.time()
        next_try = started
        sent = 0
        while not self._closed:
            if self._loop.time() >= next_try:
                if await self._try_reopen():
                    return
                delay = min(delay * 2, REOPEN_MAX_S)
                next_try = self._loop.time() + delay
            sent += 1
            await asyncio.sleep(max(0.0, started + sent * block_s - self._loop.time()))
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


class DeviceSink(_DeviceWorker):
    """The playback worker: the output callback pulls the :class:`PlaybackBuffer` (the jitter
    buffer) and hands a copy of each played block to the session on the event loop.

    Underruns counted: the buffer's (a reply ran dry while still being synthesized) plus
    PortAudio's ``output_underflow``. While the device is lost the buffer is still drained at
    real-time pace, so replies finish and the session goes on.
    """

    kind: Kind = "output"

    def __init__(self, device: DeviceInfo, block_ms: int = 20, *, stall_timeout_s: float = 5.0) -> None:
        super().__init__(device, block_ms, stall_timeout_s)
        self.underflows = 0
        """PortAudio output underflows so far."""
        self._buffer: PlaybackBuffer | None = None
        self._on_progress: Callable[[np.ndarray | None], None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._lost: asyncio.Event | None = None  # created on the loop in start()

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

    def _callback(self, outdata: np.ndarray, frames: int, time_info: Any, status: Any) -> None:
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
        self._wake_threadsafe(self._played, mono.copy())

    @property
    def underruns(self) -> int:
        """Output underruns so far (the buffer's and PortAudio's)."""
        return (self._buffer.underruns if self._buffer is not None else 0) + self.underflows

    def _played(self, block: np.ndarray | None) -> None:
        """On the loop, after each block: tell the session, report underruns."""
        if self._on_progress is not None:
            self._on_progress(block)
        self._report_xruns(self.underruns, "underrun")

    def _wake(self) -> None:
        if self._lost is not None:
            self._lost.set()

    async def start(self, buffer: PlaybackBuffer, on_progress: Callable[[np.ndarray | None], None]) -> None:
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
        self._report_lost(detail, "reopening it; replies are timed but not heard until it is back")
        with contextlib.suppress(DeviceError):
            await self._blocking(self._close_stream)
        self._stream = None
        block_s = self.blocksize / self.sample_rate
        delay = REOPEN_FIRST_S
        started = self._loop.time()
        next_try = started
        pulled = 0
        while not self._closed:
            if self._loop.time() >= next_try:
                if await self._try_reopen():
                    return
                delay = min(delay * 2, REOPEN_MAX_S)
                next_try = self._loop.time() + delay
            # Drain at real-time pace like a null sink, so replies still start and finish.
            pulled += 1
            self._played(self._buffer.pull(self.blocksize))
            await asyncio.sleep(max(0.0, started + pulled * block_s - self._loop.time()))

    async def close(self) -> None:
        """Stop playing and release the device."""
        self._closed = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watchdog
        self._report_xruns(self.underruns, "underrun", force=True)
        await self._release()


__all__ = ["DeviceSink", "DeviceSource"]
