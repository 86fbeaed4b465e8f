"""Stateful streaming resampling (soxr), so chunk edges leave no seams."""

from __future__ import annotations

import numpy as np
import soxr


def to_mono(block: np.ndarray) -> np.ndarray:
    """Average the channels of a ``(frames, channels)`` block; 1-D input is returned as is."""
    if block.ndim == 1:
        return block.astype(np.float32, copy=False)
    if block.shape[1] == 1:
        return block[:, 0].astype(np.float32, copy=False)
    return block.mean(axis=1, dtype=np.float32)


class StreamResampler:
    """Converts a stream of float32 mono chunks from ``in_rate`` to ``out_rate``.

    One ``soxr.ResampleStream`` carries its filter state across chunks, so streaming a signal
    in pieces gives the same samples as converting it in one go. Call with ``last=True`` once at
    the end to flush the filter's tail.
    """

    def __init__(self, in_rate: int, out_rate: int, quality: str = "HQ") -> None:
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._stream = (
            None if in_rate == out_rate else soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality=quality)
        )

    def process(self, samples: np.ndarray, last: bool = False) -> np.ndarray:
        """Resample the next chunk (mono 1-D, or multi-channel which is averaged first)."""
        if self._stream is None and samples.ndim == 1 and samples.dtype == np.float32 and samples.flags.c_contiguous:
            return samples  # same rate, already float32 mono: nothing to do (every mic block)
        mono = np.ascontiguousarray(to_mono(samples), dtype=np.float32)
        if self._stream is None:
            return mono
        return self._stream.resample_chunk(mono, last=last)
