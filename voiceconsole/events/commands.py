"""Commands the user gave (interrupt, mute, say), recorded like every event."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from voiceconsole.events.base import (
    Event,
)


@dataclass(frozen=True)
class InterruptCommand(Event):
    """Barge-in requested. ``reason``: ``key``, ``auto`` (turn.start while playing) or ``api``."""

    TYPE: ClassVar[str] = "command.interrupt"
    reason: str = "key"


@dataclass(frozen=True)
class MuteCommand(Event):
    """The mic was muted or unmuted (muted mic still streams silence to the engine)."""

    TYPE: ClassVar[str] = "command.mute"
    muted: bool = True


@dataclass(frozen=True)
class SayCommand(Event):
    """The user typed a line for the bot to speak."""

    TYPE: ClassVar[str] = "command.say"
    text: str = ""
