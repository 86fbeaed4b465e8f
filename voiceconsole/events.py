"""The one event vocabulary of voiceconsole.

Every box of the pipeline talks to the next through these immutable events. Each event
carries ``t`` (seconds on the session clock) and ``audio_t`` (seconds of mic audio handed to
the STT engine when the event happened), serialises to one JSON object on one line with a
``type`` field, and reads back to an equal event (:func:`to_json` / :func:`from_json`).

Turn events use Cartesia's Ink-2 type names exactly: ``turn.start``, ``turn.update``,
``turn.eager_end``, ``turn.resume``, ``turn.end``.

This module imports nothing beyond the standard library so that every layer (and a fast
``--version``) can use it.
"""

from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

EngineRole = Literal["stt", "tts", "responder", "audio"]
ConnectionState = Literal["connecting", "connected", "reconnecting", "closed", "failed"]
LevelSource = Literal["mic", "speaker"]


@dataclass(frozen=True)
class WordTiming:
    """A word with its start and end in seconds (relative to what the event says)."""

    word: str
    start: float
    end: float


@dataclass(frozen=True)
class Event:
    """Base of every event. Subclasses set ``TYPE`` to their wire name."""

    TYPE: ClassVar[str] = ""
    t: float
    audio_t: float

    @property
    def type(self) -> str:
        """The event's wire name, e.g. ``turn.end``."""
        return self.TYPE


# --- session ----------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionStarted(Event):
    """The pipeline is running. ``settings`` holds engine names, rates and tuning (never keys)."""

    TYPE: ClassVar[str] = "session.start"
    stt: str = ""
    tts: str = ""
    responder: str = ""
    source: str = ""
    sink: str = ""
    sample_rate: int = 16000
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SessionStopped(Event):
    """The pipeline has stopped; ``reason`` is e.g. ``end of input``, ``quit``, ``error``."""

    TYPE: ClassVar[str] = "session.stop"
    reason: str = ""


# --- audio levels and reference VAD -----------------------------------------------------


@dataclass(frozen=True)
class AudioLevel(Event):
    """Level of the last level window of mic or speaker audio, in dBFS (-inf clamped to -120)."""

    TYPE: ClassVar[str] = "audio.level"
    source: LevelSource = "mic"
    rms_dbfs: float = -120.0
    peak_dbfs: float = -120.0


@dataclass(frozen=True)
class SpeechStarted(Event):
    """Reference VAD: speech began at ``speech_audio_t`` (audio seconds; earlier than ``audio_t``)."""

    TYPE: ClassVar[str] = "vad.speech_start"
    speech_audio_t: float = 0.0


@dataclass(frozen=True)
class SpeechStopped(Event):
    """Reference VAD: speech ended at ``speech_audio_t`` (audio seconds; earlier than ``audio_t``)."""

    TYPE: ClassVar[str] = "vad.speech_stop"
    speech_audio_t: float = 0.0


@dataclass(frozen=True)
class AudioXrun(Event):
    """A device stream dropped audio: input ``overflow`` or output ``underrun``; ``count`` is the total."""

    TYPE: ClassVar[str] = "audio.xrun"
    stream: Literal["input", "output"] = "input"
    kind: Literal["overflow", "underrun"] = "overflow"
    count: int = 0


@dataclass(frozen=True)
class DeviceState(Event):
    """An audio device was opened, lost or reopened."""

    TYPE: ClassVar[str] = "audio.device"
    stream: Literal["input", "output"] = "input"
    state: Literal["open", "lost", "closed"] = "open"
    device: str = ""
    sample_rate: int = 0
    detail: str = ""


# --- turn events (Cartesia Ink-2 vocabulary) ---------------------------------------------


@dataclass(frozen=True)
class TurnStart(Event):
    """The user started a turn. Turn numbers start at 1 and are assigned by the console."""

    TYPE: ClassVar[str] = "turn.start"
    turn: int = 0


@dataclass(frozen=True)
class TurnUpdate(Event):
    """Cumulative transcript of the turn so far (replaces the previous one)."""

    TYPE: ClassVar[str] = "turn.update"
    turn: int = 0
    transcript: str = ""


@dataclass(frozen=True)
class TurnEagerEnd(Event):
    """The user has probably finished the turn."""

    TYPE: ClassVar[str] = "turn.eager_end"
    turn: int = 0
    transcript: str = ""


@dataclass(frozen=True)
class TurnResume(Event):
    """The user went on speaking: ignore the last eager end."""

    TYPE: ClassVar[str] = "turn.resume"
    turn: int = 0


@dataclass(frozen=True)
class TurnEnd(Event):
    """The turn is over; ``transcript`` is final (may be empty for a turn of noise)."""

    TYPE: ClassVar[str] = "turn.end"
    turn: int = 0
    transcript: str = ""


