"""What a failed websocket handshake or an early close means, as typed errors safe to show.

Everything a server sends back (an HTTP error body, a close reason, an exception's text) goes
through :func:`~voiceconsole.secrets.display_text`: capped, control characters escaped, and
every known key masked, since a server may echo the key it was given.
"""

from __future__ import annotations

import contextlib
import json
import math

from websockets.exceptions import ConnectionClosed, InvalidStatus

from voiceconsole.engines.cartesia.errors import (
    AuthError,
    ConnectError,
    NetworkError,
    RateLimited,
    RejectedError,
    ServerError,
)
from voiceconsole.engines.cartesia.messages import decode_error
from voiceconsole.engines.cartesia.retry import close_disposition, status_disposition
from voiceconsole.secrets import display_text

AUTH_HINT = "check the key given by --api-key, CARTESIA_API_KEY or the config file (keys: play.cartesia.ai)"
DETAIL_LIMIT = 200


def describe(exc: BaseException) -> str:
    """An exception as ``Type: text`` for a one-line message (text made safe to show)."""
    text = display_text(str(exc).strip(), DETAIL_LIMIT)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def retry_after_seconds(value: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (capped by :attr:`RetryPolicy.retry_after_max_s` when
    used); None when absent or not a number (an HTTP date is not honoured: the backoff applies)."""
    if not value:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _body_detail(body: bytes) -> str:
    if not body:
        return ""
    try:
        detail = decode_error(json.loads(body[:65536])).message
    except (ValueError, TypeError, AttributeError, RecursionError):
        detail = body[:65536].decode("utf-8", "replace").strip()
    detail = display_text(detail, DETAIL_LIMIT)
    return f": {detail}" if detail else ""


def status_error(exc: InvalidStatus, shown: str) -> ConnectError:
    """The typed error for an HTTP status refusing the websocket upgrade."""
    response = exc.response
    status = response.status_code
    detail = _body_detail(getattr(response, "body", b"") or b"")
    kind = status_disposition(status)
    if kind == "auth":
        return AuthError(
            f"the Cartesia API key was refused (HTTP {status}){detail}",
            hint=AUTH_HINT,
            status=status,
        )
    if kind == "rate_limited":
        retry_after = None
        with contextlib.suppress(AttributeError, TypeError):
            retry_after = retry_after_seconds(response.headers.get("Retry-After"))
        return RateLimited(
            f"too many connections or requests (HTTP 429){detail}",
            hint="backing off; close other sessions using this key",
            status=status,
            retry_after=retry_after,
        )
    if kind == "server":
        return ServerError(
            f"server error at {shown} (HTTP {status}){detail}",
            hint="retrying with backoff",
            status=status,
        )
    return RejectedError(
        f"{shown} refused the connection (HTTP {status}){detail}",
        hint="check --stt-url / --tts-url, the model and the audio settings",
        status=status,
    )


def closed_error(exc: ConnectionClosed, shown: str) -> ConnectError:
    """The typed error for a stream closed right after the handshake."""
    rcvd = exc.rcvd
    code = rcvd.code if rcvd is not None else None
    reason = display_text(rcvd.reason if rcvd is not None else "", DETAIL_LIMIT)
    if close_disposition(code) == "fatal":
        return RejectedError(
            f"{shown} closed the stream at once (close code {code}: {reason})",
            hint="check the model and audio settings",
        )
    return NetworkError(
        f"{shown} closed the stream at once (close code {code})",
        hint="retrying with backoff",
    )


GAVE_UP_HINTS = {
    "retrying with backoff": "gave up: the server stayed unavailable; check the server's status and --stt-url / --tts-url",
    "backing off; close other sessions using this key": "gave up: still rate limited; close other sessions using this key, then start again",
}
"""The hint of an error shown after the last try: no longer says it is retrying."""


def final_hint(error: ConnectError) -> str:
    """``error``'s hint as it reads once the client has stopped trying."""
    return GAVE_UP_HINTS.get(error.hint, error.hint) if error.retryable else error.hint


__all__ = [
    "AUTH_HINT",
    "closed_error",
    "describe",
    "final_hint",
    "retry_after_seconds",
    "status_error",
]
