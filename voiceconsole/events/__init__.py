"""The one event vocabulary of voiceconsole.

Every box of the pipeline talks to the next through these immutable events. Each event
carries ``t`` (seconds on the session clock) and ``audio_t`` (seconds of mic audio handed to
the STT engine when the event happened), serialises to one JSON object on one line with a
``type`` field, and reads back to an equal event (:func:`to_json` / :func:`from_json`).

Turn events use Cartesia's Ink-2 type names exactly: ``turn.start``, ``turn.update``,
``turn.eager_end``, ``turn.resume``, ``turn.end``.

One module per concern (session and audio, turns, TTS and playback, engines, the detector's
signal, user commands, LLM requests); importing this package imports them all, which registers every wire
name. The package imports nothing beyond the standard library so that every layer (and a fast
``--version``) can use it.
"""

from voiceconsole.events.aec import AecErle, AecState, AecStatus
from voiceconsole.events.base import (
    EVENT_TYPES,
    ConnectionState,
    EngineRole,
    Event,
    LevelSource,
    WordTiming,
)
from voiceconsole.events.codec import (
    EventDecodeError,
    from_dict,
    from_json,
    to_dict,
    to_json,
)
from voiceconsole.events.commands import InterruptCommand, MuteCommand, SayCommand
from voiceconsole.events.engine import (
    EngineError,
    EngineState,
    EngineWarning,
    TurnConfigChanged,
)
from voiceconsole.events.llm import (
    LLM_EVENT_TYPES,
    LlmCancelled,
    LlmCancelReason,
    LlmCommitted,
    LlmDone,
    LlmFailed,
    LlmFirstToken,
    LlmRequest,
)
from voiceconsole.events.session import (
    AudioLevel,
    AudioXrun,
    DeviceState,
    SessionStarted,
    SessionStopped,
    SpeechStarted,
    SpeechStopped,
)
from voiceconsole.events.signal import SIGNAL_SCALE, SignalPhase, VadSignalBatch
from voiceconsole.events.tts import (
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    TtsCancelled,
    TtsDone,
    TtsFailed,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
)
from voiceconsole.events.turns import (
    TURN_EVENT_TYPES,
    TranscriptFinal,
    TranscriptInterim,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
    TurnUpdate,
)

__all__ = [
    "EVENT_TYPES",
    "LLM_EVENT_TYPES",
    "SIGNAL_SCALE",
    "TURN_EVENT_TYPES",
    "AecErle",
    "AecState",
    "AecStatus",
    "AudioLevel",
    "AudioXrun",
    "ConnectionState",
    "DeviceState",
    "EngineError",
    "EngineRole",
    "EngineState",
    "EngineWarning",
    "Event",
    "EventDecodeError",
    "InterruptCommand",
    "LevelSource",
    "LlmCancelReason",
    "LlmCancelled",
    "LlmCommitted",
    "LlmDone",
    "LlmFailed",
    "LlmFirstToken",
    "LlmRequest",
    "MuteCommand",
    "PlaybackFinished",
    "PlaybackInterrupted",
    "PlaybackStarted",
    "SayCommand",
    "SessionStarted",
    "SessionStopped",
    "SignalPhase",
    "SpeechStarted",
    "SpeechStopped",
    "TranscriptFinal",
    "TranscriptInterim",
    "TtsCancelled",
    "TtsDone",
    "TtsFailed",
    "TtsFirstAudio",
    "TtsQueued",
    "TtsRequestSent",
    "TtsWordTimings",
    "TurnConfigChanged",
    "TurnEagerEnd",
    "TurnEnd",
    "TurnResume",
    "TurnStart",
    "TurnUpdate",
    "VadSignalBatch",
    "WordTiming",
    "from_dict",
    "from_json",
    "to_dict",
    "to_json",
]
