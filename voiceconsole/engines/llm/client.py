"""Streaming chat completions from any OpenAI-compatible server (OpenAI, Ollama, vLLM,
llama.cpp's server, LM Studio) with the official ``openai`` package (``voiceconsole[llm]``).

:meth:`ChatClient.stream` yields the reply's text deltas as they arrive and closes the HTTP
stream when the caller stops early (a cancelled speculative request really ends at the
server). Every failure becomes one :class:`LlmError` with a one-line message and what to do:
401/403 are fatal (the key is refused), 429 is retried after ``Retry-After``, anything else
fails only this reply. The API key goes into the ``Authorization`` header only.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from voiceconsole.errors import ConfigError, UserError
from voiceconsole.secrets import display_text

DEFAULT_LLM_URL = "https://api.openai.com/v1"
DEFAULT_LLM_MODEL = "gpt-4o-mini"
INSTALL_HINT = "pip install 'voiceconsole[llm]'"
KEY_HINT = "set OPENAI_API_KEY (or llm-api-key in the config file) to a key this server accepts"


@dataclass(frozen=True)
class LlmSettings:
    """How to reach the LLM and what to ask of it."""

    base_url: str = DEFAULT_LLM_URL
    model: str = DEFAULT_LLM_MODEL
    api_key: str | None = field(default=None, repr=False)
    system: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    stall_timeout_s: float = 10.0
    """No first token, or no next token, for this long fails the reply."""
    connect_timeout_s: float = 5.0
    rate_limit_retries: int = 2
    """How many times a 429 is retried (after its ``Retry-After``)."""
    max_retry_after_s: float = 20.0
    """A longer ``Retry-After`` fails the reply instead of waiting."""

    def validate(self) -> None:
        """Raise :class:`ConfigError` (one line) for a bad value."""
        if not self.base_url.startswith(("http://", "https://")):
            raise ConfigError(
                f"--llm-url {self.base_url!r}: give an http(s) base URL such as http://127.0.0.1:11434/v1"
            )
        if "@" in self.base_url.split("//", 1)[1].split("/", 1)[0]:
            raise ConfigError(
                "--llm-url must not carry credentials; put the key in OPENAI_API_KEY"
            )
        if not self.model.strip():
            raise ConfigError(
                "--llm-model is empty; name the model the server serves, e.g. llama3.2"
            )
        if self.temperature is not None and not 0.0 <= self.temperature <= 2.0:
            raise ConfigError(f"--llm-temperature {self.temperature}: must lie in 0-2")
        if self.max_tokens is not None and self.max_tokens <= 0:
            raise ConfigError(
                f"--llm-max-tokens {self.max_tokens}: must be a positive number"
            )
        if self.stall_timeout_s <= 0:
            raise ConfigError("--llm-timeout must be positive (seconds)")


class LlmError(Exception):
    """One request failed. ``fatal``: later requests would fail the same way (key refused)."""

    def __init__(
        self,
        message: str,
        hint: str = "",
        *,
        fatal: bool = False,
        retry_after: float | None = None,
    ) -> None:
        # Server text may echo the key (an error body): masked and capped before anything shows it.
        message, hint = display_text(message), display_text(hint)
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.fatal = fatal
        self.retry_after = retry_after


def load_system_prompt(value: str | None) -> str | None:
    """``--llm-system``: the text itself, or ``@FILE`` to read it from a file."""
    if not value:
        return None
    if not value.startswith("@"):
        return value
    path = value[1:]
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        raise ConfigError(
            f"--llm-system {value}: file not found; give @FILE of a text file or the prompt itself"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"--llm-system {value}: cannot read the file ({exc})"
        ) from None


class ChatClient:
    """One ``AsyncOpenAI`` client for the session, streaming chat completions."""

    name = "openai"

    def __init__(self, settings: LlmSettings) -> None:
        settings.validate()
        try:
            import openai
        except ImportError:
            raise UserError(
                f"--responder llm needs the openai package: {INSTALL_HINT}"
            ) from None
        self.settings = settings
        self._openai = openai
        timeout = openai.Timeout(
            settings.stall_timeout_s, connect=settings.connect_timeout_s
        )
        # Local servers need no key, but the client insists on one; it goes in the header only.
        self._client = openai.AsyncOpenAI(
            api_key=settings.api_key or "none",
            base_url=settings.base_url,
            timeout=timeout,
            max_retries=0,
            organization=None,
            project=None,
        )

    async def stream(self, messages: list[dict[str, str]]) -> AsyncIterator[str]:
        """Yield the reply's text deltas. Raises :class:`LlmError`; honours ``Retry-After``."""
        retries = 0
        while True:
            try:
                stream = await self._open(messages)
                break
            except LlmError as exc:
                if (
                    exc.retry_after is None
                    or retries >= self.settings.rate_limit_retries
                ):
                    raise
                retries += 1
                await asyncio.sleep(exc.retry_after)
        try:
            iterator = stream.__aiter__()
            while True:
                try:
                    chunk = await asyncio.wait_for(
                        iterator.__anext__(), self.settings.stall_timeout_s
                    )
                except StopAsyncIteration:
                    return
                except asyncio.TimeoutError:
                    raise LlmError(
                        f"the LLM stream stalled: no token for {self.settings.stall_timeout_s:g} s",
                        "check the server's load, or raise --llm-timeout",
                    ) from None
                text = _delta_text(chunk)
                if text:
                    yield text
        except LlmError:
            raise
        except (json.JSONDecodeError, ValueError) as exc:
            raise LlmError(
                f"the LLM server sent a malformed stream line ({exc})",
                _server_hint(self.settings),
            ) from None
        except Exception as exc:  # noqa: BLE001 - every failure becomes one LlmError line
            raise self._translate(exc) from None
        finally:
            await stream.close()

    async def _open(self, messages: list[dict[str, str]]) -> Any:
        s = self.settings
        kwargs: dict[str, Any] = {
            "model": s.model,
            "messages": messages,
            "stream": True,
        }
        if s.temperature is not None:
            kwargs["temperature"] = s.temperature
        if s.max_tokens is not None:
            kwargs["max_tokens"] = s.max_tokens
        try:
            return await self._client.chat.completions.create(**kwargs)
        except Exception as exc:  # noqa: BLE001 - every failure becomes one LlmError line
            raise self._translate(exc, opening=True) from None

    def _translate(self, exc: BaseException, *, opening: bool = False) -> LlmError:
        """One line for any failure of the client (never the key: the client's messages and our
        own carry none)."""
        o = self._openai
        s = self.settings
        if isinstance(exc, LlmError):
            return exc
        if isinstance(exc, (o.AuthenticationError, o.PermissionDeniedError)):
            status = exc.status_code
            return LlmError(
                f"the LLM server refused the key (HTTP {status})", KEY_HINT, fatal=True
            )
        if isinstance(exc, o.RateLimitError):
            wait = _retry_after(exc.response.headers)
            if wait is not None and wait <= s.max_retry_after_s:
                return LlmError(
                    "the LLM server is rate limiting (HTTP 429)",
                    "wait, or lower the request rate",
                    retry_after=wait,
                )
            return LlmError(
                "the LLM server is rate limiting (HTTP 429)",
                "wait a moment, or check your plan's limits",
            )
        if isinstance(exc, o.NotFoundError):
            return LlmError(
                f"the LLM server has no model {s.model!r} or no chat endpoint (HTTP 404)",
                "check --llm-model and that --llm-url ends in /v1",
            )
        if isinstance(exc, o.APIStatusError):
            return LlmError(
                f"the LLM server failed (HTTP {exc.status_code})", _server_hint(s)
            )
        if isinstance(exc, o.APITimeoutError):
            return LlmError(
                f"the LLM server did not answer within {s.stall_timeout_s:g} s",
                "check the server's load, or raise --llm-timeout",
            )
        if isinstance(exc, o.APIConnectionError):
            if opening:  # never connected: nothing listens there, or no route to it
                return LlmError(
                    f"cannot reach the LLM server at {s.base_url}",
                    "start it, or fix --llm-url",
                )
            return LlmError(
                f"lost the connection to the LLM server at {s.base_url}",
                _server_hint(s),
            )
        if isinstance(exc, o.APIError):
            return LlmError(
                f"the LLM server reported an error: {_one_line(str(exc))}",
                _server_hint(s),
            )
        return LlmError(
            f"LLM request failed: {type(exc).__name__}: {_one_line(str(exc))}",
            _server_hint(s),
        )

    async def close(self) -> None:
        """Release the HTTP connections."""
        await self._client.close()


