"""Cartesia's websocket protocols, sans I/O: pure functions from values to frames and back.

Nothing here touches a socket or a clock. Requests are built in the current form; server
messages are parsed leniently (both error shapes, both word-timing shapes, unknown fields
ignored). A message that cannot be understood raises :class:`ProtocolError`; a well-formed
message of a type this client does not know decodes to :class:`Unknown`.
"""

from __future__ import annotations

import base64
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import numpy as np

from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.cartesia.errors import ProtocolError
from voiceconsole.errors import ConfigError
from voiceconsole.events import WordTiming

API_VERSION = "2026-03-01"
TURNS_PATH = "/stt/turns/websocket"
WHISPER_PATH = "/stt/websocket"
TTS_PATH = "/tts/websocket"

STT_ENCODINGS = ("pcm_s16le", "pcm_s32le", "pcm_f16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")
TTS_SAMPLE_RATES = (8000, 16000, 22050, 24000, 44100, 48000)
DEFAULT_VOICE = "a0e99841-438c-4a64-b679-ae501e7d6091"

WHISPER_FINALIZE = "finalize"
"""Text frame asking ink-whisper to flush what it has buffered (answered by ``flush_done``)."""
WHISPER_CLOSE = "close"
"""Text frame ending an ink-whisper session (answered by ``done``)."""

_KEY_PARAMS = {"api_key", "apikey", "x-api-key", "key", "token", "access_token"}


# --- URLs and headers ------------------------------------------------------------------------


