"""The mic side of the session: source blocks resampled to the STT rate, muted, metered, queued."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from voiceconsole.audio.levels import LevelWindow, MeterSlot, block_stats
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.engines.base import Emit
from voiceconsole.events import AudioLevel


class MicInput:
    """Turns source blocks into STT-rate blocks handed to ``deliver``.

    A muted mic (``muted()``), or with ``mute_while_speaking`` a mic while reply audio may be
    audible (``reply_audible()``), streams silence of the same length, so turns can still end.
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
    ) -> None:
        self.stt_rate = stt_rate
        self.meter = meter
        self.emit = emit
        self.deliver = deliver
        self.silenced = silenced
        self._resampler = StreamResampler(source_rate, stt_rate)
        self._levels = LevelWindow(stt_rate, level_interval_s)

    def process(self, block: np.ndarray, last: bool = False) -> None:
        """One source block (``last`` flushes the resampler)."""
        samples = self._resampler.process(block, last=last)
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
