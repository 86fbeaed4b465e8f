"""Turn events (Cartesia Ink-2 vocabulary) and transcripts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from voiceconsole.events.base import (
    Event,
    WordTiming,
)


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


TURN_EVENT_TYPES: tuple[type[Event], ...] = (
    TurnStart,
    TurnUpdate,
    TurnEagerEnd,
    TurnResume,
    TurnEnd,
)


@dataclass(frozen=True)
class TranscriptInterim(Event):
    """An interim (not yet final) transcript delta from a v1 engine such as ink-whisper."""

    TYPE: ClassVar[str] = "transcript.interim"
    text: str = ""
    words: tuple[WordTiming, ...] = ()
    language: str = ""
    """The language the server detected or used ("" when it did not say)."""
    request_id: str = ""
    """The server's id of the request (what Cartesia's support asks for)."""


@dataclass(frozen=True)
class TranscriptFinal(Event):
    """A final transcript delta; the whole transcript is the verbatim concatenation of finals."""

    TYPE: ClassVar[str] = "transcript.final"
    text: str = ""
    words: tuple[WordTiming, ...] = ()
    language: str = ""
    """The language the server detected or used ("" when it did not say)."""
    request_id: str = ""
    """The server's id of the request (what Cartesia's support asks for)."""
