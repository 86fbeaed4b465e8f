"""The turn detector's signal: what its decisions rest on, frame by frame."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Literal

from voiceconsole.events.base import Event

SIGNAL_SCALE = 255
"""A probability in a :class:`VadSignalBatch` is stored as ``round(p * SIGNAL_SCALE)``."""
SignalPhase = Literal["idle", "turn", "eager"]


@dataclass(frozen=True)
class VadSignalBatch(Event):
    """What the offline engine's turn rule rested on for the VAD frames of about 100 ms.

    ``probs`` holds each frame's speech probability as an integer 0-255 (``p * 255``; three
    characters a frame on disk instead of eighteen), the first frame beginning at audio second
    ``frames_audio_t`` and each lasting ``frame_ms``. ``threshold`` is the VAD threshold in
    force. The rule's state after the last frame: ``phase`` (``idle`` between turns, ``turn``,
    ``eager`` after an eager end), ``speech_ms`` of speech in a row (a turn starts, or resumes,
    at ``start_ms``) and ``silence_ms`` of silence in a row (``turn.eager_end`` at ``eager_ms``,
    ``turn.end`` at ``end_ms``). A batch ends at every turn edge, so the state at a batch's end
    is the state that caused the edge.

    With Smart Turn as the turn detector (``--turn-detector smart-turn``)
    ``smart_turn_threshold`` is its threshold in force (``None``: the silence rule ends turns),
    and a batch whose last frame made Smart Turn run (a pause of ``eager_ms`` in a turn) carries
    its P(turn complete) as ``smart_turn_p`` and the run's wall-clock time as ``smart_turn_ms``
    (both ``None`` in every other batch). The turn ended there when ``smart_turn_p`` reached
    the threshold.
    """

    TYPE: ClassVar[str] = "vad.signal"
    frames_audio_t: float = 0.0
    frame_ms: float = 32.0
    probs: tuple[int, ...] = ()
    threshold: float = 0.5
    phase: SignalPhase = "idle"
    speech_ms: int = 0
    silence_ms: int = 0
    start_ms: int = 0
    eager_ms: int = 0
    end_ms: int = 0
    smart_turn_threshold: float | None = None
    smart_turn_p: float | None = None
    smart_turn_ms: float | None = None

    @property
    def probabilities(self) -> tuple[float, ...]:
        """The frames' speech probabilities, 0.0-1.0."""
        return tuple(code / SIGNAL_SCALE for code in self.probs)
