"""Turn boundaries from Silero VAD frames: the one set of turn rules shared by the offline
engine and the engines without turn detection of their own (ink-whisper).

Every such engine's timeline therefore reads the same: a turn starts
after ``start_speech_ms`` of speech; after ``eager_end_silence_ms`` of silence it is probably
over (``eager_end``); speech again within the turn means ``resume``; after ``end_silence_ms``
of silence (or ``max_turn_s``) it is over (``finalize``: the engine closes its transcript).
Pure logic over (frame end, probability) pairs: no model, no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Literal

from voiceconsole.engines.base import TurnSettings

VadSignal = Literal["start", "eager_end", "resume", "finalize"]

# Frames between the speech and silence thresholds count as neither (hysteresis).
SILENCE_MARGIN = 0.15


class VadTurnTracker:
    """Feeds on VAD frames, returns turn signals."""

    def __init__(
        self,
        settings: TurnSettings,
        *,
        frame_samples: int = 512,
        sample_rate: int = 16000,
    ) -> None:
        self._frame = frame_samples
        self._rate = sample_rate
        self.in_turn = False
        self.eager = False
        self._speech_run = 0
        self._silence_run = 0
        self._turn_start = 0
        self.set_settings(settings)

    @property
    def turn_start(self) -> int:
        """Sample position where the speech of the current (or last) turn began."""
        return self._turn_start

    @property
    def start_frames(self) -> int:
        """Frames of speech needed to start (or resume) a turn."""
        return self._start_frames

    @property
    def frame_ms(self) -> float:
        """Length of one VAD frame in milliseconds."""
        return 1000.0 * self._frame / self._rate

    @property
    def speech_ms(self) -> int:
        """Speech in a row so far, counted towards ``start_speech_ms`` (start or resume)."""
        return round(self._speech_run * self.frame_ms)

    @property
    def silence_ms(self) -> int:
        """Silence in a row so far, counted towards the eager and end silences."""
        return round(self._silence_run * self.frame_ms)

    @property
    def phase(self) -> Literal["idle", "turn", "eager"]:
        """``idle`` between turns, ``turn`` in one, ``eager`` after its eager end."""
        if not self.in_turn:
            return "idle"
        return "eager" if self.eager else "turn"

    def set_settings(self, settings: TurnSettings) -> None:
        """Apply new durations from the next frame on."""
        settings.validate()
        self.settings = settings
        frame_ms = 1000.0 * self._frame / self._rate
        self._start_frames = max(1, math.ceil(settings.start_speech_ms / frame_ms))
        self._eager_frames = max(1, math.ceil(settings.eager_end_silence_ms / frame_ms))
        self._end_frames = max(
            self._eager_frames + 1, math.ceil(settings.end_silence_ms / frame_ms)
        )
        self._max_turn = round(settings.max_turn_s * self._rate)

    def process(self, frames: Iterable[tuple[int, float]]) -> list[VadSignal]:
        """Signals caused by these ``(frame_end_sample, speech_probability)`` frames, in order."""
        signals: list[VadSignal] = []
        threshold = self.settings.vad_threshold
        for end, prob in frames:
            speech = prob > threshold
            silence = prob < threshold - SILENCE_MARGIN
            self._speech_run = self._speech_run + 1 if speech else 0
            self._silence_run = self._silence_run + 1 if silence else 0
            if not self.in_turn:
                if self._speech_run >= self._start_frames:
                    self.in_turn = True
                    self.eager = False
                    self._turn_start = end - self._speech_run * self._frame
                    signals.append("start")
                continue
            if self.eager and self._speech_run >= self._start_frames:
                self.eager = False
                signals.append("resume")
            if (
                self._silence_run >= self._end_frames
                or end - self._turn_start >= self._max_turn
            ):
                self.in_turn = False
                self.eager = False
                self._speech_run = 0
                signals.append("finalize")
            elif not self.eager and self._silence_run >= self._eager_frames:
                self.eager = True
                signals.append("eager_end")
        return signals

    def end_turn(self) -> bool:
        """End the turn in progress now (another detector judged it complete); ``False`` if
        there was none. The silence run goes on counting, as after a ``finalize``."""
        if not self.in_turn:
            return False
        self.in_turn = False
        self.eager = False
        self._speech_run = 0
        return True

    def finish(self) -> list[VadSignal]:
        """End of stream: a turn in progress must be finalized."""
        if not self.in_turn:
            return []
        self.in_turn = False
        self.eager = False
        return ["finalize"]