TURN_EVENT_TYPES: tuple[type[Event], ...] = (TurnStart, TurnUpdate, TurnEagerEnd, TurnResume, TurnEnd)


@dataclass(frozen=True)
class TranscriptInterim(Event):
    """An interim (not yet final) transcript delta from a v1 engine such as ink-whisper."""

    TYPE: ClassVar[str] = "transcript.interim"
    text: str = ""
    words: tuple[WordTiming, ...] = ()


@dataclass(frozen=True)
class TranscriptFinal(Event):
    """A final transcript delta; the whole transcript is the verbatim concatenation of finals."""

    TYPE: ClassVar[str] = "transcript.final"
    text: str = ""
    words: tuple[WordTiming, ...] = ()


# --- TTS and playback ---------------------------------------------------------------------


@dataclass(frozen=True)
class TtsQueued(Event):
    """A reply entered the TTS queue. ``origin`` is ``responder`` or ``user`` (typed text)."""

    TYPE: ClassVar[str] = "tts.queued"
    reply: int = 0
    text: str = ""
    origin: str = "responder"
    turn: int | None = None


@dataclass(frozen=True)
class TtsRequestSent(Event):
    """Synthesis of the reply was requested from the TTS engine."""

    TYPE: ClassVar[str] = "tts.request_sent"
    reply: int = 0


@dataclass(frozen=True)
class TtsFirstAudio(Event):
    """First audio of the reply arrived; ``latency_s`` is from the request to this chunk."""

    TYPE: ClassVar[str] = "tts.first_audio"
    reply: int = 0
    latency_s: float = 0.0


@dataclass(frozen=True)
class TtsWordTimings(Event):
    """Word timings of the reply, in seconds from the start of the reply's audio."""

    TYPE: ClassVar[str] = "tts.words"
    reply: int = 0
    words: tuple[WordTiming, ...] = ()


@dataclass(frozen=True)
class TtsDone(Event):
    """Synthesis of the reply finished; ``duration_s`` is the audio length produced."""

    TYPE: ClassVar[str] = "tts.done"
    reply: int = 0
    duration_s: float = 0.0


@dataclass(frozen=True)
class TtsCancelled(Event):
    """The reply was cancelled (barge-in or user) before or during synthesis or playback."""

    TYPE: ClassVar[str] = "tts.cancelled"
    reply: int = 0


@dataclass(frozen=True)
class TtsFailed(Event):
    """Synthesis of this reply failed; later replies still play."""

    TYPE: ClassVar[str] = "tts.failed"
    reply: int = 0
    message: str = ""


@dataclass(frozen=True)
class PlaybackStarted(Event):
    """The first sample of the reply went to the speaker."""

    TYPE: ClassVar[str] = "playback.start"
    reply: int = 0


@dataclass(frozen=True)
class PlaybackFinished(Event):
    """The whole reply was played."""

    TYPE: ClassVar[str] = "playback.finish"
    reply: int = 0
    samples_played: int = 0
    sample_rate: int = 16000


@dataclass(frozen=True)
class PlaybackInterrupted(Event):
    """The speaker went silent mid-reply; ``samples_played`` is what was actually heard."""

    TYPE: ClassVar[str] = "playback.interrupt"
    reply: int = 0
    samples_played: int = 0
    sample_rate: int = 16000


# --- engines ---------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineState(Event):
    """Connection state of an engine (local engines go straight to ``connected``)."""

    TYPE: ClassVar[str] = "engine.state"
    role: EngineRole = "stt"
    engine: str = ""
    state: ConnectionState = "connecting"
    detail: str = ""


@dataclass(frozen=True)
class EngineError(Event):
    """An engine failed. ``hint`` says what to do; ``fatal`` means it will not retry."""

    TYPE: ClassVar[str] = "engine.error"
    role: EngineRole = "stt"
    engine: str = ""
    message: str = ""
    hint: str = ""
    fatal: bool = False
    code: str = ""


@dataclass(frozen=True)
class EngineWarning(Event):
    """Something odd but survivable, e.g. a malformed server message; ``count`` is the running total."""

    TYPE: ClassVar[str] = "engine.warning"
    role: EngineRole = "stt"
    engine: str = ""
    message: str = ""
    count: int = 0


@dataclass(frozen=True)
class TurnConfigChanged(Event):
    """Turn detection settings changed (at start or mid-session)."""

    TYPE: ClassVar[str] = "turn.config"
    settings: dict[str, Any] = field(default_factory=dict)


SIGNAL_SCALE = 255
"""A probability in a :class:`VadSignalBatch` is stored as ``round(p * SIGNAL_SCALE)``."""
SignalPhase = Literal["idle", "turn", "eager"]


