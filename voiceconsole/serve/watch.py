"""A watched connection: the frames of one client socket as a console session.

Both ``tap`` and ``serve`` hand every frame, in each direction, to a :class:`WatchSession`
after it went on the wire. The session turns them into the console's events on its own bus:

- audio the agent streams: the mic level (``audio.level``) and the reference VAD
  (``vad.speech_start``/``stop``), on the clock of that audio (``audio_t`` = seconds streamed);
- STT replies: turn events (numbered by a :class:`~voiceconsole.engines.turns.TurnSequencer`)
  or ink-whisper transcripts; errors as ``engine.error``;
- TTS requests and replies: see :mod:`voiceconsole.serve.watch_tts`.

The relay never waits for the watching: with an ``executor`` (the hub's one watcher thread)
:meth:`WatchSession.saw_client`, :meth:`~WatchSession.saw_server` and :meth:`~WatchSession.post`
queue the work, in order, stamped with the time the frame went by; the reference VAD and the
parsing then run off the event loop that forwards the frames.

The session has what :class:`~voiceconsole.session.recorder.Recorder` reads of a session (bus,
audio taps, rates, engine names), so each connection records as a normal recording. It never
sees a credential: the request it gets is a :class:`~voiceconsole.serve.routes.StreamRequest`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

import numpy as np

from voiceconsole.audio.levels import LevelWindow, block_stats
from voiceconsole.audio.vad import ReferenceVad
from voiceconsole.clock import Clock, RealClock
from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.messages import (
    Connected,
    Done,
    ErrorMessage,
    Transcript,
    TurnMessage,
    Unknown,
)
from voiceconsole.engines.cartesia.turns_messages import decode_turns_message
from voiceconsole.engines.cartesia.whisper_messages import decode_whisper_message
from voiceconsole.engines.turns import TurnSequencer
from voiceconsole.events import (
    AudioLevel,
    EngineError,
    EngineState,
    EngineWarning,
    Event,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    SpeechStopped,
    TranscriptFinal,
    TranscriptInterim,
    TurnConfigChanged,
)
from voiceconsole.secrets import display_text
from voiceconsole.serve.routes import StreamRequest
from voiceconsole.serve.watch_tts import SPEAKER_RATE, TtsWatch
from voiceconsole.serve.wire_audio import WireAudio
from voiceconsole.session.bus import EventBus
from voiceconsole.session.mic import AecPlan
from voiceconsole.session.options import AudioTap, SessionMeters

log = logging.getLogger(__name__)

STT_RATE = 16000
"""Rate of the mic side of a watched session (levels, reference VAD, ``mic.wav``)."""

ENGINE_NAMES = {
    "turns": "cartesia-turns",
    "whisper": "cartesia-whisper",
    "tts": "cartesia",
}


@dataclass(frozen=True)
class Part:
    """A named end of a watched session (what a recording's metadata lists)."""

    name: str
    sample_rate: int = STT_RATE


class WatchSession:
    """One client connection as a console session. Call :meth:`start`, feed frames, :meth:`stop`."""

    def __init__(
        self,
        number: int,
        request: StreamRequest,
        *,
        mode: str,
        clock: Clock | None = None,
    ) -> None:
        self.number = number
        self.request = request
        self.mode = mode
        self.clock: Clock = clock or RealClock()
        self.bus = EventBus()
        self.meters = SessionMeters()
        self.audio_taps: list[AudioTap] = []
        self.history: list[Event] = []
        """Every event so far (a console switching to this session replays them)."""
        self.bus.add_listener(self.history.append)
        self.stt_rate = STT_RATE
        self.running = False
        self.close_code: int | None = None
        self.warnings = 0
        self.executor: Executor | None = None
        """Where the watching runs (the hub's watcher thread); None: at once, on the caller's thread."""
        self._stamp: float | None = None
        kind = request.kind
        self.stt = Part(ENGINE_NAMES[kind] if kind != "tts" else "")
        self.tts = Part(ENGINE_NAMES[kind] if kind == "tts" else "")
        self.responder = Part(mode)
        self.source = Part("agent")
        self.sink = Part("agent", SPEAKER_RATE)
        self.turn_settings = TurnSettings()
        self.aec = AecPlan()
        """No echo cancellation: the agent's own audio is watched as it was sent."""
        self._wire: WireAudio | None = None
        self._vad: ReferenceVad | None = None
        self._mic_levels = LevelWindow(STT_RATE)
        self._samples = 0
        self._turns = TurnSequencer(self.emit) if kind == "turns" else None
        self._tts = (
            TtsWatch(self.emit, self.now, self._speaker, self.warn)
            if kind == "tts"
            else None
        )
        if kind != "tts":
            self._wire = WireAudio(request.encoding, request.sample_rate, STT_RATE)
            self._vad = ReferenceVad()

    # --- stamping ---------------------------------------------------------------------------

    @property
    def audio_t(self) -> float:
        """Seconds of audio the agent streamed (a TTS socket streams none: its session clock)."""
        if self._wire is None:
            return self.clock.now()
        return self._samples / STT_RATE

    @property
    def label(self) -> str:
        """``#3 turns`` and its state, for a session picker."""
        state = (
            "open"
            if self.running
            else f"closed {self.close_code}"
            if self.close_code is not None
            else "closed"
        )
        return f"#{self.number} {self.request.kind} ({self.mode}, {state})"

    def now(self) -> float:
        """The session time of what is being watched (when its frame went by)."""
        return self._stamp if self._stamp is not None else self.clock.now()

    def emit(self, event_type: type[Event], /, **fields: Any) -> Event:
        """Stamp an event and publish it."""
        event = event_type(t=self.now(), audio_t=self.audio_t, **fields)
        self.bus.publish(event)
        return event

    def warn(self, message: str) -> None:
        """Something odd but survivable on this connection."""
        self.warnings += 1
        role = "tts" if self.request.kind == "tts" else "stt"
        self.emit(
            EngineWarning,
            role=role,
            engine=self.stt.name or self.tts.name,
            message=message,
            count=self.warnings,
        )

    # --- handing work to the watcher ----------------------------------------------------------

    def post(self, fn: Callable[..., None], *args: Any) -> None:
        """Run ``fn(*args)`` on the watcher, in order, stamped with the time now."""
        if self.executor is None:
            fn(*args)
            return
        self.executor.submit(self._stamped, self.clock.now(), fn, args)

    def saw_client(self, message: str | bytes) -> None:
        """A frame the agent sent went by (watched off the relay's path)."""
        self.post(self.client_frame, message)

    def saw_server(self, message: str | bytes) -> None:
        """A frame the service sent went by (watched off the relay's path)."""
        self.post(self.server_frame, message)

    def _stamped(
        self, t: float, fn: Callable[..., None], args: tuple[Any, ...]
    ) -> None:
        self._stamp = t
        try:
            fn(*args)
        except Exception:  # a fault in watching must never reach the connection
            log.exception("watching session %d failed on a frame", self.number)
        finally:
            self._stamp = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        """The connection is open: ``session.start`` (with the public request, never a key)."""
        self.running = True
        kind = self.request.kind
        settings = {"watch": self.mode, "session": self.number, **self.request.public()}
        self.emit(
            SessionStarted,
            stt=self.stt.name,
            tts=self.tts.name,
            responder=self.mode,
            source="agent",
            sink="agent",
            sample_rate=STT_RATE,
            settings=settings,
        )
        role, other = ("tts", "stt") if kind == "tts" else ("stt", "tts")
        # A connection carries one engine: the other one is on another socket, if any.
        self.emit(
            EngineState,
            role=other,
            engine="none",
            state="closed",
            detail="not on this connection",
        )
        if kind != "turns":  # Ink-2 says so itself (``connected``)
            self.emit(EngineState, role=role, engine=self._engine, state="connected")
        turn = {
            k[5:]: float(v)
            for k, v in self.request.query
            if k.startswith("turn_") and _is_number(v)
        }
        if kind == "turns" and turn:
            self.emit(TurnConfigChanged, settings=turn)

    @property
    def _engine(self) -> str:
        return self.stt.name or self.tts.name

    def stop(self, code: int | None, reason: str = "") -> None:
        """The connection closed with ``code`` (None: dropped without a close frame)."""
        if not self.running:
            return
        self.running = False
        self.close_code = code
        role = "tts" if self.request.kind == "tts" else "stt"
        self.emit(
            EngineState,
            role=role,
            engine=self._engine,
            state="closed",
            detail=f"close code {code}",
        )
        text = f"closed {code}" if code is not None else "dropped"
        self.emit(
            SessionStopped, reason=f"{text}: {display_text(reason)}" if reason else text
        )

    # --- frames ------------------------------------------------------------------------------

    def client_frame(self, message: str | bytes) -> None:
        """A frame the agent sent (audio, a command or a TTS request)."""
        if self._tts is not None:
            self._tts.client_frame(message)
        elif isinstance(message, bytes):
            self._mic(message)
        elif self._turns is not None:
            self._turns_command(message)

    def server_frame(self, message: str | bytes) -> None:
        """A frame the service sent back."""
        if self._tts is not None:
            self._tts.server_frame(message)
            return
        try:
            decoded = (
                decode_turns_message
                if self._turns is not None
                else decode_whisper_message
            )(message)
        except ProtocolError as exc:
            self.warn(f"STT message not understood: {exc}")
            return
        if isinstance(decoded, TurnMessage) and self._turns is not None:
            self._turn(decoded)
        elif isinstance(decoded, Transcript):
            kind = TranscriptFinal if decoded.is_final else TranscriptInterim
            self.emit(kind, text=decoded.text, words=decoded.words)
        elif isinstance(decoded, Connected):
            self.emit(
                EngineState,
                role="stt",
                engine=self.stt.name,
                state="connected",
                detail=decoded.request_id,
            )
        elif isinstance(decoded, Done):
            self.emit(EngineState, role="stt", engine=self.stt.name, state="closed")
        elif isinstance(decoded, ErrorMessage):
            self.emit(
                EngineError,
                role="stt",
                engine=self.stt.name,
                message=display_text(decoded.message),
                code=decoded.code,
                fatal=False,
            )
        elif isinstance(decoded, Unknown):
            self.warn(f"unknown STT message type {display_text(decoded.type)!r}")

    def _turn(self, message: TurnMessage) -> None:
        seq = self._turns
        assert seq is not None
        if message.kind == "start":
            seq.start()
        elif message.kind == "update":
            seq.update(message.transcript or "")
        elif message.kind == "eager_end":
            seq.eager_end(message.transcript)
        elif message.kind == "resume":
            seq.resume()
        else:
            seq.end(message.transcript)

    def _turns_command(self, message: str) -> None:
        try:
            data = json.loads(message)
        except ValueError:
            return
        if (
            isinstance(data, dict)
            and data.get("type") == "config"
            and isinstance(data.get("turn"), dict)
        ):
            self.emit(TurnConfigChanged, settings=dict(data["turn"]))

    def _mic(self, data: bytes) -> None:
        assert self._wire is not None and self._vad is not None
        samples = self._wire.feed(data)
        if not samples.size:
            return
        self._samples += samples.size
        stats = block_stats(samples)
        self.meters.mic.update_from(*stats, samples.size)
        level = self._mic_levels.add_stats(*stats, samples.size)
        if level is not None:
            self.emit(AudioLevel, source="mic", rms_dbfs=level[0], peak_dbfs=level[1])
        for tap in self.audio_taps:
            tap("mic", samples, STT_RATE)
        for edge in self._vad.process(samples):
            kind = SpeechStarted if edge.kind == "start" else SpeechStopped
            self.emit(kind, speech_audio_t=edge.speech_audio_t)

    def _speaker(self, samples: np.ndarray) -> None:
        self.meters.speaker.update_from(*block_stats(samples), samples.size)
        for tap in self.audio_taps:
            tap("speaker", samples, SPEAKER_RATE)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
