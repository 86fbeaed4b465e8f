"""What a client asked for on the upgrade request, sans I/O: endpoint, query, credentials.

Three paths are served (``/stt/turns/websocket``, ``/stt/websocket``, ``/tts/websocket``);
anything else is refused with HTTP 404. Query parameters are checked as Cartesia checks them
(a bad ``encoding`` or ``sample_rate`` is HTTP 400 with a structured error body). The key is
only ever reported as present or not: it is never kept in a :class:`StreamRequest`.
"""

from __future__ import annotations

import itertools
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from voiceconsole.engines.cartesia.audio_format import STT_ENCODINGS
from voiceconsole.engines.cartesia.tts_messages import TTS_PATH
from voiceconsole.engines.cartesia.turns_messages import TURNS_PATH
from voiceconsole.engines.cartesia.whisper_messages import WHISPER_PATH
from voiceconsole.secrets import KEY_QUERY_NAMES

EndpointKind = Literal["turns", "whisper", "tts"]

ENDPOINTS: dict[str, EndpointKind] = {
    TURNS_PATH: "turns",
    WHISPER_PATH: "whisper",
    TTS_PATH: "tts",
}
"""Served paths and what each is."""

STT_RATE_RANGE = (8000, 48000)
"""Sample rates the STT endpoints take (Hz)."""

TURN_RANGES: dict[str, tuple[float, float]] = {
    "turn_start_threshold": (0.5, 0.9),
    "turn_eager_end_threshold": (0.3, 0.8),
    "turn_end_threshold": (0.05, 0.5),
    "turn_end_timeout_ms": (640, 11200),
}
"""Ink-2 turn tuning parameters and their accepted ranges (the widest any source gives)."""

MAX_MESSAGE_BYTES = 1 << 20
"""Largest message a client may send; a bigger one closes the socket with 1009."""

DOC_URL = "https://docs.cartesia.ai/api-reference"


class Refusal(Exception):
    """The upgrade request is refused with an HTTP status and a structured error body."""

    def __init__(self, status: int, error_code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.error_code = error_code
        self.message = message

    def body(self, request_id: str = "") -> str:
        """The JSON body of the HTTP response."""
        return (
            json.dumps(
                error_object(
                    self.status, self.error_code, self.message, request_id=request_id
                )
            )
            + "\n"
        )


@dataclass(frozen=True)
class StreamRequest:
    """One connection's upgrade request, minus its credentials."""

    kind: EndpointKind
    path: str
    target: str
    """Path and query exactly as the client sent them (what tap forwards upstream)."""
    query: tuple[tuple[str, str], ...] = ()
    """Query parameters without any that carry a credential."""
    version: str = ""
    has_key: bool = False
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def param(self, name: str, default: str | None = None) -> str | None:
        """The last value of query parameter ``name``."""
        value = default
        for key, item in self.query:
            if key == name:
                value = item
        return value

    def params(self, name: str) -> list[str]:
        """Every value of a repeatable parameter (``keyterm``)."""
        return [item for key, item in self.query if key == name]

    @property
    def encoding(self) -> str:
        """Audio encoding of an STT stream."""
        return self.param("encoding") or "pcm_s16le"

    @property
    def sample_rate(self) -> int:
        """Sample rate of an STT stream (checked by :func:`parse_request`)."""
        return int(self.param("sample_rate") or 16000)

    @property
    def model(self) -> str:
        """The model asked for (defaults per endpoint)."""
        return (
            self.param("model")
            or {"turns": "ink-2", "whisper": "ink-whisper", "tts": "sonic-3"}[self.kind]
        )

    def public(self) -> dict[str, Any]:
        """What may be shown, logged and recorded about the request: never a credential."""
        query: dict[str, Any] = {}
        for key, value in self.query:
            if key in query:
                existing = query[key]
                query[key] = (
                    [*existing, value]
                    if isinstance(existing, list)
                    else [existing, value]
                )
            else:
                query[key] = value
        return {
            "endpoint": self.kind,
            "path": self.path,
            "query": query,
            "cartesia_version": self.version,
            "key_given": self.has_key,
            "request_id": self.request_id,
        }


def error_object(
    status: int,
    error_code: str,
    message: str,
    *,
    request_id: str = "",
    context_id: str | None = None,
    title: str | None = None,
) -> dict[str, Any]:
    """A structured Cartesia error (the 2026-03-01 shape; ``type`` set for websocket messages)."""
    out: dict[str, Any] = {
        "type": "error",
        "status_code": status,
        "error_code": error_code,
        "title": title or error_code.replace("_", " ").capitalize(),
        "message": message,
        "request_id": request_id,
        "doc_url": DOC_URL,
        "done": True,
    }
    if context_id is not None:
        out["context_id"] = context_id
    return out


def error_frame(status: int, error_code: str, message: str, **extra: Any) -> str:
    """An error as one websocket text frame."""
    return json.dumps(
        error_object(status, error_code, message, **extra), separators=(",", ":")
    )


def _is_key_param(name: str) -> bool:
    return name.lower() in KEY_QUERY_NAMES


def parse_request(target: str, headers: Mapping[str, str]) -> StreamRequest:
    """Check the request line and headers of an upgrade; raise :class:`Refusal` if refused."""
    parts = urlsplit(target)
    kind = ENDPOINTS.get(parts.path.rstrip("/") or "/")
    if kind is None:
        raise Refusal(
            404,
            "not_found",
            f"no websocket endpoint at {parts.path!r}; use one of {', '.join(ENDPOINTS)}",
        )
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    has_key = bool(headers.get("X-API-Key") or headers.get("Authorization")) or any(
        _is_key_param(k) for k, _ in pairs
    )
    version = headers.get("Cartesia-Version") or next(
        (v for k, v in pairs if k == "cartesia_version"), ""
    )
    request = StreamRequest(
        kind=kind,
        path=parts.path,
        target=target,
        query=tuple((k, v) for k, v in pairs if not _is_key_param(k)),
        version=version,
        has_key=has_key,
    )
    if kind != "tts":
        check_stt_query(request)
    return request


def check_stt_query(request: StreamRequest) -> None:
    """Refuse an STT stream whose encoding, rate or turn tuning Cartesia would refuse."""
    encoding = request.param("encoding")
    if encoding is not None and encoding not in STT_ENCODINGS:
        raise Refusal(
            400,
            "invalid_encoding",
            f"encoding {encoding!r} is not supported; use one of {', '.join(STT_ENCODINGS)}",
        )
    rate = request.param("sample_rate")
    if rate is not None:
        try:
            value = int(rate)
        except ValueError:
            raise Refusal(
                400,
                "invalid_sample_rate",
                f"sample_rate {rate!r} is not an integer number of Hz",
            ) from None
        if not STT_RATE_RANGE[0] <= value <= STT_RATE_RANGE[1]:
            raise Refusal(
                400,
                "invalid_sample_rate",
                f"sample_rate {value} is out of range; use {STT_RATE_RANGE[0]}-{STT_RATE_RANGE[1]} Hz (16000 recommended)",
            )
    model = request.param("model")
    allowed = (
        ("ink-2", "ink-preview")
        if request.kind == "turns"
        else ("ink-whisper", "ink-2")
    )
    if model is not None and model not in allowed:
        raise Refusal(
            400,
            "model_not_found",
            f"model {model!r} is not available on {request.path}; use {' or '.join(allowed)}",
        )
    if request.kind == "turns":
        check_turn_values({k: v for k, v in request.query if k in TURN_RANGES})


def check_turn_values(values: Mapping[str, Any]) -> dict[str, float]:
    """Ink-2 turn tuning (query names) as numbers in range, or a :class:`Refusal` (400)."""
    out: dict[str, float] = {}
    for name, raw in values.items():
        low, high = TURN_RANGES[name]
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise Refusal(
                400, "invalid_turn_config", f"{name} {raw!r} is not a number"
            ) from None
        if not low <= value <= high:
            raise Refusal(
                400,
                "invalid_turn_config",
                f"{name} {value:g} is out of range; use {low:g}-{high:g}",
            )
        out[name] = value
    start = out.get("turn_start_threshold")
    eager = out.get("turn_eager_end_threshold")
    end = out.get("turn_end_threshold")
    ordered = [v for v in (start, eager, end) if v is not None]
    if any(a <= b for a, b in itertools.pairwise(ordered)):
        raise Refusal(
            400,
            "invalid_turn_config",
            "keep turn_end_threshold < turn_eager_end_threshold < turn_start_threshold",
        )
    return out
