"""The session: source -> resample -> levels + reference VAD -> STT -> responder -> TTS -> sink.

Every stage is an asyncio task fed by a queue; stages never reach into each other's state.
The STT stage awaits the engine's ``send_audio`` for every mic block, in order.
Events are stamped here (``t`` from the session clock, ``audio_t`` from the mic audio handed to
the STT engine) and published on the :class:`EventBus`.

Pacing. A device source is clocked by its hardware. A file source is paced by the session:
in real time on a :class:`RealClock`, or as fast as possible on a :class:`VirtualClock`, where
after each block the session waits for every stage to settle (STT processed the block, the
responder answered, TTS finished synthesizing), so a run gives the same events every time.
In virtual time, synthesis and network round trips therefore take zero time; real latencies
are measured in real-time runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voiceconsole.audio.io import AudioSink, AudioSource
from voiceconsole.audio.levels import LevelWindow, MeterSlot, block_stats
from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.clock import Clock, RealClock, VirtualClock
from voiceconsole.engines.base import SttEngine, TtsEngine, TtsError, TurnSettings
from voiceconsole.errors import UserError
from voiceconsole.events import (
    AudioLevel,
    EngineError,
    Event,
    InterruptCommand,
    MuteCommand,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SayCommand,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    SpeechStopped,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnConfigChanged,
    TurnEnd,
    TurnStart,
)
from voiceconsole.session.bus import EventBus
from voiceconsole.session.responder import Responder

log = logging.getLogger(__name__)


AudioTap = Callable[[str, np.ndarray, int], None]


class SpeechEdge(Protocol):
    """A speech start or stop found by the reference VAD."""

    kind: str  # "start" | "stop"
    speech_audio_t: float


class SpeechDetector(Protocol):
    """The reference VAD: float32 16 kHz chunks in, speech edges out."""

    def process(self, samples: np.ndarray) -> list[Any]: ...


@dataclass
class SessionOptions:
    """How the session runs (everything but the components themselves)."""

    block_ms: int = 20
    """Size of the blocks read from a file source."""
    level_interval_s: float = 0.05
    """How often ``audio.level`` events are emitted (the UI polls meters faster)."""
    trailing_silence_s: float = 2.0
    """Silence streamed after a file ends, at least, so the last turn ends."""
    drain_timeout_s: float = 30.0
    """After a file ends, the longest wait for the open turn and the replies to finish."""
    hold_open: bool = False
    """Keep streaming silence after a file ends until stopped (the UI wants this)."""
    auto_barge_in: bool = True
    """Interrupt the reply when the user starts a turn while it plays."""
    mute_while_speaking: bool = False
    """Stream silence instead of the mic while a reply plays (setups without echo cancellation)."""
    echo_tail_s: float = 0.3
    """With ``mute_while_speaking``: keep the mic muted this long after playback ends, because
    the last reply audio is still in the device buffers and the room when the queue runs dry."""
    settle_timeout_s: float = 60.0
    """Virtual time: the longest wait for the stages to settle after a block."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Extra settings reported in ``session.start`` (never secrets)."""


