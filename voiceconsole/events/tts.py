"""TTS requests and playback events."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from voiceconsole.events.base import (
    Event,
    WordTiming,
)


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
