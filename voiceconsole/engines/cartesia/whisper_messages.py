"""The ink-whisper (v1) STT endpoint, sans I/O."""

from __future__ import annotations

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
    transcript_field,
    typed_object,
)

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
        return Transcript(
            text=text_value,
            is_final=is_final,
            words=parse_words(data),
            duration=float(duration) if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None,
            language=str(data.get("language") or ""),
        )
    if kind == "flush_done":
        return FlushDone()
    if kind == "done":
        return Done()
    if kind == "error":
        return decode_error(data)
    return Unknown(kind)


def whisper_query(model: str, encoding: str, sample_rate: int, language: str) -> list[tuple[str, Any]]:
    """Query parameters of the ink-whisper endpoint."""
    return [("model", model), ("encoding", encoding), ("sample_rate", sample_rate), ("language", language)]
