"""Audio levels in dBFS, and the slot the UI polls for live meters."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

FLOOR_DBFS = -120.0
CLIP_LEVEL = 0.999
_CLIP_DBFS = 20.0 * math.log10(CLIP_LEVEL)
_max_of = np.maximum.reduce
_min_of = np.minimum.reduce


def to_dbfs(amplitude: float) -> float:
    """Amplitude (1.0 = full scale) in dBFS, floored at -120."""
    if amplitude <= 1e-6:
        return FLOOR_DBFS
    return max(FLOOR_DBFS, 20.0 * math.log10(amplitude))


def block_stats(samples: np.ndarray) -> tuple[float, float]:
    """(sum of squares, peak amplitude) of a non-empty 1-D float block: two reductions, no
    temporary arrays (this runs for every mic and speaker block)."""
    sum_sq = float(np.dot(samples, samples)) if samples.ndim == 1 else float(np.square(samples, dtype=np.float64).sum())
    # The ufunc reductions themselves: ndarray.max/min add a Python wrapper call each.
    peak = max(float(_max_of(samples, axis=None)), -float(_min_of(samples, axis=None)))
    return sum_sq, peak


def block_levels(samples: np.ndarray) -> tuple[float, float]:
    """(RMS dBFS, peak dBFS) of a float block."""
    if samples.size == 0:
        return FLOOR_DBFS, FLOOR_DBFS
    sum_sq, peak = block_stats(samples)
    return to_dbfs(math.sqrt(sum_sq / samples.size)), to_dbfs(peak)


@dataclass
class MeterSlot:
    """Latest level of one stream, written by the audio side and read by the UI at its own rate.

    Plain float attributes: a reader may see a value one block old, never a torn one.
    """

    rms_dbfs: float = FLOOR_DBFS
    peak_dbfs: float = FLOOR_DBFS
    clips: int = 0
    updates: int = 0
    held_rms_dbfs: float = FLOOR_DBFS
    """The loudest block RMS since the last :meth:`take_levels`."""
    held_peak_dbfs: float = FLOOR_DBFS
    """The highest peak since the last :meth:`take_levels`."""

    def update(self, samples: np.ndarray) -> None:
        """Measure a block and store its levels."""
        self.rms_dbfs, self.peak_dbfs = block_levels(samples)
        self._hold()

    def update_from(self, sum_sq: float, peak: float, count: int) -> None:
        """Store the levels of a block already measured with :func:`block_stats`."""
        self.rms_dbfs = to_dbfs(math.sqrt(sum_sq / count)) if count else FLOOR_DBFS
        self.peak_dbfs = to_dbfs(peak) if count else FLOOR_DBFS
        self._hold()

    def _hold(self) -> None:
        if self.peak_dbfs >= _CLIP_DBFS:
            self.clips += 1
        if self.rms_dbfs > self.held_rms_dbfs:
            self.held_rms_dbfs = self.rms_dbfs
        if self.peak_dbfs > self.held_peak_dbfs:
            self.held_peak_dbfs = self.peak_dbfs
        self.updates += 1

    def take_levels(self) -> tuple[float, float]:
        """(RMS, peak) in dBFS: the loudest since the last call, so a reader slower than the
        blocks (a meter drawn 15 times a second) misses no peak. At most one block written
        while this runs may be left out: a meter's race, never a torn value."""
        rms, peak = self.held_rms_dbfs, self.held_peak_dbfs
        self.held_rms_dbfs = self.held_peak_dbfs = FLOOR_DBFS
        if rms == FLOOR_DBFS and peak == FLOOR_DBFS:
            return self.rms_dbfs, self.peak_dbfs  # no block above the floor since: the latest one
        return rms, peak


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
            return self.add_stats(*block_stats(samples), samples.size)
        return self.add_stats(0.0, 0.0, 0)

    def add_stats(self, sum_sq: float, peak: float, count: int) -> tuple[float, float] | None:
        """As :meth:`add`, for a block of ``count`` samples already measured with :func:`block_stats`."""
        if count:
            self._sum_sq += sum_sq
            if peak > self._peak:
                self._peak = peak
            self._count += count
        if self._count < self.window:
            return None
        rms = math.sqrt(self._sum_sq / self._count)
        result = (to_dbfs(rms), to_dbfs(self._peak))
        self._sum_sq = 0.0
        self._peak = 0.0
        self._count = 0
        return result