class Session:
    """One voice conversation. Create, subscribe to :attr:`bus`, then ``await run()``."""

    def __init__(
        self,
        *,
        source: AudioSource,
        sink: AudioSink,
        stt: SttEngine,
        tts: TtsEngine,
        responder: Responder,
        reference_vad: SpeechDetector,
        clock: Clock | None = None,
        options: SessionOptions | None = None,
        turn_settings: TurnSettings | None = None,
        bus: EventBus | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.stt = stt
        self.tts = tts
        self.responder = responder
        self.reference_vad = reference_vad
        self.clock: Clock = clock or RealClock()
        self.options = options or SessionOptions()
        self.turn_settings = turn_settings or TurnSettings()
        self.bus = bus or EventBus()
        self.playback = PlaybackBuffer(sink.sample_rate)
        self.meters = SessionMeters()
        self.muted = False
        self.stt_rate = stt.sample_rate
        self.audio_samples_sent = 0
        """Mic samples (at the STT rate) handed to the STT engine so far."""

        self._mic_resampler = StreamResampler(source.sample_rate, self.stt_rate)
        self._mic_levels = LevelWindow(self.stt_rate, self.options.level_interval_s)
        self._speaker_levels = LevelWindow(sink.sample_rate, self.options.level_interval_s)
        self._silence = np.zeros(0, dtype=np.float32)
        self._stt_q: asyncio.Queue[np.ndarray] = asyncio.Queue()
        self._respond_q: asyncio.Queue[TurnEnd] = asyncio.Queue()
        self._tts_q: asyncio.Queue[tuple[int, str]] = asyncio.Queue()
        self._next_reply = 0
        self._pending_replies: set[int] = set()  # queued, synthesizing or playing
        self._cancelled: set[int] = set()
        self._synth_reply: int | None = None
        self._turn_open = False
        self._echo_until = 0.0
        self._stt_failed = False
        self._stopping = False
        self._stop_reason = "end of input"
        self._stop_event: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._background: set[asyncio.Task[Any]] = set()
        self.running = False
        self.audio_taps: list[AudioTap] = []
        """Called with ``(stream, samples, rate)`` for mic audio as handed to the STT engine
        (``"mic"``) and speaker audio as played (``"speaker"``); e.g. the recorder."""

    # --- stamping ---------------------------------------------------------------------------

    @property
    def audio_t(self) -> float:
        """Seconds of mic audio handed to the STT engine."""
        return self.audio_samples_sent / self.stt_rate

    def emit(self, event_type: type[Event], /, **fields: Any) -> Event:
        """Stamp an event now, publish it, then react to it. Call on the event loop only."""
        event = event_type(t=self.clock.now(), audio_t=self.audio_t, **fields)
        self.bus.publish(event)
        self._react(event)
        return event

    # --- commands (from the UI, scripts or tests) ---------------------------------------------

    def interrupt(self, reason: str = "key") -> None:
        """Barge-in: silence the speaker at once, cancel synthesis and every queued reply."""
        self.emit(InterruptCommand, reason=reason)
        self.playback.interrupt()
        for reply in sorted(self._pending_replies):
            self._cancelled.add(reply)
            self.emit(TtsCancelled, reply=reply)
        self._pending_replies.clear()
        if self._synth_reply is not None:
            self._spawn(self.tts.cancel(self._synth_reply))

    def set_muted(self, muted: bool) -> None:
        """Mute or unmute the mic; a muted mic still streams silence so turns can end."""
        if muted != self.muted:
            self.muted = muted
            self.emit(MuteCommand, muted=muted)

    def say(self, text: str) -> int | None:
        """Queue a line for the bot to speak; returns its reply number."""
        text = text.strip()
        if not text:
            return None
        self.emit(SayCommand, text=text)
        return self._queue_reply(text, origin="user", turn=None)

    def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune turn detection mid-session."""
        settings.validate()
        self.turn_settings = settings
        self.emit(TurnConfigChanged, settings=settings.as_dict())
        self._spawn(self.stt.update_turn_settings(settings))

    def request_stop(self, reason: str = "quit") -> None:
        """Ask the session to stop; :meth:`run` then closes the engines and returns."""
        self._stop_reason = reason
        if self._stop_event is not None:
            self._stop_event.set()

    @property
    def busy_speaking(self) -> bool:
        """Whether a reply is queued, being synthesized or playing."""
        return bool(self._pending_replies) or self.playback.busy

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until the input ends (file) or :meth:`request_stop`; then close everything."""
        self._loop = asyncio.get_running_loop()
        self._stop_event = asyncio.Event()
        self.running = True
        self.emit(
            SessionStarted,
            stt=self.stt.name,
            tts=self.tts.name,
            responder=self.responder.name,
            source=self.source.name,
            sink=self.sink.name,
            sample_rate=self.stt_rate,
            settings={
                "turn": self.turn_settings.as_dict(),
                "block_ms": self.options.block_ms,
                "auto_barge_in": self.options.auto_barge_in,
                "mute_while_speaking": self.options.mute_while_speaking,
                "virtual_clock": isinstance(self.clock, VirtualClock),
                "source_rate": self.source.sample_rate,
                "sink_rate": self.sink.sample_rate,
                "tts_rate": self.tts.sample_rate,
                **self.options.metadata,
            },
        )
        self.emit(TurnConfigChanged, settings=self.turn_settings.as_dict())
        failure: BaseException | None = None
        stages: list[asyncio.Task[None]] = []
        for part in (self.source, self.sink):
            attach = getattr(part, "attach", None)
            if attach is not None:
                attach(self.emit)  # devices report xruns and lost devices as events
        try:
            await self._start_engines()
            await self.sink.start(self.playback, self._on_speaker_progress)
            stages = [
                asyncio.create_task(self._stt_stage(), name="vc-stt"),
                asyncio.create_task(self._responder_stage(), name="vc-responder"),
                asyncio.create_task(self._tts_stage(), name="vc-tts"),
            ]
            driver = asyncio.create_task(self._drive(), name="vc-driver")
            stopper = asyncio.create_task(self._stop_event.wait(), name="vc-stop")
            done, _ = await asyncio.wait([driver, stopper, *stages], return_when=asyncio.FIRST_COMPLETED)
            for task in (driver, stopper):
                if not task.done():
                    task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await driver
            for task in done:
                if task is not stopper and not task.cancelled() and task.exception() is not None:
                    failure = task.exception()
            if failure is None and driver.done() and not driver.cancelled() and driver.exception() is not None:
                failure = driver.exception()
        except UserError as exc:
            failure = exc
        except asyncio.CancelledError:
            self._stop_reason = "cancelled"
            raise
        finally:
            await self._shutdown(stages, failure)
        if failure is not None:
            raise failure

    async def _start_engines(self) -> None:
        for role, engine in (("stt", self.stt), ("tts", self.tts)):
            try:
                await engine.start(self.emit)
            except UserError as exc:
                if not exc.reported:  # an engine that emitted its own engine.error set this
                    self.emit(EngineError, role=role, engine=engine.name, message=str(exc), fatal=True)
                raise

    async def _shutdown(self, stages: list[asyncio.Task[None]], failure: BaseException | None) -> None:
        self._stopping = True
        if failure is not None and self._stop_reason == "end of input":
            self._stop_reason = "error"
        # Let the engine hear the audio already captured, then let it flush its last events.
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(self._stt_q.join(), timeout=5.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stt.close(), timeout=10.0)
        for task in stages:
            task.cancel()
        for task in [*stages, *self._background]:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        for closer in (self.tts.close, self.sink.close, self.source.close):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(closer(), timeout=5.0)
        self.running = False
        self.emit(SessionStopped, reason=self._stop_reason)

    def _spawn(self, coro: Any) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    # --- the driver: mic blocks in, speaker blocks out ---------------------------------------------

    async def _drive(self) -> None:
        virtual = isinstance(self.clock, VirtualClock)
        paced = not self.source.self_clocked
        src_rate = self.source.sample_rate
        src_samples = 0
        async for block in self._mic_blocks():
            if paced:
                t_end = (src_samples + block.shape[0]) / src_rate
                if virtual:
                    self.clock.advance_to(t_end)  # type: ignore[union-attr]
                else:
                    await self.clock.sleep_until(t_end)
            src_samples += block.shape[0]
            self._process_mic_block(block)
            if virtual:
                await self._settle()
            if not self.sink.self_clocked:
                self._play_due()

    async def _mic_blocks(self) -> AsyncIterator[np.ndarray]:
        """The source's blocks, then silence until the conversation has wound down."""
        block = None
        async for block in self.source.blocks():
            yield block
        if self.source.self_clocked:
            return
        n = block.shape[0] if block is not None else int(self.source.sample_rate * self.options.block_ms / 1000)
        self._process_mic_block(np.zeros(0, dtype=np.float32), last=True)
        self._mic_resampler = StreamResampler(self.source.sample_rate, self.stt_rate)
        silence = np.zeros(n, dtype=np.float32)
        block_s = n / self.source.sample_rate
        streamed = 0.0
        virtual = isinstance(self.clock, VirtualClock)
        while True:
            winding_down = self._turn_open or self.busy_speaking
            if streamed >= self.options.trailing_silence_s and not winding_down and not self.options.hold_open:
                return
            if streamed >= self.options.drain_timeout_s and not self.options.hold_open:
                return
            if self.options.hold_open and virtual and streamed >= self.options.trailing_silence_s and not winding_down:
                # Nothing left to happen in virtual time: wait for the user to stop the session.
                await asyncio.Event().wait()
            yield silence
            streamed += block_s

    def _process_mic_block(self, block: np.ndarray, last: bool = False) -> None:
        samples = self._mic_resampler.process(block, last=last)
        if samples.size == 0:
            return
        if self.muted or (self.options.mute_while_speaking and self._reply_audible()):
            samples = np.zeros_like(samples)
        stats = block_stats(samples)
        self.meters.mic.update_from(*stats, samples.size)
        level = self._mic_levels.add_stats(*stats, samples.size)
        if level is not None:
            self.emit(AudioLevel, source="mic", rms_dbfs=level[0], peak_dbfs=level[1])
        self._stt_q.put_nowait(samples)

    def _reply_audible(self) -> bool:
        """Whether reply audio is playing or may still be echoing back into the mic."""
        now = self.clock.now()
        if self.playback.busy:
            self._echo_until = now + self.options.echo_tail_s
            return True
        return now < self._echo_until

    async def _settle(self) -> None:
        async def all_idle() -> None:
            await self._stt_q.join()
            await self._respond_q.join()
            await self._tts_q.join()
            # A reply queued by the responder after the TTS queue looked idle:
            await self._respond_q.join()
            await self._tts_q.join()

        try:
            await asyncio.wait_for(all_idle(), timeout=self.options.settle_timeout_s)
        except asyncio.TimeoutError:
            raise RuntimeError(
                f"pipeline did not settle within {self.options.settle_timeout_s:.0f} s of virtual-time block"
            ) from None

    def _play_due(self) -> None:
        """Tick-driven sinks: pull the speaker audio due up to the current session time."""
        due = int(round(self.clock.now() * self.sink.sample_rate)) - self.playback.samples_pulled
        if due <= 0:
            return
        if self.playback.skip_silence(due):
            # Nothing to play (most ticks): a shared silent block, measured without looking.
            block = self._silence_block(due)
            self.sink.write(block)
            self._on_speaker_block(block, silent=True)
        else:
            block = self.playback.pull(due)
            self.sink.write(block)
            self._on_speaker_block(block)
        self._drain_playback()

    def _silence_block(self, n: int) -> np.ndarray:
        """``n`` zeros, read-only and reused while ``n`` stays the same."""
        block = self._silence
        if block.shape[0] != n:
            block = np.zeros(n, dtype=np.float32)
            block.flags.writeable = False
            self._silence = block
        return block

    def _on_speaker_block(self, block: np.ndarray, silent: bool = False) -> None:
        for tap in self.audio_taps:
            tap("speaker", block, self.sink.sample_rate)
        if block.size:
            stats = (0.0, 0.0) if silent else block_stats(block)
            self.meters.speaker.update_from(*stats, block.size)
            level = self._speaker_levels.add_stats(*stats, block.size)
        else:
            self.meters.speaker.update(block)
            level = self._speaker_levels.add(block)
        if level is not None:
            self.emit(AudioLevel, source="speaker", rms_dbfs=level[0], peak_dbfs=level[1])

    def _on_speaker_progress(self, played: np.ndarray | None = None) -> None:
        """Self-clocked sinks call this on the event loop after playing ``played``."""
        if played is not None and played.size:
            self._on_speaker_block(played)
        self._drain_playback()

    def _drain_playback(self) -> None:
        rate = self.sink.sample_rate
        for notice in self.playback.drain_notices():
            if notice.kind == "start":
                self.emit(PlaybackStarted, reply=notice.reply)
            elif notice.kind == "finish":
                self._pending_replies.discard(notice.reply)
                self.emit(PlaybackFinished, reply=notice.reply, samples_played=notice.samples_played, sample_rate=rate)
            else:
                self.emit(
                    PlaybackInterrupted, reply=notice.reply, samples_played=notice.samples_played, sample_rate=rate
                )

    # --- stages -------------------------------------------------------------------------------

    async def _stt_stage(self) -> None:
        while True:
            samples = await self._stt_q.get()
            try:
                self.audio_samples_sent += samples.shape[0]
                if not self._stt_failed:
                    await self._send_to_stt(samples)
                self._after_stt(samples)
            finally:
                self._stt_q.task_done()

    def _after_stt(self, samples: np.ndarray) -> None:
        for tap in self.audio_taps:
            tap("mic", samples, self.stt_rate)
        # The reference VAD runs inline once the audio is on the wire: a Silero frame costs
        # less than a hop to a worker thread and back would.
        for edge in self.reference_vad.process(samples):
            kind = SpeechStarted if edge.kind == "start" else SpeechStopped
            self.emit(kind, speech_audio_t=edge.speech_audio_t)

    async def _send_to_stt(self, samples: np.ndarray) -> None:
        try:
            await self.stt.send_audio(samples)
        except Exception as exc:
            self._stt_error(exc)

    def _stt_error(self, exc: Exception) -> None:
        self._stt_failed = True
        if isinstance(exc, UserError):
            self.emit(EngineError, role="stt", engine=self.stt.name, message=str(exc), fatal=True)
            return
        # An engine bug must not take the console down.
        log.error("STT engine failed", exc_info=exc)
        self.emit(
            EngineError,
            role="stt",
            engine=self.stt.name,
            message=f"{type(exc).__name__}: {exc}",
            hint="the STT engine stopped; restart the session",
            fatal=True,
        )

    async def _responder_stage(self) -> None:
        while True:
            turn_end = await self._respond_q.get()
            try:
                text = await self.responder.reply(turn_end.turn, turn_end.transcript)
                if text and not self._stopping:
                    self._queue_reply(text, origin="responder", turn=turn_end.turn)
            except Exception as exc:
                log.exception("responder failed")
                self.emit(EngineError, role="responder", engine=self.responder.name, message=f"{exc}")
            finally:
                self._respond_q.task_done()

    def _queue_reply(self, text: str, origin: str, turn: int | None) -> int:
        self._next_reply += 1
        reply = self._next_reply
        self._pending_replies.add(reply)
        self.emit(TtsQueued, reply=reply, text=text, origin=origin, turn=turn)
        self._tts_q.put_nowait((reply, text))
        return reply

    async def _tts_stage(self) -> None:
        while True:
            reply, text = await self._tts_q.get()
            try:
                if reply not in self._cancelled:
                    await self._synthesize(reply, text)
            finally:
                self._tts_q.task_done()

    async def _synthesize(self, reply: int, text: str) -> None:
        self._synth_reply = reply
        resampler = StreamResampler(self.tts.sample_rate, self.sink.sample_rate)
        produced = 0
        self.emit(TtsRequestSent, reply=reply)
        requested = self.clock.now()
        try:
            async with contextlib.aclosing(self.tts.synthesize(reply, text)) as chunks:
                async for chunk in chunks:
                    if reply in self._cancelled:
                        break
                    if produced == 0:
                        self.emit(TtsFirstAudio, reply=reply, latency_s=self.clock.now() - requested)
                    if chunk.words:
                        self.emit(TtsWordTimings, reply=reply, words=tuple(chunk.words))
                    produced += chunk.samples.shape[0]
                    self.playback.push(reply, resampler.process(chunk.samples))
        except (TtsError, UserError) as exc:
            self._fail_reply(reply, str(exc))
            return
        except Exception as exc:
            log.exception("TTS engine failed")
            self._fail_reply(reply, f"{type(exc).__name__}: {exc}")
            return
        finally:
            self._synth_reply = None
        if reply in self._cancelled:
            return
        self.playback.push(reply, resampler.process(np.zeros(0, dtype=np.float32), last=True))
        self.playback.end_reply(reply)
        self.emit(TtsDone, reply=reply, duration_s=produced / self.tts.sample_rate)
        if produced == 0:
            self._pending_replies.discard(reply)

    def _fail_reply(self, reply: int, message: str) -> None:
        # Audio that did arrive still plays; the reply is marked failed.
        self.playback.end_reply(reply)
        if self.playback.queued_samples() == 0 and self.playback.playing != reply:
            self._pending_replies.discard(reply)
        self.emit(TtsFailed, reply=reply, message=message)

    # --- reactions ----------------------------------------------------------------------------

    def _react(self, event: Event) -> None:
        if isinstance(event, TurnStart):
            self._turn_open = True
            if self.options.auto_barge_in and self.busy_speaking and not self._stopping:
                self.interrupt(reason="auto")
        elif isinstance(event, TurnEnd):
            self._turn_open = False
            if event.transcript.strip() and not self._stopping:
                self._respond_q.put_nowait(event)


@dataclass
class SessionMeters:
    """The session's level meters, written as audio flows and polled by the UI."""

    mic: MeterSlot = field(default_factory=MeterSlot)
    """The mic audio as handed to the STT engine (silence while muted)."""
    speaker: MeterSlot = field(default_factory=MeterSlot)
    """The reply audio as played."""


def make_clock(virtual: bool) -> Clock:
    """A virtual clock for fast file runs and replays, else real time."""
    return VirtualClock() if virtual else RealClock()


__all__ = ["Session", "SessionMeters", "SessionOptions", "SpeechDetector", "make_clock"]
