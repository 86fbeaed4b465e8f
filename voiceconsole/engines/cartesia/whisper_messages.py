"""The ink-whisper (v1) STT endpoint, sans I/O."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.messages import (
    Done,
    FlushDone,
    ServerMessage,
    Transcript,
    Unknown,
    decode_error,
    parse_words,
    text_field,
    transcript_field,
    typed_object,
)
from voiceconsole.events import WordTiming

WHISPER_PATH = "/stt/websocket"
WHISPER_FINALIZE = "finalize"
"""Text frame asking ink-whisper to flush what it has buffered (answered by ``flush_done``)."""
WHISPER_CLOSE = "close"
"""Text frame ending an ink-whisper session (answered by ``done``)."""


def decode_whisper_message(text: str | bytes) -> ServerMessage:
    """One message of the ink-whisper (v1) endpoint."""
    data, kind = typed_object(text)
    if kind == "transcript":
        text_value = transcript_field(data) or ""
        is_final = data.get("is_final", False)
        if not isinstance(is_final, bool):
            raise ProtocolError("'is_final' is not a boolean")
        duration = data.get("duration")
        words: tuple[WordTiming, ...] = ()
        problem = ""
        try:
            words = parse_words(data)
        except ProtocolError as exc:  # unreadable timings never cost the text
            problem = str(exc)
        finite = isinstance(duration, (int, float)) and not isinstance(duration, bool) and math.isfinite(duration)
        return Transcript(
            text=text_value,
            is_final=is_final,
            words=words,
            duration=float(duration) if finite else None,
            language=text_field(data, "language", 16),
            request_id=text_field(data, "request_id"),
            words_problem=problem,
        )
    if kind == "flush_done":
        return FlushDone()
    if kind == "done":
        return Done()
    if kind == "error":
        return decode_error(data)
    return Unknown(kind)


def whisper_query(
    model: str,
    encoding: str,
    sample_rate: int,
    language: str,
    *,
    keyterms: Sequence[str] = (),
    min_volume: float | None = None,
    max_silence_duration_secs: float | None = None,
) -> list[tuple[str, Any]]:
    """Query parameters of the ink-whisper endpoint (the optional ones only when set)."""
    query: list[tuple[str, Any]] = [("model", model), ("encoding", encoding), ("sample_rate", sample_rate), ("language", language)]
    if min_volume is not None:
        query.append(("min_volume", min_volume))
    if max_silence_duration_secs is not None:
        query.append(("max_silence_duration_secs", max_silence_duration_secs))
    query += [("keyterm", term) for term in keyterms]
    return query