def endpoint_url(base: str, path: str, query: dict[str, Any] | Sequence[tuple[str, Any]] = ()) -> str:
    """The websocket URL of an endpoint.

    ``base`` is ``ws[s]://host[:port]`` (``http[s]`` is mapped to ``ws[s]``), to which ``path``
    is appended; a base that already has a path is used as the full endpoint URL. ``query`` is
    added to any query the base carries. A key in the URL is refused: it would leak into logs.
    """
    try:
        parts = urlsplit(base.strip())
        port = parts.port
    except ValueError:
        raise ConfigError(f"{safe_url(base)!r} is not a valid URL; give e.g. wss://api.cartesia.ai") from None
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise ConfigError(f"{safe_url(base)!r} is not a websocket URL; give e.g. wss://api.cartesia.ai or ws://127.0.0.1:PORT")
    existing = parse_qsl(parts.query, keep_blank_values=True)
    if any(name.lower() in _KEY_PARAMS for name, _ in existing):
        raise ConfigError(
            "do not put the API key in the URL (it leaks into logs); use --api-key, CARTESIA_API_KEY or the config file"
        )
    items = list(query.items()) if isinstance(query, dict) else list(query)
    pairs = existing + [(k, _query_value(v)) for k, v in items if v is not None]
    full_path = parts.path if parts.path not in ("", "/") else path
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname and not parts.hostname.startswith("["):
        netloc = f"[{parts.hostname}]" + (f":{port}" if port is not None else "")
    return urlunsplit((scheme, netloc, full_path, urlencode(pairs), ""))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def safe_url(url: str) -> str:
    """``scheme://host[:port]/path`` without user info, query or fragment: safe to show."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def auth_headers(api_key: str) -> dict[str, str]:
    """Headers for every Cartesia request: the key (only here) and the API version."""
    return {"X-API-Key": api_key, "Cartesia-Version": API_VERSION}


# --- audio ----------------------------------------------------------------------------------


def check_stt_encoding(encoding: str) -> str:
    """``encoding`` if Cartesia STT takes it, else a :class:`ConfigError` listing the choices."""
    if encoding not in STT_ENCODINGS:
        raise ConfigError(f"unknown STT encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")
    return encoding


def encode_audio(samples: np.ndarray, encoding: str) -> bytes:
    """Float32 mono samples in [-1, 1] as the bytes of ``encoding`` (little-endian PCM or G.711)."""
    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    if encoding == "pcm_s16le":
        # The same as round(clip(x, -1, 1) * 32767) (scaling is monotonic), in place on one
        # temporary with bare ufuncs: this runs for every 20 ms block sent.
        scaled = np.multiply(data, np.float32(32767.0))
        np.minimum(scaled, np.float32(32767.0), out=scaled)
        np.maximum(scaled, np.float32(-32767.0), out=scaled)
        return np.rint(scaled, out=scaled).astype("<i2").tobytes()
    data = np.clip(data, -1.0, 1.0)
    if encoding == "pcm_s32le":
        return np.round(data.astype(np.float64) * 2147483647.0).astype("<i4").tobytes()
    if encoding == "pcm_f32le":
        return data.astype("<f4").tobytes()
    if encoding == "pcm_f16le":
        return data.astype("<f2").tobytes()
    if encoding == "pcm_mulaw":
        return _mulaw_encode(np.round(data * 32767.0).astype(np.int32)).tobytes()
    if encoding == "pcm_alaw":
        return _alaw_encode(np.round(data * 32767.0).astype(np.int32)).tobytes()
    raise ConfigError(f"unknown audio encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")


def decode_audio(data: bytes, encoding: str) -> np.ndarray:
    """Bytes of ``encoding`` back to float32 mono samples (the inverse of :func:`encode_audio`)."""
    if encoding == "pcm_s16le":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if encoding == "pcm_s32le":
        return (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    if encoding == "pcm_f32le":
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if encoding == "pcm_f16le":
        return np.frombuffer(data, dtype="<f2").astype(np.float32)
    if encoding == "pcm_mulaw":
        return _mulaw_decode(np.frombuffer(data, dtype=np.uint8)).astype(np.float32) / 32768.0
    if encoding == "pcm_alaw":
        return _alaw_decode(np.frombuffer(data, dtype=np.uint8)).astype(np.float32) / 32768.0
    raise ConfigError(f"unknown audio encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")


def bytes_per_sample(encoding: str) -> int:
    """Size of one sample of ``encoding`` in bytes."""
    return {"pcm_s16le": 2, "pcm_s32le": 4, "pcm_f32le": 4, "pcm_f16le": 2, "pcm_mulaw": 1, "pcm_alaw": 1}[encoding]


_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _segment(magnitude: np.ndarray, base: int) -> np.ndarray:
    # Index of the highest set bit above `base` bits: the G.711 segment (0-7).
    seg = np.zeros(magnitude.shape, dtype=np.int32)
    for s in range(1, 8):
        seg = np.where(magnitude >= (1 << (base + s)), s, seg)
    return seg


def _mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    sign = np.where(pcm < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(pcm), _MULAW_CLIP) + _MULAW_BIAS
    seg = _segment(magnitude, 7)
    mantissa = (magnitude >> (seg + 3)) & 0x0F
    return (~(sign | (seg << 4) | mantissa) & 0xFF).astype(np.uint8)


def _mulaw_decode(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    seg = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + _MULAW_BIAS) << seg
    return np.where(u & 0x80, _MULAW_BIAS - magnitude, magnitude - _MULAW_BIAS)


def _alaw_encode(pcm: np.ndarray) -> np.ndarray:
    sign = np.where(pcm >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(pcm < 0, -pcm - 1, pcm), 32767) >> 3
    seg = np.where(magnitude >= 32, _segment(magnitude, 4), 0)
    mantissa = np.where(seg == 0, magnitude >> 1, magnitude >> seg) & 0x0F
    return ((sign | (seg << 4) | mantissa) ^ 0x55).astype(np.uint8)


def _alaw_decode(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    seg = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(seg == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude)


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit PCM bytes as float32 samples (an odd trailing byte is dropped)."""
    usable = len(data) - (len(data) % 2)
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0


# --- server messages ----------------------------------------------------------------------------


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


