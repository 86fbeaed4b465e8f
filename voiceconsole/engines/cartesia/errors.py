"""Typed failures of the Cartesia clients.

:class:`CartesiaError` is the root. Handshake and connection failures say whether they are
worth retrying; none of their messages ever contains the API key or a URL carrying it.
"""

from __future__ import annotations


class CartesiaError(Exception):
    """Base of every Cartesia client failure."""


class ProtocolError(CartesiaError):
    """A server message that cannot be understood (not JSON, no ``type``, bad fields)."""


class ConnectError(CartesiaError):
    """Opening (or keeping) the websocket failed.

    ``retryable`` says whether backing off and trying again can help; ``hint`` says what the
    user can do; ``retry_after`` is a server-suggested delay in seconds, if any.
    """

    retryable = True

    def __init__(self, message: str, *, hint: str = "", status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.status = status
        self.retry_after = retry_after


class AuthError(ConnectError):
    """The server refused the API key (HTTP 401/403): fatal, never retried."""

    retryable = False


class RejectedError(ConnectError):
    """The server refused the request for good (other 4xx, bad URL, protocol violation)."""

    retryable = False


class RateLimited(ConnectError):
    """Too many connections or requests (HTTP 429): back off, then retry."""


class ServerError(ConnectError):
    """A server-side fault (HTTP 5xx): retry with backoff."""


class NetworkError(ConnectError):
    """The server could not be reached or the handshake timed out: retry with backoff."""


class ConnectionLost(CartesiaError):
    """An open connection ended without the client asking (close code and reason kept)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        from voiceconsole.secrets import display_text

        self.code = code
        self.reason = display_text(reason, 200)  # the server's text: capped, escaped, no key
        reason = self.reason
        text = f"connection lost (close code {code})" if code is not None else "connection lost"
        super().__init__(f"{text}: {reason}" if reason else text)
