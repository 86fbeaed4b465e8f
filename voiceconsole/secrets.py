"""Known secrets (API keys) and what keeps them out of everything shown, logged or recorded.

Every key the console is given is registered here (:func:`register`, :func:`register_settings`,
:func:`register_environment`); :func:`scrub` replaces each of them, in every form it can take
in text (verbatim, JSON- or URL-escaped), by ``***``. :func:`display_text` also escapes control
characters and caps the length, for text that came from a server and is about to reach a
terminal, an event or a log. Keys are checked (:func:`check_key`) before anything is sent, and
URLs carrying credentials are refused (:func:`url_credentials`) or shown without them
(:func:`strip_credentials`).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import threading
from typing import Any
from urllib.parse import parse_qsl, quote, quote_plus, urlencode, urlsplit, urlunsplit

from voiceconsole.errors import ConfigError

MASK = "***"
SECRET_ENV_VARS = ("CARTESIA_API_KEY", "OPENAI_API_KEY")
"""Environment variables whose values are secrets wherever they show up."""
DISPLAY_LIMIT = 300
"""Longest server text shown or recorded as is (the rest is counted, not kept)."""
MIN_SECRET_LENGTH = 4
"""Shorter values are not scrubbed (masking every ``a`` would mangle all text)."""
KEY_QUERY_NAMES = frozenset(
    {
        "api_key",
        "apikey",
        "api-key",
        "x-api-key",
        "key",
        "token",
        "access_token",
        "auth",
        "authorization",
        "password",
        "secret",
        "signature",
        "sig",
        "cartesia_api_key",
        "openai_api_key",
    }
)
"""Query parameter names that carry credentials (a URL with one is refused)."""

_lock = threading.Lock()
_forms: set[str] = set()
_ordered: tuple[str, ...] = ()


def holds_secret(name: str) -> bool:
    """Whether a setting of this name holds a secret (``api_key``, ``llm_api_key``, ``*_token``...)."""
    name = name.lower()
    return name.endswith(
        ("api_key", "_key", "token", "secret", "password")
    ) and not name.startswith("keyterm")


def register(value: object) -> None:
    """Treat ``value`` (a key) as a secret from now on: :func:`scrub` masks it in every form."""
    global _ordered
    if not isinstance(value, str) or len(value.strip()) < MIN_SECRET_LENGTH:
        return
    forms = {
        value,
        value.strip(),
        json.dumps(value)[1:-1],
        repr(value)[1:-1],
        quote(value, safe=""),
        quote_plus(value),
    }
    forms |= {
        json.dumps(value.strip())[1:-1],
        quote(value.strip(), safe=""),
        quote_plus(value.strip()),
    }
    with _lock:
        _forms.update(f for f in forms if len(f) >= MIN_SECRET_LENGTH)
        _ordered = tuple(sorted(_forms, key=len, reverse=True))


def register_environment() -> None:
    """Register the keys given in the environment (:data:`SECRET_ENV_VARS`)."""
    for name in SECRET_ENV_VARS:
        register(os.environ.get(name))


def register_settings(settings: Any) -> None:
    """Register every secret field of a settings dataclass (``api_key``, ``llm_api_key``, ...)."""
    register_environment()
    for f in dataclasses.fields(settings):
        if holds_secret(f.name):
            register(getattr(settings, f.name))


def known() -> bool:
    """Whether any secret is registered."""
    return bool(_ordered)


def scrub(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    for form in _ordered:
        if form in text:
            text = text.replace(form, MASK)
    return text


def scrub_value(value: Any, depth: int = 0) -> Any:
    """A JSON-like value (dicts, lists, strings) with every string scrubbed."""
    if isinstance(value, str):
        return scrub(value)
    if depth > 50:
        return None
    if isinstance(value, dict):
        return {scrub(str(k)): scrub_value(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [scrub_value(v, depth + 1) for v in value]
    return value


def escape_controls(text: str) -> str:
    """Control characters (ESC, CR, BEL, ...) written as ``\\x1b`` so a terminal never obeys them."""
    if text.isprintable():
        return text
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\n\t":
            out.append(" ")
        else:
            code = ord(ch)
            out.append(
                f"\\x{code:02x}"
                if code < 0x100
                else f"\\u{code:04x}"
                if code < 0x10000
                else f"\\U{code:08x}"
            )
    return "".join(out)


def display_text(value: object, limit: int = DISPLAY_LIMIT) -> str:
    """Server text made safe to show, log or record: scrubbed, control characters escaped,
    at most ``limit`` characters (the rest counted)."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 64 * limit:  # do not scan megabytes for what will be cut anyway
        text = text[: 64 * limit]
    text = escape_controls(scrub(text))
    if len(text) > limit:
        text = text[:limit] + f"... ({len(text) - limit} more characters)"
    return text


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be a key (a space, a line break, a control or non-ASCII character), or None.

    The reason never quotes the key."""
    if not key:
        return "it is empty"
    for i, ch in enumerate(key):
        if not ("!" <= ch <= "~"):
            what = {
                " ": "a space",
                "\r": "a carriage return",
                "\n": "a line break",
                "\t": "a tab",
            }.get(ch)
            if what is None:
                what = (
                    "a control character"
                    if not ch.isprintable()
                    else "a non-ASCII character"
                )
            return f"it contains {what} at position {i + 1} of {len(key)}"
    return None


def check_key(
    key: str,
    what: str = "Cartesia API key",
    source: str = "--api-key, CARTESIA_API_KEY or the config file",
) -> str:
    """``key`` if it can be sent in a header; else :class:`ConfigError` saying it is malformed."""
    problem = key_problem(key)
    if problem is not None:
        register(key)
        raise ConfigError(
            f"the {what} is malformed ({problem}); copy it again into {source} (no quotes, spaces or line breaks)"
        )
    return key


def url_credentials(url: str) -> str | None:
    """What credential a URL carries (user info, a key-like query name, a known key), or None."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        return "user info (user:password@)"
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if (
            name.lower() in KEY_QUERY_NAMES
            or "key" in name.lower()
            or "token" in name.lower()
        ):
            return f"a {name!r} query parameter"
        if value and scrub(value) != value:
            return "a key in the query"
    if scrub(url) != url:
        return "a key"
    return None


