"""The mic side of the session: source blocks resampled to the STT rate, echo-cancelled,
muted, metered, queued."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from voiceconsole.audio.levels import LevelWindow, MeterSlot, block_stats
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.engines.base import Emit
from voiceconsole.events import AudioLevel
from voiceconsole.session.options import AudioTap

if TYPE_CHECKING:
    from voiceconsole.audio.aec import EchoCanceller


@dataclass
class AecPlan:
    """Whether echo cancellation runs (``state`` on/off/failed, ``detail`` why) and the
    canceller when it does."""

    state: str = "off"
    detail: str = ""
    canceller: EchoCanceller | None = None
    noise_suppression: bool = False
    delay_ms: float = 0.0
    announce: bool = True
    """Whether the session reports this state (``aec.state``); off by default says nothing."""


def plan_aec(
    requested: bool | None, noise: bool, source: Any, sink: Any, rate: int
) -> AecPlan:
    """Echo cancellation for a session whose mic runs at ``rate`` after resampling.

    ``requested`` None means on when both the mic and the speaker are devices (they report a
    ``latency_s``). The echo path's delay is the two streams' latencies as PortAudio reports them.
    A missing package or a module that fails to load gives state ``failed``: the session runs
    without it."""
    live = hasattr(source, "latency_s") and hasattr(sink, "latency_s")
    if requested is False or (requested is None and not live):
        if requested is False:
            return AecPlan("off", "--no-aec")
        return AecPlan("off", "the mic or the speaker is not a device", announce=False)
    from voiceconsole.audio.aec import (
        SUPPORTED_RATES,
        AecUnavailableError,
        EchoCanceller,
    )

    if rate not in SUPPORTED_RATES:
        return AecPlan(
            "failed",
            f"echo cancellation runs at 8, 16, 32 or 48 kHz, not the STT rate {rate} Hz",
        )
    delay_ms = 1000.0 * (
        getattr(source, "latency_s", 0.0) + getattr(sink, "latency_s", 0.0)
    )
    try:
        canceller = EchoCanceller(rate, noise=noise, delay_ms=delay_ms)
    except AecUnavailableError as exc:
        return AecPlan("failed", str(exc), noise_suppression=noise)
    detail = f"WebRTC AEC3, echo path {delay_ms:.0f} ms" + (
        " + noise suppression" if noise else ""
    )
    return AecPlan("on", detail, canceller, noise, round(delay_ms, 1))


class MicInput:
    """Turns source blocks into STT-rate blocks handed to ``deliver``.

    With a ``canceller``, the far end's echo is removed first (the raw blocks go to ``taps`` as
    stream ``mic_raw``). A muted mic (``muted()``), or with ``mute_while_speaking`` a mic while
    reply audio may be audible (``reply_audible()``), streams silence of the same length, so
    turns can still end.
    """

    def __init__(
        self,
        source_rate: int,
        stt_rate: int,
        level_interval_s: float,
        meter: MeterSlot,
        emit: Emit,
        deliver: Callable[[np.ndarray], None],
        silenced: Callable[[], bool],
        canceller: EchoCanceller | None = None,
        taps: list[AudioTap] | None = None,
        captured_at: Callable[[], float | None] | None = None,
    ) -> None:
        self.stt_rate = stt_rate
        self.meter = meter
        self.emit = emit
        self.deliver = deliver
        self.silenced = silenced
        self.canceller = canceller
        self.taps = taps if taps is not None else []
        self.captured_at = captured_at
        self._resampler = StreamResampler(source_rate, stt_rate)
        self._levels = LevelWindow(stt_rate, level_interval_s)
        self._raw_levels = LevelWindow(stt_rate, level_interval_s)

    def process(self, block: np.ndarray, last: bool = False) -> None:
        """One source block (``last`` flushes the resampler)."""
        samples = self._resampler.process(block, last=last)
        if samples.size and self.canceller is not None:
            for tap in self.taps:
                tap("mic_raw", samples, self.stt_rate)
            # What the microphone heard, for the mic lane's raw view (the meters show the result).
            raw = self._raw_levels.add_stats(*block_stats(samples), samples.size)
            if raw is not None:
                self.emit(AudioLevel, source="mic_raw", rms_dbfs=raw[0], peak_dbfs=raw[1])
            at = self.captured_at() if self.captured_at is not None else None
            samples = self.canceller.near(samples, at)
        if samples.size == 0:
            return
        if self.silenced():
            samples = np.zeros_like(samples)
        stats = block_stats(samples)
        self.meter.update_from(*stats, samples.size)
        level = self._levels.add_stats(*stats, samples.size)
        if level is not None:
            self.emit(AudioLevel, source="mic", rms_dbfs=level[0], peak_dbfs=level[1])
        self.deliver(samples)

    def restart(self, source_rate: int) -> None:
        """A fresh resampler (after a flush with ``last=True``), for the silence after a file."""
        self._resampler = StreamResampler(source_rate, self.stt_rate)
