"""Cartesia endpoint URLs and request headers, sans I/O."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from voiceconsole.errors import ConfigError
from voiceconsole.secrets import check_key, url_credentials

API_VERSION = "2026-03-01"

_KEY_PARAMS = {"api_key", "apikey", "x-api-key", "key", "token", "access_token"}


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
    found = url_credentials(base)
    if found is not None or any(name.lower() in _KEY_PARAMS for name, _ in existing):
        raise ConfigError(
            f"{safe_url(base)!r} carries credentials ({found or 'a key parameter'}); do not put the API key in the URL "
            "(it leaks into logs): use --api-key, CARTESIA_API_KEY or the config file"
        )
    items = list(query.items()) if isinstance(query, dict) else list(query)
    pairs = existing + [(k, _query_value(v)) for k, v in items if v is not None]
    full_path = parts.path if parts.path not in ("", "/") else path
    netloc = parts.hostname if port is None else f"{parts.hostname}:{port}"
    if ":" in parts.hostname and not parts.hostname.startswith("["):
        netloc = f"[{parts.hostname}]" + (f":{port}" if port is not None else "")
    # Spaces as %20, not +: Cartesia reads keyterms that way (Pipecat's note).
    return urlunsplit((scheme, netloc, full_path, urlencode(pairs, quote_via=quote), ""))


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def language_code(language: str) -> str:
    """ISO 639-1 as Cartesia takes it: ``en-US`` and ``en_GB`` -> ``en``, ``PT`` -> ``pt``."""
    return language.strip().replace("_", "-").split("-")[0].lower()


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
    """Headers for every Cartesia request: the key (only here) and the API version.

    A key that cannot be a header value (a stray line break from a config file) is refused as
    malformed here, before anything is sent: it must never reach an error text."""
    check_key(api_key)
    return {"X-API-Key": api_key, "Cartesia-Version": API_VERSION}