def strip_credentials(url: str) -> str:
    """``url`` without user info and without key-like query parameters (safe to store)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "<invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    query = [
        (n, v)
        for n, v in parse_qsl(parts.query, keep_blank_values=True)
        if n.lower() not in KEY_QUERY_NAMES
        and "key" not in n.lower()
        and "token" not in n.lower()
        and scrub(v) == v
    ]
    return scrub(
        urlunsplit((parts.scheme, host + port, parts.path, urlencode(query), ""))
    )


class _ScrubbingFactory:
    """A log record factory that scrubs the formatted message and its traceback text."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __call__(self, *args: Any, **kwargs: Any) -> logging.LogRecord:
        record = self.inner(*args, **kwargs)
        if _ordered:
            try:
                message = record.getMessage()
            except (
                TypeError,
                ValueError,
            ):  # a bad format string is logging's to report
                return record
            record.msg, record.args = display_text(message, 4000), ()
            if record.exc_info:
                record.exc_text = scrub(
                    logging.Formatter().formatException(record.exc_info)
                )
        return record


def install_log_scrubber() -> None:
    """Scrub every log record made from now on (idempotent)."""
    factory = logging.getLogRecordFactory()
    if not isinstance(factory, _ScrubbingFactory):
        logging.setLogRecordFactory(_ScrubbingFactory(factory))


__all__ = [
    "DISPLAY_LIMIT",
    "MASK",
    "SECRET_ENV_VARS",
    "check_key",
    "display_text",
    "escape_controls",
    "holds_secret",
    "install_log_scrubber",
    "key_problem",
    "known",
    "register",
    "register_environment",
    "register_settings",
    "scrub",
    "scrub_value",
    "strip_credentials",
    "url_credentials",
]
