"""What the console shows, as plain dataclasses: turns, replies, marks, spans, gaps, engines.

Positions on the timeline are in **audio time** (``audio_t``, and ``speech_audio_t`` for the
VAD), the axis the turn-timing metrics are measured on; the session clock ``t`` is used for
what the user hears (how much of a reply has played).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from voiceconsole.events import WordTiming

ReplyState = Literal["queued", "synthesizing", "playing", "done", "cancelled", "failed"]
TurnState = Literal["open", "eager", "ended"]


@dataclass(slots=True)
class Span:
    """A stretch of audio time (``end`` is ``None`` while it is still going on)."""

    start: float
    end: float | None = None
    kind: str = ""


@dataclass(slots=True)
class TurnEntry:
    """One user turn as the transcript and the timeline show it."""

    turn: int
    start_t: float
    start_audio_t: float
    text: str = ""
    state: TurnState = "open"
    end_t: float | None = None
    end_audio_t: float | None = None
    eager_spans: list[Span] = field(default_factory=list)
    """Stretches between a ``turn.eager_end`` and the ``turn.resume`` or ``turn.end`` after it."""
    resumes: int = 0
    version: int = 0
    """The model's transcript version when this entry last changed."""

    def close_eager(self, at: float) -> None:
        """End the open eager stretch, if any, at audio time ``at``."""
        if self.eager_spans and self.eager_spans[-1].end is None:
            self.eager_spans[-1].end = at


@dataclass(slots=True)
class ReplyEntry:
    """One reply (from the responder or typed) through the TTS queue and the speaker."""

    reply: int
    text: str
    origin: str
    turn: int | None
    queued_t: float
    queued_audio_t: float
    request_t: float | None = None
    request_audio_t: float | None = None
    first_audio_t: float | None = None
    first_audio_audio_t: float | None = None
    ttfa_s: float | None = None
    """``tts.request_sent`` -> ``tts.first_audio`` in seconds."""
    words: list[WordTiming] = field(default_factory=list)
    synth_done: bool = False
    duration_s: float | None = None
    """Audio produced by the TTS engine (known at ``tts.done``)."""
    play_start_t: float | None = None
    play_start_audio_t: float | None = None
    play_end_t: float | None = None
    play_end_audio_t: float | None = None
    played_s: float | None = None
    """Audio heard, known when playback finished or was cut."""
    interrupted: bool = False
    cancelled: bool = False
    failed: str | None = None
    version: int = 0
    """The model's transcript version when this entry last changed."""

    @property
    def state(self) -> ReplyState:
        """Where the reply is: queued, synthesizing, playing, done, cancelled or failed."""
        if self.interrupted or (self.cancelled and self.play_end_t is None):
            return "cancelled"
        if self.play_end_t is not None:
            return "done"
        if self.play_start_t is not None:
            return "playing"
        if self.failed is not None:
            return "failed"
        if self.request_t is not None and not self.synth_done:
            return "synthesizing"
        return "queued"

    def heard_s(self, now_t: float) -> float:
        """Seconds of this reply the user has heard at session time ``now_t``."""
        if self.played_s is not None:
            return self.played_s
        if self.play_start_t is None:
            return 0.0
        heard = max(0.0, now_t - self.play_start_t)
        if self.duration_s is not None and self.synth_done:
            heard = min(heard, self.duration_s)
        return heard

    def words_heard(self, now_t: float) -> tuple[int, int]:
        """``(characters heard, characters in total)`` of the text at session time ``now_t``.

        With word timings a word counts as heard once its start has played; without them the
        heard share of the audio is mapped onto the text.
        """
        total = len(self.text)
        heard = self.heard_s(now_t)
        if self.play_end_t is not None and not self.interrupted:
            return total, total
        if heard <= 0:
            return 0, total
        if self.words:
            return _chars_for_words(self.text, self.words, heard), total
        if self.duration_s:
            share = min(1.0, heard / self.duration_s)
            return _snap_to_word(self.text, int(total * share)), total
        return 0, total


def _chars_for_words(text: str, words: list[WordTiming], heard_s: float) -> int:
    """End offset in ``text`` of the last word whose start has been heard."""
    pos = 0
    end = 0
    lowered = text.lower()
    for word in words:
        if word.start > heard_s:
            break
        found = lowered.find(word.word.lower(), pos)
        if found < 0:
            continue
        pos = end = found + len(word.word)
    return end


def _snap_to_word(text: str, cut: int) -> int:
    """Move ``cut`` forward to the end of the word it falls in."""
    while 0 < cut < len(text) and not text[cut].isspace():
        cut += 1
    return cut


@dataclass(frozen=True, slots=True)
class Mark:
    """A point on the timeline: a turn event, a reply event or a command."""

    at: float
    kind: str
    label: str = ""


@dataclass(frozen=True, slots=True)
class Gap:
    """A measured interval written on the timeline, e.g. speech stop -> turn.end."""

    row: int
    """0: speech stop -> eager end, 1: speech stop -> end, 2: the reply's gaps."""
    start: float
    end: float
    kind: str
    """``stop_eager``, ``stop_end``, ``end_audio`` or ``barge_in``."""
    ms: int
    key: tuple[str, int]
    """``(kind, turn or reply number)``: a gap measured again replaces the one of its key."""


@dataclass(slots=True)
class EngineInfo:
    """Connection state of one engine."""

    role: str
    engine: str
    state: str = "connecting"
    detail: str = ""


@dataclass(frozen=True, slots=True)
class ErrorInfo:
    """An engine error as the banner shows it."""

    role: str
    engine: str
    message: str
    hint: str
    fatal: bool
    t: float


__all__ = ["EngineInfo", "ErrorInfo", "Gap", "Mark", "ReplyEntry", "ReplyState", "Span", "TurnEntry", "TurnState"]
