"""The sonic TTS websocket, sans I/O: requests per context, decoded replies, text pieces."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass

from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.engines.cartesia.messages import (
    AudioChunk,
    Done,
    FlushDone,
    ServerMessage,
    Timestamps,
    Unknown,
    context_id,
    decode_error,
    parse_words,
    typed_object,
)

TTS_PATH = "/tts/websocket"
TTS_SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
DEFAULT_VOICE = "a0e99841-438c-4a64-b679-ae501e7d6091"


def decode_tts_message(text: str | bytes) -> ServerMessage:
    """One message of the TTS websocket."""
    data, kind = typed_object(text)
    ctx = context_id(data)
    if kind == "chunk":
        payload = data.get("data")
        if not isinstance(payload, str):
            raise ProtocolError("chunk without base64 'data'")
        try:
            audio = base64.b64decode(payload, validate=True)
        except (ValueError, TypeError):
            raise ProtocolError("chunk 'data' is not valid base64") from None
        return AudioChunk(ctx, audio, bool(data.get("done", False)))
    if kind == "timestamps":
        return Timestamps(ctx, parse_words(data))
    if kind == "flush_done":
        return FlushDone(ctx)
    if kind == "done":
        return Done(ctx)
    if kind == "error":
        return decode_error(data)
    return Unknown(kind)


@dataclass(frozen=True)
class TtsFormat:
    """Fields shared by every request of one TTS context."""

    model_id: str
    voice_id: str
    language: str
    sample_rate: int
    encoding: str = "pcm_s16le"
    generation_config: tuple[tuple[str, float | str], ...] = ()
    """sonic's ``generation_config`` (speed, volume, emotion): only what the user set, so the
    server's defaults apply otherwise."""
    pronunciation_dict_id: str | None = None


def tts_request(fmt: TtsFormat, context_id: str, transcript: str, *, more: bool) -> str:
    """One text piece of a context; ``more=False`` ends the context (``continue: false``)."""
    request: dict[str, object] = {
        "model_id": fmt.model_id,
        "transcript": transcript,
        "voice": {"mode": "id", "id": fmt.voice_id},
        "language": fmt.language,
        "context_id": context_id,
        "output_format": {"container": "raw", "encoding": fmt.encoding, "sample_rate": fmt.sample_rate},
        "add_timestamps": True,
        # Word timings of the text as given (the UI highlights the reply's own words), not of
        # the normalised text the model spoke ("10" -> "ten").
        "use_normalized_timestamps": False,
        "continue": more,
        "max_buffer_delay_ms": 0,
    }
    if fmt.generation_config:
        request["generation_config"] = dict(fmt.generation_config)
    if fmt.pronunciation_dict_id:
        request["pronunciation_dict_id"] = fmt.pronunciation_dict_id
    return json.dumps(request, ensure_ascii=False, separators=(",", ":"))


def tts_cancel(context_id: str) -> str:
    """Cancel a context: the server stops generating it."""
    return json.dumps({"context_id": context_id, "cancel": True}, separators=(",", ":"))


_PIECE_END = re.compile(r"([.!?\u2026\u3002\uff01\uff1f]+|[,;:]+)[\"')\]]*\s+")


def split_text(text: str, min_sentence_chars: int = 12, min_clause_chars: int = 40) -> list[str]:
    """Split a reply into sentence or clause pieces whose concatenation is exactly ``text``.

    A piece ends after punctuation and the whitespace that follows it (kept, so the server's
    verbatim concatenation reads right): after a sentence once it has ``min_sentence_chars``,
    after a clause (``,;:``) once it has ``min_clause_chars``; shorter pieces join the next so
    the voice keeps its prosody. Empty text gives no pieces.
    """
    pieces: list[str] = []
    start = 0
    for match in _PIECE_END.finditer(text):
        clause = match.group(1)[0] in ",;:"
        if match.end() - start >= (min_clause_chars if clause else min_sentence_chars):
            pieces.append(text[start : match.end()])
            start = match.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces
