"""The Ink-2 turns endpoint (``turn.start``/``update``/``eager_end``/``resume``/``end``), sans I/O."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from voiceconsole.engines.base import TurnSettings
from voiceconsole.engines.cartesia.messages import (
    Connected,
    ServerMessage,
    TurnMessage,
    Unknown,
    decode_error,
    text_field,
    transcript_field,
    typed_object,
)

TURNS_PATH = "/stt/turns/websocket"


def decode_turns_message(text: str | bytes) -> ServerMessage:
    """One message of the Ink-2 turns endpoint."""
    data, kind = typed_object(text)
    if kind == "connected":
        return Connected(text_field(data, "request_id"))
    if kind == "error":
        return decode_error(data)
    if kind in ("turn.start", "turn.resume"):
        return TurnMessage(kind[5:])  # type: ignore[arg-type]
    if kind in ("turn.update", "turn.eager_end", "turn.end"):
        return TurnMessage(kind[5:], transcript_field(data))  # type: ignore[arg-type]
    return Unknown(kind)


TURN_QUERY_FIELDS = {
    "turn_start_threshold": "start_threshold",
    "turn_eager_end_threshold": "eager_end_threshold",
    "turn_end_threshold": "end_threshold",
    "turn_end_timeout_ms": "end_timeout_ms",
}
"""Query name -> :class:`TurnSettings` attribute of Ink-2's turn tuning."""


def turns_query(
    model: str,
    encoding: str,
    sample_rate: int,
    turn: TurnSettings,
    *,
    explicit: Collection[str] | None = None,
    keyterms: Sequence[str] = (),
) -> list[tuple[str, Any]]:
    """Query parameters of the Ink-2 turns endpoint.

    Turn tuning is sent only for the query names in ``explicit`` (None: all of them): sources
    disagree on the server's defaults and ranges, so what the user did not set is left to the
    server. ``keyterms`` each become a ``keyterm`` parameter."""
    query: list[tuple[str, Any]] = [("model", model), ("encoding", encoding), ("sample_rate", sample_rate)]
    for name, attribute in TURN_QUERY_FIELDS.items():
        if explicit is None or name in explicit:
            query.append((name, getattr(turn, attribute)))
    query += [("keyterm", term) for term in keyterms]
    return query


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
