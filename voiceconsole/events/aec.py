"""Echo cancellation: whether it runs, and how much echo it removes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from voiceconsole.events.base import Event

AecStatus = Literal["on", "off", "failed"]


@dataclass(frozen=True)
class AecState(Event):
    """Echo cancellation is ``on``, ``off`` or ``failed`` (``detail`` says why, and how to fix
    it). ``noise_suppression`` tells whether noise suppression runs too; ``delay_ms`` is the
    echo path's delay from the latencies PortAudio reports."""

    TYPE: ClassVar[str] = "aec.state"
    state: AecStatus = "off"
    detail: str = ""
    noise_suppression: bool = False
    delay_ms: float = 0.0


@dataclass(frozen=True)
class AecErle(Event):
    """Echo return loss enhancement over the last half second of mic audio heard while the bot
    spoke: ``10 log10(energy in / energy out)`` of the canceller, in dB."""

    TYPE: ClassVar[str] = "aec.erle"
    erle_db: float = 0.0