def _opt_str(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError(f"{key!r} is not a string")
    return value


def _context_id(data: dict[str, Any]) -> str | None:
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
        context_id=_context_id(data),
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


def _transcript_field(data: dict[str, Any]) -> str | None:
    value = data.get("transcript", data.get("text"))
    if value is None:
        return None
    if not isinstance(value, str):
        raise ProtocolError("'transcript' is not a string")
    return value


def _typed_object(text: str | bytes) -> tuple[dict[str, Any], str]:
    """The message's object and its ``type``; an untyped legacy error object counts as ``error``."""
    data = _load_object(text)
    kind = data.get("type")
    if isinstance(kind, str):
        return data, kind
    if "error" in data or "message" in data:
        return data, "error"
    raise ProtocolError("message has no 'type'")


def decode_turns_message(text: str | bytes) -> ServerMessage:
    """One message of the Ink-2 turns endpoint."""
    data, kind = _typed_object(text)
    if kind == "connected":
        return Connected(str(data.get("request_id") or ""))
    if kind == "error":
        return decode_error(data)
    if kind in ("turn.start", "turn.resume"):
        return TurnMessage(kind[5:])  # type: ignore[arg-type]
    if kind in ("turn.update", "turn.eager_end", "turn.end"):
        return TurnMessage(kind[5:], _transcript_field(data))  # type: ignore[arg-type]
    return Unknown(kind)


def decode_whisper_message(text: str | bytes) -> ServerMessage:
    """One message of the ink-whisper (v1) endpoint."""
    data, kind = _typed_object(text)
    if kind == "transcript":
        text_value = _transcript_field(data) or ""
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


def decode_tts_message(text: str | bytes) -> ServerMessage:
    """One message of the TTS websocket."""
    data, kind = _typed_object(text)
    ctx = _context_id(data)
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


# --- client requests -------------------------------------------------------------------------------


def turns_query(model: str, encoding: str, sample_rate: int, turn: TurnSettings) -> list[tuple[str, Any]]:
    """Query parameters of the Ink-2 turns endpoint (turn tuning included)."""
    return [
        ("model", model),
        ("encoding", encoding),
        ("sample_rate", sample_rate),
        ("turn_start_threshold", turn.start_threshold),
        ("turn_eager_end_threshold", turn.eager_end_threshold),
        ("turn_end_threshold", turn.end_threshold),
        ("turn_end_timeout_ms", turn.end_timeout_ms),
    ]


def turns_config_command(turn: TurnSettings) -> str:
    """The ``config`` command retuning Ink-2 turn detection mid-session."""
    return json.dumps(
        {
            "type": "config",
            "turn": {
                "start_threshold": turn.start_threshold,
                "eager_end_threshold": turn.eager_end_threshold,
                "end_threshold": turn.end_threshold,
                "end_timeout_ms": turn.end_timeout_ms,
            },
        },
        separators=(",", ":"),
    )


def turns_close_command() -> str:
    """The ``close`` command: the server flushes the remaining audio and events, then closes."""
    return '{"type":"close"}'


def whisper_query(model: str, encoding: str, sample_rate: int, language: str) -> list[tuple[str, Any]]:
    """Query parameters of the ink-whisper endpoint."""
    return [("model", model), ("encoding", encoding), ("sample_rate", sample_rate), ("language", language)]


@dataclass(frozen=True)
class TtsFormat:
    """Fields shared by every request of one TTS context."""

    model_id: str
    voice_id: str
    language: str
    sample_rate: int
    encoding: str = "pcm_s16le"


def tts_request(fmt: TtsFormat, context_id: str, transcript: str, *, more: bool) -> str:
    """One text piece of a context; ``more=False`` ends the context (``continue: false``)."""
    return json.dumps(
        {
            "model_id": fmt.model_id,
            "transcript": transcript,
            "voice": {"mode": "id", "id": fmt.voice_id},
            "language": fmt.language,
            "context_id": context_id,
            "output_format": {"container": "raw", "encoding": fmt.encoding, "sample_rate": fmt.sample_rate},
            "add_timestamps": True,
            "continue": more,
            "max_buffer_delay_ms": 0,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


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


# --- failures and retries ---------------------------------------------------------------------------

RETRYABLE_CLOSE_CODES = frozenset({1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015})
FATAL_CLOSE_CODES = frozenset({1002, 1003, 1007, 1008, 1009, 1010})


def close_disposition(code: int | None) -> Literal["normal", "retry", "fatal"]:
    """What a close code means: ``normal`` (1000), ``fatal`` (protocol or policy violation) or ``retry``."""
    if code == 1000:
        return "normal"
    if code in FATAL_CLOSE_CODES:
        return "fatal"
    return "retry"


def status_disposition(status: int) -> Literal["auth", "rate_limited", "server", "rejected"]:
    """What an HTTP status on the websocket upgrade means."""
    if status in (401, 403):
        return "auth"
    if status == 429:
        return "rate_limited"
    if status >= 500 or status in (408, 425):
        return "server"
    return "rejected"


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter: ``initial_s`` doubling up to ``max_s``.

    ``jitter`` is the fraction of each delay drawn at random (0.25: the delay lies in
    [0.75 d, d]); ``start_attempts`` bounds the tries of the first connection (a server that
    is not there at start is reported, not waited for forever); ``rate_limit_min_s`` is the
    least wait after a 429.
    """

    initial_s: float = 0.5
    max_s: float = 8.0
    factor: float = 2.0
    jitter: float = 0.25
    start_attempts: int = 3
    rate_limit_min_s: float = 2.0


def backoff_delay(policy: RetryPolicy, attempt: int, rng: random.Random | None = None) -> float:
    """Seconds to wait before retry number ``attempt`` (1 for the first retry)."""
    base = min(policy.max_s, policy.initial_s * policy.factor ** max(0, attempt - 1))
    draw = (rng or random).random()
    return base * (1.0 - policy.jitter * draw)
