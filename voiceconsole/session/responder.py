"""Responders decide what the bot says after each user turn."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

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
            raise ConfigError(f"{p}: script file not found; give a text file with one reply per line") from None
        except UnicodeDecodeError:
            raise ConfigError(f"{p}: script file is not UTF-8 text; give a text file with one reply per line") from None
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read script ({exc.strerror or exc})") from None
        self.lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
        if not self.lines:
            raise ConfigError(f"{p}: script file has no replies; write one reply per line")
        self.name = f"script:{p.name}"
        self._next = 0

    async def reply(self, turn: int, transcript: str) -> str | None:
        if self._next >= len(self.lines):
            return None
        line = self.lines[self._next]
        self._next += 1
        return line


def make_responder(spec: str) -> Responder:
    """``echo`` or ``script:FILE``; anything else is a :class:`ConfigError`."""
    if spec == "echo":
        return EchoResponder()
    if spec.startswith("script:") and len(spec) > len("script:"):
        return ScriptResponder(spec[len("script:") :])
    raise ConfigError(f"unknown responder {spec!r}; use 'echo' or 'script:FILE'")