def _delta_text(chunk: Any) -> str:
    choices = getattr(chunk, "choices", None) or []
    if not choices:
        return ""
    delta = getattr(choices[0], "delta", None)
    content = getattr(delta, "content", None) if delta is not None else None
    return content if isinstance(content, str) else ""


def _retry_after(headers: Any) -> float | None:
    value = headers.get("retry-after") if headers is not None else None
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: not worth waiting on blindly


def _server_hint(settings: LlmSettings) -> str:
    return f"check the server at {settings.base_url}; the next turn tries again"


def _one_line(text: str) -> str:
    line = " ".join(text.split())
    return line if len(line) <= 160 else line[:157] + "..."


def settings_from(values: Any) -> LlmSettings:
    """:class:`LlmSettings` from :class:`~voiceconsole.config.Settings` (the CLI has already
    merged ``OPENAI_BASE_URL`` and ``OPENAI_API_KEY`` into them)."""
    settings = LlmSettings(
        base_url=(values.llm_url or DEFAULT_LLM_URL).rstrip("/"),
        model=values.llm_model,
        api_key=values.llm_api_key or None,
        system=load_system_prompt(values.llm_system),
        temperature=values.llm_temperature,
        max_tokens=values.llm_max_tokens,
        stall_timeout_s=values.llm_timeout,
    )
    settings.validate()
    return settings