@dataclass(frozen=True)
class VadSignalBatch(Event):
    """What the offline engine's turn rule rested on for the VAD frames of about 100 ms.

    ``probs`` holds each frame's speech probability as an integer 0-255 (``p * 255``; three
    characters a frame on disk instead of eighteen), the first frame beginning at audio second
    ``frames_audio_t`` and each lasting ``frame_ms``. ``threshold`` is the VAD threshold in
    force. The rule's state after the last frame: ``phase`` (``idle`` between turns, ``turn``,
    ``eager`` after an eager end), ``speech_ms`` of speech in a row (a turn starts, or resumes,
    at ``start_ms``) and ``silence_ms`` of silence in a row (``turn.eager_end`` at ``eager_ms``,
    ``turn.end`` at ``end_ms``). A batch ends at every turn edge, so the state at a batch's end
    is the state that caused the edge.
    """

    TYPE: ClassVar[str] = "vad.signal"
    frames_audio_t: float = 0.0
    frame_ms: float = 32.0
    probs: tuple[int, ...] = ()
    threshold: float = 0.5
    phase: SignalPhase = "idle"
    speech_ms: int = 0
    silence_ms: int = 0
    start_ms: int = 0
    eager_ms: int = 0
    end_ms: int = 0

    @property
    def probabilities(self) -> tuple[float, ...]:
        """The frames' speech probabilities, 0.0-1.0."""
        return tuple(code / SIGNAL_SCALE for code in self.probs)


# --- user commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class InterruptCommand(Event):
    """Barge-in requested. ``reason``: ``key``, ``auto`` (turn.start while playing) or ``api``."""

    TYPE: ClassVar[str] = "command.interrupt"
    reason: str = "key"


@dataclass(frozen=True)
class MuteCommand(Event):
    """The mic was muted or unmuted (muted mic still streams silence to the engine)."""

    TYPE: ClassVar[str] = "command.mute"
    muted: bool = True


@dataclass(frozen=True)
class SayCommand(Event):
    """The user typed a line for the bot to speak."""

    TYPE: ClassVar[str] = "command.say"
    text: str = ""


# --- (de)serialisation ----------------------------------------------------------------------

EVENT_TYPES: dict[str, type[Event]] = {}


def _register() -> None:
    def walk(cls: type[Event]) -> None:
        for sub in cls.__subclasses__():
            if sub.TYPE:
                if sub.TYPE in EVENT_TYPES and EVENT_TYPES[sub.TYPE] is not sub:
                    raise RuntimeError(f"duplicate event type {sub.TYPE}")
                EVENT_TYPES[sub.TYPE] = sub
            walk(sub)

    walk(Event)


def to_dict(event: Event) -> dict[str, Any]:
    """The event as a JSON-ready dict with ``type`` first."""
    out: dict[str, Any] = {"type": event.TYPE}
    for f in dataclasses.fields(event):
        value = getattr(event, f.name)
        if isinstance(value, tuple):
            value = [dataclasses.asdict(v) if dataclasses.is_dataclass(v) else v for v in value]
        out[f.name] = value
    return out


def to_json(event: Event) -> str:
    """One line of JSON, no newline."""
    return json.dumps(to_dict(event), ensure_ascii=False, separators=(",", ":"), allow_nan=False)


class EventDecodeError(ValueError):
    """A line that is not a valid voiceconsole event."""


def _field_types(cls: type[Event]) -> dict[str, Any]:
    return typing.get_type_hints(cls)


_HINTS_CACHE: dict[type[Event], dict[str, Any]] = {}


def from_dict(data: dict[str, Any]) -> Event:
    """Build an event from a dict made by :func:`to_dict` (unknown keys are ignored)."""
    if not isinstance(data, dict):
        raise EventDecodeError("event is not a JSON object")
    type_name = data.get("type")
    cls = EVENT_TYPES.get(type_name)  # type: ignore[arg-type]
    if cls is None:
        raise EventDecodeError(f"unknown event type {type_name!r}")
    hints = _HINTS_CACHE.get(cls)
    if hints is None:
        hints = _HINTS_CACHE[cls] = _field_types(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in data:
            continue
        value = data[f.name]
        hint = hints.get(f.name)
        if typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            item = args[0] if args else Any
            if item is WordTiming:
                value = tuple(WordTiming(**w) if isinstance(w, dict) else WordTiming(*w) for w in value)
            else:
                value = tuple(value)
        elif hint is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        kwargs[f.name] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise EventDecodeError(f"bad fields for {type_name}: {exc}") from None


def from_json(line: str) -> Event:
    """Parse one JSON line written by :func:`to_json`."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise EventDecodeError(f"not JSON: {exc.msg}") from None
    return from_dict(data)


_register()
