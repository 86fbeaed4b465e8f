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
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import numpy as np

from voiceconsole.audio.io import AudioSink, AudioSource
from voiceconsole.audio.playback import PlaybackBuffer
from voiceconsole.clock import Clock, RealClock, VirtualClock
from voiceconsole.engines.base import SttEngine, TtsEngine, TurnSettings
from voiceconsole.errors import UserError
from voiceconsole.events import (
    AecErle,
    AecState,
    EngineError,
    Event,
    InterruptCommand,
    MuteCommand,
    SayCommand,
    SessionStarted,
    SessionStopped,
    TurnConfigChanged,
    TurnEnd,
    TurnStart,
)
from voiceconsole.secrets import display_text
from voiceconsole.session.bus import EventBus
from voiceconsole.session.mic import AecPlan, MicInput
from voiceconsole.session.options import (
    AudioTap,
    SessionMeters,
    SessionOptions,
    SpeechDetector,
    SpeechEdge,
    make_clock,
)
from voiceconsole.session.replies import ReplyStages
from voiceconsole.session.responder import LlmResponder, Responder
from voiceconsole.session.speaker import SpeakerOutput
from voiceconsole.session.stt_stage import SttStage

if TYPE_CHECKING:
    from voiceconsole.session.llm_stage import LlmStage


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
        aec: AecPlan | None = None,
    ) -> None:
        self.source = source
        self.sink = sink
        self.stt = stt
        self.tts = tts
        self.responder = responder
        self.clock: Clock = clock or RealClock()
        self.options = options or SessionOptions()
        self.turn_settings = turn_settings or TurnSettings()
        self.bus = bus or EventBus()
        self.aec = aec or AecPlan("off", "not asked for", announce=False)
        """Echo cancellation: its state, and the canceller when it runs."""
        self.playback = PlaybackBuffer(sink.sample_rate)
        self.meters = SessionMeters()
        self.muted = False
        self.stt_rate = stt.sample_rate
        self.running = False
        self.audio_taps: list[AudioTap] = []
        """Called with ``(stream, samples, rate)`` for mic audio as handed to the STT engine
        (``"mic"``) and speaker audio as played (``"speaker"``); e.g. the recorder."""

        self._stt_stage = SttStage(stt, reference_vad, self.audio_taps, self.emit)
        self._replies = ReplyStages(
            responder=responder,
            tts=tts,
            playback=self.playback,
            sink_rate=sink.sample_rate,
            clock=self.clock,
            emit=self.emit,
            stopping=lambda: self._stopping,
        )
        self._llm: LlmStage | None = None
        if isinstance(responder, LlmResponder):
            from voiceconsole.engines.llm.history import Conversation
            from voiceconsole.session.llm_stage import LlmStage

            self._llm = LlmStage(
                client=responder.client,
                model=responder.model,
                conversation=Conversation(responder.system),
                speculate=responder.speculate,
                replies=self._replies,
                tts=tts,
                clock=self.clock,
                emit=self.emit,
                spawn=self._spawn,
                stopping=lambda: self._stopping,
            )
        self._speaker = SpeakerOutput(
            sink=sink,
            playback=self.playback,
            level_interval_s=self.options.level_interval_s,
            meter=self.meters.speaker,
            taps=self.audio_taps,
            emit=self.emit,
            played_out=self._replies.played_out,
        )
        self._mic = MicInput(
            source.sample_rate,
            self.stt_rate,
            self.options.level_interval_s,
            self.meters.mic,
            self.emit,
            self._stt_stage.put,
            self._mic_silenced,
            canceller=self.aec.canceller,
            taps=self.audio_taps,
            captured_at=(lambda: getattr(source, "block_time", None)),
        )
        if self.aec.canceller is not None:
            # The far end: the blocks as sent to the device with when they are heard, from a
            # device sink; else the speaker blocks as played (a tap). Both on the loop.
            if hasattr(sink, "on_played"):
                sink.on_played = self.aec.canceller.far
            else:
                self.audio_taps.insert(0, self.aec.canceller.tap)
            self.aec.canceller.on_erle = lambda db: self.emit(AecErle, erle_db=db)
        self._turn_open = False
        self._echo_until = 0.0
        self._stopping = False
        self._stop_reason = "end of input"
        self._stop_event: asyncio.Event | None = None
        self._background: set[asyncio.Task[Any]] = set()

    # --- stamping ---------------------------------------------------------------------------

    @property
    def reference_vad(self) -> SpeechDetector:
        """The reference VAD run on the mic audio the STT engine gets (replaceable before
        :meth:`run`, e.g. by a scripted one in tests)."""
        return self._stt_stage.reference_vad

    @reference_vad.setter
    def reference_vad(self, vad: SpeechDetector) -> None:
        self._stt_stage.reference_vad = vad

    @property
    def audio_samples_sent(self) -> int:
        """Mic samples (at the STT rate) handed to the STT engine so far."""
        return self._stt_stage.samples_sent

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
        synthesizing = self._replies.cancel_all()
        if synthesizing is not None:
            self._spawn(self.tts.cancel(synthesizing))

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
        return self._replies.queue(text, origin="user", turn=None)

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
        """Whether a reply is queued, being synthesized or playing (or an LLM reply streaming)."""
        return self._replies.pending or self.playback.busy or (self._llm is not None and self._llm.busy)

    # --- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Run until the input ends (file) or :meth:`request_stop`; then close everything."""
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
        if self.aec.announce:
            self.emit(
                AecState,
                state=self.aec.state,
                detail=self.aec.detail,
                noise_suppression=self.aec.noise_suppression,
                delay_ms=self.aec.delay_ms,
            )
        failure: BaseException | None = None
        stages: list[asyncio.Task[None]] = []
        # Devices report xruns and lost devices as events; other sources and sinks ignore this.
        self.source.attach(self.emit)
        self.sink.attach(self.emit)
        try:
            if not await self._start_engines_unless_stopped():
                return  # stopped while an engine was still connecting: shut down at once
            await self.sink.start(self.playback, self._speaker.on_progress)
            stages = [
                asyncio.create_task(self._stt_stage.run(), name="vc-stt"),
                asyncio.create_task(self._replies.run_responder(), name="vc-responder"),
                asyncio.create_task(self._replies.run_tts(), name="vc-tts"),
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

    async def _start_engines_unless_stopped(self) -> bool:
        """Start the engines; False when a stop request came first (an engine still connecting
        does not look at stop requests: Ctrl-C must work at every moment)."""
        assert self._stop_event is not None
        starting = asyncio.ensure_future(self._start_engines())
        stopping = asyncio.ensure_future(self._stop_event.wait())
        try:
            await asyncio.wait([starting, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not starting.done():
                starting.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await starting
        if starting.cancelled():
            return False
        starting.result()  # an engine's failure is raised here
        return True

    async def _start_engines(self) -> None:
        for role, engine in (("stt", self.stt), ("tts", self.tts)):
            try:
                await engine.start(self.emit)
            except UserError as exc:
                if not exc.reported:  # an engine that emitted its own engine.error set this
                    self.emit(EngineError, role=role, engine=engine.name, message=display_text(str(exc)), fatal=True)
                raise

    async def _shutdown(self, stages: list[asyncio.Task[None]], failure: BaseException | None) -> None:
        self._stopping = True
        if failure is not None and self._stop_reason == "end of input":
            self._stop_reason = "error"
        # Let the engine hear the audio already captured, then let it flush its last events.
        with contextlib.suppress(asyncio.TimeoutError, Exception):
            await asyncio.wait_for(self._stt_stage.join(), timeout=5.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.stt.close(), timeout=10.0)
        if self._llm is not None:
            with contextlib.suppress(Exception):
                await self._llm.close()
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
            self._mic.process(block)
            if virtual:
                await self._settle()
            if not self.sink.self_clocked:
                self._speaker.play_due(self.clock.now())

    async def _mic_blocks(self) -> AsyncIterator[np.ndarray]:
        """The source's blocks, then silence until the conversation has wound down."""
        block = None
        async for block in self.source.blocks():
            yield block
        if self.source.self_clocked:
            return
        n = block.shape[0] if block is not None else int(self.source.sample_rate * self.options.block_ms / 1000)
        self._mic.process(np.zeros(0, dtype=np.float32), last=True)
        self._mic.restart(self.source.sample_rate)
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

    def _mic_silenced(self) -> bool:
        """Whether the mic streams silence: muted, or reply audio may be audible to it."""
        return self.muted or (self.options.mute_while_speaking and self._reply_audible())

    def _reply_audible(self) -> bool:
        """Whether reply audio is playing or may still be echoing back into the mic."""
        now = self.clock.now()
        if self.playback.busy:
            self._echo_until = now + self.options.echo_tail_s
            return True
        return now < self._echo_until

    async def _settle(self) -> None:
        async def all_idle() -> None:
            await self._stt_stage.join()
            if self._llm is not None:
                await self._llm.settle()
            await self._replies.settle()

        try:
            await asyncio.wait_for(all_idle(), timeout=self.options.settle_timeout_s)
        except asyncio.TimeoutError:
            raise RuntimeError(
                f"pipeline did not settle within {self.options.settle_timeout_s:.0f} s of virtual-time block"
            ) from None

    # --- reactions ----------------------------------------------------------------------------

    def _react(self, event: Event) -> None:
        if self._llm is not None:
            self._llm.on_event(event)
        if isinstance(event, TurnStart):
            self._turn_open = True
            if self.options.auto_barge_in and self.busy_speaking and not self._stopping:
                self.interrupt(reason="auto")
        elif isinstance(event, TurnEnd):
            self._turn_open = False
            if event.transcript.strip() and not self._stopping and self._llm is None:
                self._replies.answer(event)


__all__ = ["AudioTap", "Session", "SessionMeters", "SessionOptions", "SpeechDetector", "SpeechEdge", "make_clock"]
