"""Cartesia server messages, decoded: the message types and the parsing every endpoint shares.

Parsing is lenient (both error shapes, both word-timing shapes, unknown fields ignored). A
message that cannot be understood raises :class:`ProtocolError`; a well-formed message of a
type this client does not know decodes to :class:`Unknown`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.events import WordTiming


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
    if not isinstance(data, dict):
        raise ProtocolError(f"message is a JSON {type(data).__name__}, not an object")
    return data


def context_id(data: dict[str, Any]) -> str | None:
    """The message's ``context_id`` as a string, or None when it has none."""
    value = data.get("context_id")
    return None if value is None else str(value)


def decode_error(data: dict[str, Any]) -> ErrorMessage:
    """Read an error in any shape: message = ``message or error or title``, status = ``status_code or code``."""
    raw_error = data.get("error")
    nested = raw_error if isinstance(raw_error, dict) else {}
    message = data.get("message") or nested.get("message") or (raw_error if isinstance(raw_error, str) else None)
    message = message or data.get("title") or nested.get("title") or "unspecified server error"
    status: int | None = None
    code = ""
    for candidate in (data.get("status_code"), nested.get("status_code"), data.get("code"), nested.get("code")):
        if isinstance(candidate, bool):
            continue
        if isinstance(candidate, int) and status is None:
            status = candidate
        elif isinstance(candidate, str) and candidate.isdigit() and status is None:
            status = int(candidate)
        elif isinstance(candidate, str) and not code:
            code = candidate
    code = str(data.get("error_code") or nested.get("error_code") or code)
    return ErrorMessage(
        message=str(message),
        status=status,
        code=code,
        context_id=context_id(data),
        request_id=str(data.get("request_id") or ""),
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
    out: list[WordTiming] = []
    try:
        if all(isinstance(w, dict) for w in words):
            for w in words:
                out.append(WordTiming(str(w.get("word", w.get("text", ""))), float(w["start"]), float(w["end"])))
            return tuple(out)
        starts, ends = source.get("start"), source.get("end")
        if not isinstance(starts, list) or not isinstance(ends, list) or not len(starts) == len(ends) == len(words):
            raise ProtocolError("word timings: 'words', 'start' and 'end' are not parallel lists")
        return tuple(WordTiming(str(w), float(s), float(e)) for w, s, e in zip(words, starts, ends, strict=True))
    except (KeyError, TypeError, ValueError):
        raise ProtocolError("word timings have missing or non-numeric start/end") from None


def transcript_field(data: dict[str, Any]) -> str | None:
    """The message's ``transcript`` (or ``text``) verbatim, or None when it has none."""
    value = data.get("transcript", data.get("text"))
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("'transcript' is not a string")
    return value


def typed_object(text: str | bytes) -> tuple[dict[str, Any], str]:
    """The message's object and its ``type``; an untyped legacy error object counts as ``error``."""
    data = _load_object(text)
    kind = data.get("type")
    if isinstance(kind, str):
        return data, kind
    if "error" in data or "message" in data:
        return data, "error"
    raise ProtocolError("message has no 'type'")
