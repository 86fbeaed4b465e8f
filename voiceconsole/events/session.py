"""Session, audio level, reference VAD and device events."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal

from voiceconsole.events.base import (
    Event,
    LevelSource,
)


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
