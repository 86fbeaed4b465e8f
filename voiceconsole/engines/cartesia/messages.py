"""Cartesia server messages, decoded: the message types and the parsing every endpoint shares.

Parsing is lenient (both error shapes, both word-timing shapes, unknown fields ignored). A
message that cannot be understood raises :class:`ProtocolError`; a well-formed message of a
type this client does not know decodes to :class:`Unknown`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.events import WordTiming
from voiceconsole.secrets import display_text, escape_controls, known, scrub


@dataclass(frozen=True)
class ErrorMessage:
    """An ``error`` message in either shape (structured, or the older ``error``/``code`` form)."""

    message: str
    status: int | None = None
    code: str = ""
    context_id: str | None = None
    request_id: str = ""


@dataclass(frozen=True)
class Connected:
    """Ink-2: the session is ready for audio."""

    request_id: str = ""


@dataclass(frozen=True)
class TurnMessage:
    """Ink-2: ``turn.start``/``update``/``eager_end``/``resume``/``end`` (kind without the prefix)."""

    kind: Literal["start", "update", "eager_end", "resume", "end"]
    transcript: str | None = None


@dataclass(frozen=True)
class Transcript:
    """ink-whisper: an interim or final transcript delta (``text`` verbatim, never stripped)."""

    text: str
    is_final: bool
    words: tuple[WordTiming, ...] = ()
    duration: float | None = None
    language: str = ""
    request_id: str = ""
    words_problem: str = ""
    """Why ``words`` could not be read ("" when it could): the text and ``is_final`` still hold."""


@dataclass(frozen=True)
class FlushDone:
    """ink-whisper answered ``finalize``; TTS flushed a context (``context_id`` then set)."""

    context_id: str | None = None


@dataclass(frozen=True)
class Done:
    """ink-whisper: the session ends; TTS: a context is complete."""

    context_id: str | None = None


@dataclass(frozen=True)
class AudioChunk:
    """TTS: raw audio bytes of a context."""

    context_id: str | None
    data: bytes
    done: bool = False


@dataclass(frozen=True)
class Timestamps:
    """TTS: word timings of a context, seconds from the context's audio start."""

    context_id: str | None
    words: tuple[WordTiming, ...]


@dataclass(frozen=True)
class Unknown:
    """A well-formed message whose ``type`` this client does not know."""

    type: str


ServerMessage = ErrorMessage | Connected | TurnMessage | Transcript | FlushDone | Done | AudioChunk | Timestamps | Unknown


def _load_object(text: str | bytes) -> dict[str, Any]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise ProtocolError("binary message is not UTF-8 JSON") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProtocolError(f"malformed JSON ({exc.msg} at char {exc.pos})") from None
    except RecursionError:
        raise ProtocolError("JSON nested too deeply") from None
    if not isinstance(data, dict):
        raise ProtocolError(f"message is a JSON {type(data).__name__}, not an object")
    return data


def context_id(data: dict[str, Any]) -> str | None:
    """The message's ``context_id`` as a string, or None when it has none (or not a plain value)."""
    value = data.get("context_id")
    if value is None or isinstance(value, (dict, list)):
        return None
    return display_text(str(value), 128)


def text_field(data: dict[str, Any], name: str, limit: int = 128) -> str:
    """A short informational field (``request_id``, ``language``, ...) as safe text; "" if not a plain value."""
    value = data.get(name)
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return display_text(str(value), limit)


def decode_error(data: dict[str, Any]) -> ErrorMessage:
    """Read an error in any shape: message = ``message or error or title``, status = ``status_code or code``."""
    raw_error = data.get("error")
    nested = raw_error if isinstance(raw_error, dict) else {}
    candidates = (data.get("message"), nested.get("message"), raw_error, data.get("title"), nested.get("title"))
    # The server's text is capped, escaped and scrubbed of keys here, where it enters.
    message = display_text(next((c for c in candidates if isinstance(c, str) and c), "unspecified server error"))
    status: int | None = None
    code = ""
    for candidate in (data.get("status_code"), nested.get("status_code"), data.get("code"), nested.get("code")):
        if isinstance(candidate, bool):
            continue
        if isinstance(candidate, int) and status is None and 100 <= candidate <= 999:
            status = candidate
        elif isinstance(candidate, str) and candidate.isdigit() and len(candidate) == 3 and status is None:
            status = int(candidate)
        elif isinstance(candidate, str) and not code:
            code = candidate
    error_code = data.get("error_code") or nested.get("error_code") or code
    return ErrorMessage(
        message=message,
        status=status,
        code=display_text(error_code, 64) if isinstance(error_code, (str, int)) and not isinstance(error_code, bool) else "",
        context_id=context_id(data),
        request_id=text_field(data, "request_id"),
    )


def parse_words(data: dict[str, Any]) -> tuple[WordTiming, ...]:
    """Word timings from either shape.

    ``{"words": [{"word": "How", "start": 0.0, "end": 0.1}, ...]}`` or parallel arrays
    ``{"words": ["How", ...], "start": [0.0, ...], "end": [0.1, ...]}``; the TTS form nests the
    arrays under ``word_timestamps``. Missing or empty gives ``()``.
    """
    source = data.get("word_timestamps") if isinstance(data.get("word_timestamps"), dict) else data
    words = source.get("words")
    if words is None:
        return ()
    if not isinstance(words, list):
        raise ProtocolError("'words' is not a list")
    try:
        if all(isinstance(w, dict) for w in words):
            triples = [(w.get("word", w.get("text", "")), w["start"], w["end"]) for w in words]
        else:
            starts, ends = source.get("start"), source.get("end")
            if not isinstance(starts, list) or not isinstance(ends, list) or not len(starts) == len(ends) == len(words):
                raise ProtocolError("word timings: 'words', 'start' and 'end' are not parallel lists")
            triples = list(zip(words, starts, ends, strict=True))
        out = [WordTiming(_word(w), _seconds(s), _seconds(e)) for w, s, e in triples]
    except (KeyError, TypeError, ValueError, OverflowError):
        raise ProtocolError("word timings have missing or non-numeric start/end") from None
    return tuple(out)


def _word(value: Any) -> str:
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise TypeError("a word is not text")
    return display_text(str(value), 200)


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a time is not a number")
    seconds = float(value)
    if not math.isfinite(seconds) or abs(seconds) > 1e7:
        raise ValueError("a time is not a finite number of seconds")
    return seconds


def transcript_field(data: dict[str, Any]) -> str | None:
    """The message's ``transcript`` (or ``text``) verbatim, or None when it has none."""
    value = data.get("transcript", data.get("text"))
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("'transcript' is not a string")
    if not value.isprintable() or known():
        value = escape_controls(scrub(value))  # no escape sequence or key reaches a screen or a file
    return value


def typed_object(text: str | bytes) -> tuple[dict[str, Any], str]:
    """The message's object and its ``type``; an untyped legacy error object counts as ``error``."""
    data = _load_object(text)
    kind = data.get("type")
    if isinstance(kind, str):
        return data, display_text(kind, 64)
    if "error" in data or "message" in data:
        return data, "error"
    raise ProtocolError("message has no 'type'")
