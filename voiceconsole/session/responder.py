"""Responders decide what the bot says after each user turn."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from voiceconsole.errors import ConfigError


class Responder(Protocol):
    """Turns a finished user turn into reply text (``None`` for no reply)."""

    name: str

    async def reply(self, turn: int, transcript: str) -> str | None:
        """The reply to ``transcript`` of turn ``turn``."""
        ...


class EchoResponder:
    """Says back what it heard."""

    name = "echo"

    async def reply(self, turn: int, transcript: str) -> str | None:
        text = transcript.strip()
        return text or None


class ScriptResponder:
    """One reply a line from a text file, one per turn, in order; silent when the lines run out.

    Blank lines and lines starting with ``#`` are skipped.
    """

    def __init__(self, path: str | Path) -> None:
        p = Path(path)
        try:
            text = p.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError(
                f"{p}: script file not found; give a text file with one reply per line"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(
                f"{p}: script file is not UTF-8 text; give a text file with one reply per line"
            ) from None
        except OSError as exc:
            raise ConfigError(
                f"{p}: cannot read script ({exc.strerror or exc})"
            ) from None
        self.lines = [
            ln.strip()
            for ln in text.splitlines()
            if ln.strip() and not ln.lstrip().startswith("#")
        ]
        if not self.lines:
            raise ConfigError(
                f"{p}: script file has no replies; write one reply per line"
            )
        self.name = f"script:{p.name}"
        self._next = 0

    async def reply(self, turn: int, transcript: str) -> str | None:
        if self._next >= len(self.lines):
            return None
        line = self.lines[self._next]
        self._next += 1
        return line


class LlmResponder:
    """``--responder llm``: an OpenAI-compatible chat server. The session's LLM stage streams its
    replies into speech and speculates on eager ends; :meth:`reply` (whole replies, no history)
    serves callers that want only text."""

    def __init__(
        self, client: Any, model: str, system: str | None = None, speculate: str = "llm"
    ) -> None:
        self.client = client
        self.model = model
        self.system = system
        self.speculate = speculate
        self.name = f"llm:{model}"

    async def reply(self, turn: int, transcript: str) -> str | None:
        messages = [{"role": "system", "content": self.system}] if self.system else []
        messages.append({"role": "user", "content": transcript})
        parts = [delta async for delta in self.client.stream(messages)]
        return "".join(parts).strip() or None


def make_responder(spec: str) -> Responder:
    """``echo`` or ``script:FILE``; anything else is a :class:`ConfigError` (``llm`` is built
    by :func:`make_llm_responder`, which needs the settings)."""
    if spec == "echo":
        return EchoResponder()
    if spec.startswith("script:") and len(spec) > len("script:"):
        return ScriptResponder(spec[len("script:") :])
    raise ConfigError(f"unknown responder {spec!r}; use 'echo', 'script:FILE' or 'llm'")


def make_llm_responder(settings: Any) -> LlmResponder:
    """``--responder llm`` from :class:`~voiceconsole.config.Settings`; raises ``UserError``
    for a bad option or a missing ``openai`` package (with the pip command)."""
    from voiceconsole.engines.llm.client import ChatClient, settings_from
    from voiceconsole.session.llm_stage import SPECULATE_MODES

    if settings.speculate not in SPECULATE_MODES:
        raise ConfigError(
            f"--speculate {settings.speculate!r}: use one of {', '.join(SPECULATE_MODES)}"
        )
    llm = settings_from(settings)
    return LlmResponder(ChatClient(llm), llm.model, llm.system, settings.speculate)
