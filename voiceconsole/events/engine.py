"""Engine state, errors and warnings, and turn settings."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from voiceconsole.events.base import (
    ConnectionState,
    EngineRole,
    Event,
)


@dataclass(frozen=True)
class EngineState(Event):
    """Connection state of an engine (local engines go straight to ``connected``)."""

    TYPE: ClassVar[str] = "engine.state"
    role: EngineRole = "stt"
    engine: str = ""
    state: ConnectionState = "connecting"
    detail: str = ""


@dataclass(frozen=True)
class EngineError(Event):
    """An engine failed. ``hint`` says what to do; ``fatal`` means it will not retry."""

    TYPE: ClassVar[str] = "engine.error"
    role: EngineRole = "stt"
    engine: str = ""
    message: str = ""
    hint: str = ""
    fatal: bool = False
    code: str = ""


@dataclass(frozen=True)
class EngineWarning(Event):
    """Something odd but survivable, e.g. a malformed server message; ``count`` is the running total."""

    TYPE: ClassVar[str] = "engine.warning"
    role: EngineRole = "stt"
    engine: str = ""
    message: str = ""
    count: int = 0


@dataclass(frozen=True)
class TurnConfigChanged(Event):
    """Turn detection settings changed (at start or mid-session)."""

    TYPE: ClassVar[str] = "turn.config"
    settings: dict[str, Any] = field(default_factory=dict)
