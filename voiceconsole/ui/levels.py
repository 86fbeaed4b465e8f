"""Levels of one audio stream over audio time, kept compactly: one byte per 10 ms.

Level readings arrive 20 to 50 times a second for as long as the console runs, so they are the
one part of the model not kept as objects: each stream's RMS levels are an ``array`` of dB codes,
one per :data:`BIN_S` of audio, holding the loudest reading that fell in it.
"""

from __future__ import annotations

import math
from array import array

import numpy as np

BIN_S = 0.01
"""Audio seconds per stored level (finer than any block the console reads)."""
STEP_DB = 0.5
"""Resolution of a stored level: the timeline draws a level as one of eight glyphs."""
NO_LEVEL = 255
"""Code of a bin without a reading."""
QUIET = 254
"""Code of anything quieter than -127 dBFS (digital silence too)."""
HOLD_S = 0.25
"""A column with no reading of its own shows the last reading this recent (zoomed in, a block
spans several columns)."""
MAX_JUMP_S = 3600.0
"""A reading further than this past the last one is ignored (a damaged recording must not
make the track allocate hours of empty bins)."""
_EDGE = 1e-6
"""Slack in bins for times on a bin's edge (``0.3 / 0.01`` is ``29.999...``)."""


def level_code(rms_db: float) -> int:
    """A dBFS level as one byte: ``-code * STEP_DB`` dBFS, from 0 down to -127."""
    if not rms_db > -127.0:  # also -inf and nan
        return QUIET
    return max(0, round(-rms_db / STEP_DB))


class LevelTrack:
    """RMS levels of one stream (``mic`` or ``speaker``) by audio time."""

    __slots__ = ("codes",)

    def __init__(self) -> None:
        self.codes = array("B")
        """The loudest level of each :data:`BIN_S` of audio, as :func:`level_code` codes."""

    def __len__(self) -> int:
        return len(self.codes)

    def add(self, at: float, rms_db: float) -> None:
        """Take one reading at audio time ``at``."""
        k = math.floor(at / BIN_S + _EDGE)
        missing = k + 1 - len(self.codes)
        if k < 0 or missing * BIN_S > MAX_JUMP_S:
            return
        if missing > 0:
            self.codes.frombytes(bytes([NO_LEVEL]) * missing)
        code = level_code(rms_db)
        if code < self.codes[k]:  # a smaller code is louder
            self.codes[k] = code

    def loudest(self, start: float, end: float) -> float | None:
        """The loudest RMS in dBFS read in ``[start, end)``, else the last one read within
        :data:`HOLD_S` before ``start``; ``None`` if neither."""
        codes = self.codes
        lo = max(0, math.floor(start / BIN_S + _EDGE))
        hi = min(len(codes), max(lo + 1, math.ceil(end / BIN_S - _EDGE)))
        if lo < hi:
            best = min(codes[lo:hi])
            if best != NO_LEVEL:
                return -best * STEP_DB
        stop = max(0, lo - round(HOLD_S / BIN_S) + 1)  # strictly within HOLD_S
        for k in range(min(lo, len(codes)) - 1, stop - 1, -1):
            if codes[k] != NO_LEVEL:
                return -codes[k] * STEP_DB
        return None


    def columns(self, first_col: int, count: int, col_s: float) -> list[float | None]:
        """:meth:`loudest` of ``count`` columns of ``col_s`` seconds from column ``first_col``
        (what a level lane draws, in one pass over the codes)."""
        per_col = col_s / BIN_S
        k = round(per_col)
        if k < 1 or abs(per_col - k) > 1e-9 or first_col < 0:
            return [self.loudest((first_col + i) * col_s, (first_col + i + 1) * col_s) for i in range(count)]
        start = first_col * k
        codes = np.full(count * k, NO_LEVEL, dtype=np.uint8)
        have = np.frombuffer(self.codes, dtype=np.uint8)[start : start + count * k]
        codes[: have.size] = have
        loudest = codes.reshape(count, k).min(axis=1)
        out: list[float | None] = [None if c == NO_LEVEL else -int(c) * STEP_DB for c in loudest.tolist()]
        for i, value in enumerate(out):
            if value is None:  # nothing read in it: the last reading held (see loudest)
                out[i] = self.loudest((first_col + i) * col_s, (first_col + i + 1) * col_s)
        return out


__all__ = ["BIN_S", "HOLD_S", "LevelTrack", "level_code"]
