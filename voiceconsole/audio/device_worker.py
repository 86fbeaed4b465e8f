"""What the capture and playback workers share: a PortAudio stream on one device.

The stream callbacks run on PortAudio's real-time thread. They never block, log or allocate
much: a callback only copies frames and hands them to the event loop (``call_soon_threadsafe``);
counters (xruns, callbacks) are plain ints written by the callback and read on the loop, where
events are emitted. Blocking PortAudio calls (open, start, close) run in daemon threads.

A device that stops (the stream finishes on its own, or no callback arrives for
``stall_timeout_s``) is reported lost (``audio.device`` state ``lost`` plus a non-fatal
``engine.error`` with role ``audio``); the worker keeps time with silence and tries to reopen
the same device with backoff, then reports it ``open`` again. The capture worker is in
:mod:`voiceconsole.audio.capture_worker`, the playback worker in
:mod:`voiceconsole.audio.playback_worker`.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

from voiceconsole.audio.devices import PA_LOCK, DeviceInfo, Kind, load_sounddevice
from voiceconsole.errors import DeviceError
from voiceconsole.events import AudioXrun, DeviceState, EngineError, Event

Emit = Callable[..., Event]

REOPEN_FIRST_S = 0.1
BLOCKING_CALL_TIMEOUT_S = (
    5.0  # longest wait for a PortAudio open/start/close before giving up on it
)
REOPEN_MAX_S = 2.0
XRUN_REPORT_S = 0.25  # at most one audio.xrun event per stream this often


class DeviceWorker:
    """What capture and playback share: opening with a channel fallback, loss and reopening."""

    kind: Kind
    self_clocked = True
    preferred_rate: int | None = None
    """Rate to open the device at when it accepts it (else its default rate)."""

    def __init__(
        self, device: DeviceInfo, block_ms: int, stall_timeout_s: float
    ) -> None:
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

    @property
    def latency_s(self) -> float:
        """The stream's latency as PortAudio reports it (0.0 when no stream is open)."""
        stream = self._stream
        try:
            return float(stream.latency) if stream is not None else 0.0
        except Exception:  # noqa: BLE001 - a closed or broken stream has no latency to report
            return 0.0

    # --- the stream -----------------------------------------------------------------------------

    def _make_stream(self, channels: int) -> Any:
        raise NotImplementedError

    def _pick_rate(self) -> int:
        preferred = self.preferred_rate
        if preferred is None or preferred == self.device.default_rate:
            return self.device.default_rate
        check = (
            self._sd.check_input_settings
            if self.kind == "input"
            else self._sd.check_output_settings
        )
        try:
            with PA_LOCK:
                check(
                    device=self.device.index,
                    samplerate=preferred,
                    channels=1,
                    dtype="float32",
                )
        except Exception:  # noqa: BLE001 - any refusal means "use the device's own rate"
            return self.device.default_rate
        return preferred

    def _open_stream(self) -> Any:
        """Open (not start) a stream on the device, mono if it can, else its first channels."""
        sd = self._sd
        tries = [1] + (
            [min(2, self.device.channels(self.kind))]
            if self.device.channels(self.kind) > 1
            else []
        )
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
            return stream
        option = (
            "--mic FILE.wav" if self.kind == "input" else "--speaker OUT.wav or null"
        )
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
                        stream.stop(
                            ignore_errors=True
                        )  # no callbacks come: the polite stop
                with PA_LOCK:
                    stream.close(ignore_errors=True)
        finally:
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
            return await asyncio.wait_for(
                asyncio.shield(future), BLOCKING_CALL_TIMEOUT_S
            )
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
            DeviceState,
            stream=self.kind,
            state="lost",
            device=self.device.name,
            sample_rate=self.sample_rate,
            detail=detail,
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

    async def _blocks_until_reopened(self) -> AsyncIterator[float]:
        """While the device is lost: once per block of audio time, the loop time that block is
        due (real-time pace from now on), trying to reopen the device first with a backoff from
        REOPEN_FIRST_S to REOPEN_MAX_S between tries; ends once it is back or closed."""
        assert self._loop is not None
        block_s = self.blocksize / self.sample_rate
        delay = REOPEN_FIRST_S
        started = self._loop.time()
        next_try = started
        blocks = 0
        while not self._closed:
            if self._loop.time() >= next_try:
                if await self._try_reopen():
                    return
                delay = min(delay * 2, REOPEN_MAX_S)
                next_try = self._loop.time() + delay
            blocks += 1
            yield started + blocks * block_s

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
        self._event(
            DeviceState,
            stream=self.kind,
            state="closed",
            device=self.device.name,
            sample_rate=self.sample_rate,
        )


__all__ = [
    "BLOCKING_CALL_TIMEOUT_S",
    "REOPEN_FIRST_S",
    "REOPEN_MAX_S",
    "XRUN_REPORT_S",
    "DeviceWorker",
    "Emit",
]
