"""What a session is configured with besides its components: options, meters, the VAD's shape."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from voiceconsole.audio.levels import MeterSlot
from voiceconsole.clock import Clock, RealClock, VirtualClock

AudioTap = Callable[[str, np.ndarray, int], None]
"""Called with ``(stream, samples, rate)``: ``"mic"`` audio as handed to the STT engine,
``"speaker"`` audio as played."""


class SpeechEdge(Protocol):
    """A speech start or stop found by the reference VAD."""

    kind: str  # "start" | "stop"
    speech_audio_t: float


class SpeechDetector(Protocol):
    """The reference VAD: float32 16 kHz chunks in, speech edges out."""

    def process(self, samples: np.ndarray) -> list[Any]: ...


@dataclass
class SessionOptions:
    """How the session runs (everything but the components themselves)."""

    block_ms: int = 20
    """Size of the blocks read from a file source."""
    level_interval_s: float = 0.05
    """How often ``audio.level`` events are emitted (the UI polls meters faster)."""
    trailing_silence_s: float = 2.0
    """Silence streamed after a file ends, at least, so the last turn ends."""
    drain_timeout_s: float = 30.0
    """After a file ends, the longest wait for the open turn and the replies to finish."""
    hold_open: bool = False
    """Keep streaming silence after a file ends until stopped (the UI wants this)."""
    auto_barge_in: bool = True
    """Interrupt the reply when the user starts a turn while it plays."""
    mute_while_speaking: bool = False
    """Stream silence instead of the mic while a reply plays (setups without echo cancellation)."""
    echo_tail_s: float = 0.3
    """With ``mute_while_speaking``: keep the mic muted this long after playback ends, because
    the last reply audio is still in the device buffers and the room when the queue runs dry."""
    settle_timeout_s: float = 60.0
    """Virtual time: the longest wait for the stages to settle after a block."""
    metadata: dict[str, Any] = field(default_factory=dict)
    """Extra settings reported in ``session.start`` (never secrets)."""


@dataclass
class SessionMeters:
    """The session's level meters, written as audio flows and polled by the UI."""

    mic: MeterSlot = field(default_factory=MeterSlot)
    """The mic audio as handed to the STT engine (silence while muted)."""
    speaker: MeterSlot = field(default_factory=MeterSlot)
    """The reply audio as played."""


def make_clock(virtual: bool) -> Clock:
    """A virtual clock for fast file runs and replays, else real time."""
    return VirtualClock() if virtual else RealClock()


__all__ = ["AudioTap", "SessionMeters", "SessionOptions", "SpeechDetector", "SpeechEdge", "make_clock"]
