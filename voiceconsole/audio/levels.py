"""Audio levels in dBFS, and the slot the UI polls for live meters."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOOR_DBFS = -120.0
CLIP_LEVEL = 0.999


def to_dbfs(amplitude: float) -> float:
    """Amplitude (1.0 = full scale) in dBFS, floored at -120."""
    if amplitude <= 1e-6:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(amplitude))


def block_levels(samples: np.ndarray) -> tuple[float, float]:
    """(RMS dBFS, peak dBFS) of a float block."""
    if samples.size == 0:
        return FLOOR_DBFS, FLOOR_DBFS
    peak = float(np.max(np.abs(samples)))
    rms = float(np.sqrt(np.mean(np.square(samples, dtype=np.float64))))
    return to_dbfs(rms), to_dbfs(peak)


@dataclass
class MeterSlot:
    """Latest level of one stream, written by the audio side and read by the UI at its own rate.

    Plain float attributes: a reader may see a value one block old, never a torn one.
    """

    rms_dbfs: float = FLOOR_DBFS
    peak_dbfs: float = FLOOR_DBFS
    clips: int = 0
    updates: int = 0

    def update(self, samples: np.ndarray) -> None:
        """Measure a block and store its levels."""
        self.rms_dbfs, self.peak_dbfs = block_levels(samples)
        if self.peak_dbfs >= 20.0 * math.log10(CLIP_LEVEL):
            self.clips += 1
        self.updates += 1


class LevelWindow:
    """Accumulates samples and reports RMS/peak once per ``window_s`` of audio."""

    def __init__(self, sample_rate: int, window_s: float = 0.05) -> None:
        self.window = max(1, int(round(sample_rate * window_s)))
        self._sum_sq = 0.0
        self._peak = 0.0
        self._count = 0

    def add(self, samples: np.ndarray) -> tuple[float, float] | None:
        """Add a block; returns (rms_dbfs, peak_dbfs) when a window completes, else None."""
        if samples.size:
            self._sum_sq += float(np.dot(samples, samples))
            self._peak = max(self._peak, float(np.max(np.abs(samples))))
            self._count += samples.size
        if self._count < self.window:
            return None
        rms = math.sqrt(self._sum_sq / self._count)
        result = (to_dbfs(rms), to_dbfs(self._peak))
        self._sum_sq = 0.0
        self._peak = 0.0
        self._count = 0
        return result
