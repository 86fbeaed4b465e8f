"""Contracts between the session and the engines.

An STT engine receives float32 mono audio at its ``sample_rate`` and reports what it hears by
calling ``emit(EventClass, **fields)``; the session stamps each event with ``t`` and ``audio_t``
at the moment it is emitted (Cartesia's events carry no timestamps, so arrival is the truth).

A TTS engine turns one reply's text into a stream of :class:`TtsChunk`, and can cancel a reply
mid-stream.

:class:`SttEngine` and :class:`TtsEngine` declare every member the session uses on an engine;
the session calls nothing else and probes for nothing optional. Every engine implements all of
them (a test checks the built-in ones).
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np

from voiceconsole.events import Event, WordTiming


class Emit(Protocol):
    """Stamps and publishes an event: ``emit(TurnEnd, turn=3, transcript="hi")``."""

    def __call__(self, event_type: type[Event], /, **fields: Any) -> Event: ...


TURN_DETECTORS = ("vad", "smart-turn")
"""What may end a turn in the offline engine (:attr:`TurnSettings.turn_detector`)."""


@dataclass(frozen=True)
class TurnSettings:
    """Tuning for turn detection, shared by the offline engine and Cartesia Ink-2.

    The offline engine uses the durations; Cartesia Ink-2 uses the thresholds (sent as query
    parameters at connect and as a ``config`` command mid-session).
    """

    start_speech_ms: int = 160
    """Offline: speech needed before a turn starts."""
    eager_end_silence_ms: int = 200
    """Offline: silence after speech before ``turn.eager_end``."""
    end_silence_ms: int = 800
    """Offline: silence after speech before ``turn.end``."""
    max_turn_s: float = 30.0
    """Offline: a turn longer than this is ended."""
    vad_threshold: float = 0.5
    """Offline: speech probability above which a VAD frame is speech."""
    start_threshold: float = 0.8
    """Ink-2: turn start threshold (0.5-0.9)."""
    eager_end_threshold: float = 0.4
    """Ink-2: eager end threshold (0.3-0.6)."""
    end_threshold: float = 0.2
    """Ink-2: end threshold (0.05-0.5)."""
    end_timeout_ms: int = 5600
    """Ink-2: longest silence before a turn is ended regardless (640-11200)."""
    turn_detector: str = "vad"
    """Offline: what ends a turn. ``vad``: ``end_silence_ms`` of silence; ``smart-turn``: Smart
    Turn v3.2 runs at each pause of ``eager_end_silence_ms`` and ends the turn when its
    P(complete) reaches ``smart_turn_threshold`` (``end_silence_ms`` still ends it otherwise)."""
    smart_turn_threshold: float = 0.5
    """Offline, ``smart-turn``: P(turn complete) at which Smart Turn ends the turn."""

    def validate(self) -> None:
        """Raise ``ValueError`` with a one-line explanation if a value is out of range."""
        if (
            self.start_speech_ms < 0
            or self.eager_end_silence_ms < 0
            or self.end_silence_ms <= 0
        ):
            raise ValueError("turn durations must be positive")
        if self.eager_end_silence_ms >= self.end_silence_ms:
            raise ValueError(
                f"eager end silence ({self.eager_end_silence_ms} ms) must be shorter than "
                f"end silence ({self.end_silence_ms} ms)"
            )
        if self.max_turn_s <= 0:
            raise ValueError("max turn length must be positive")
        if not 0.0 < self.vad_threshold < 1.0:
            raise ValueError("VAD threshold must lie between 0 and 1")
        if not 0.5 <= self.start_threshold <= 0.9:
            raise ValueError("turn start threshold must lie in 0.5-0.9")
        if not 0.3 <= self.eager_end_threshold <= 0.6:
            raise ValueError("turn eager end threshold must lie in 0.3-0.6")
        if not 0.05 <= self.end_threshold <= 0.5:
            raise ValueError("turn end threshold must lie in 0.05-0.5")
        if not self.end_threshold < self.eager_end_threshold < self.start_threshold:
            raise ValueError("turn thresholds must keep end < eager_end < start")
        if not 640 <= self.end_timeout_ms <= 11200:
            raise ValueError("turn end timeout must lie in 640-11200 ms")
        if self.turn_detector not in TURN_DETECTORS:
            raise ValueError(
                f"turn detector must be one of {', '.join(TURN_DETECTORS)}, not {self.turn_detector!r}"
            )
        if not 0.0 < self.smart_turn_threshold < 1.0:
            raise ValueError("Smart Turn threshold must lie between 0 and 1")

    def replace(self, **changes: Any) -> TurnSettings:
        """A copy with some fields changed, validated."""
        new = dataclasses.replace(self, **changes)
        new.validate()
        return new

    def as_dict(self) -> dict[str, Any]:
        """Plain dict for events and metadata."""
        return dataclasses.asdict(self)


@runtime_checkable
class SttEngine(Protocol):
    """Speech to text with turn detection."""

    name: str
    """Shown in events and the UI (``"cartesia-turns"``, ``"local"``)."""
    sample_rate: int
    """The rate of the audio :meth:`send_audio` takes; the session resamples the mic to it."""

    async def start(self, emit: Emit) -> None:
        """Connect or load models; emit ``EngineState`` as it goes. Raise ``UserError`` if fatal."""
        ...

    async def send_audio(self, samples: np.ndarray) -> None:
        """Hand over float32 mono samples at ``sample_rate``; the session awaits this for every
        mic block, in order, and sends the next block only once it returns.

        Local engines process them before returning (in a worker thread, never on the event
        loop), so in virtual time every event is stamped with the audio that caused it. Network
        engines return once the audio is handed to the connection (or held during an outage);
        they never wait for the server's answer.
        """
        ...

    async def update_turn_settings(self, settings: TurnSettings) -> None:
        """Retune turn detection while the session runs."""
        ...

    async def close(self) -> None:
        """Flush what is buffered, emit the remaining events, release resources."""
        ...


@dataclass(frozen=True)
class TtsChunk:
    """A piece of synthesized audio (float32 mono at the engine's ``sample_rate``).

    ``words`` are word timings in seconds from the start of the reply's audio, when known.
    """

    samples: np.ndarray
    words: tuple[WordTiming, ...] = ()


@runtime_checkable
class TtsEngine(Protocol):
    """Text to speech, one reply at a time, cancellable."""

    name: str
    """Shown in events and the UI (``"cartesia"``, ``"local"``)."""
    sample_rate: int
    """The rate of the :class:`TtsChunk` audio; the session resamples it to the speaker's."""
    streams_text: bool
    """Whether :meth:`synthesize` also takes an ``AsyncIterable[str]`` of a reply's pieces as
    they are written (an LLM's reply) and speaks them as one reply; if not, the session calls
    :meth:`synthesize` once per piece (sentence by sentence)."""

    async def start(self, emit: Emit) -> None:
        """Connect or load; emit ``EngineState``. Raise ``UserError`` if fatal."""
        ...

    def synthesize(self, reply: int, text: str) -> AsyncIterator[TtsChunk]:
        """Stream the audio of one reply. Raises ``TtsError`` if this reply fails."""
        ...

    async def cancel(self, reply: int) -> None:
        """Stop synthesizing ``reply``; its stream ends without error and late audio is dropped."""
        ...

    async def close(self) -> None:
        """Release the engine."""
        ...


class TtsError(Exception):
    """Synthesis of one reply failed (the session reports it and goes on with the next)."""
