"""Audio frames off the wire: bytes of any Cartesia encoding and rate to float32 at one rate.

A frame may end mid-sample (clients cut buffers where they like); the odd bytes wait for the
next frame instead of shifting every later sample.
"""

from __future__ import annotations

import numpy as np

from voiceconsole.audio.resample import StreamResampler
from voiceconsole.engines.cartesia.audio_format import bytes_per_sample, decode_audio


class WireAudio:
    """One stream's decoder: ``feed(bytes)`` gives float32 mono samples at ``out_rate``."""

    def __init__(self, encoding: str, in_rate: int, out_rate: int) -> None:
        self.encoding = encoding
        self.in_rate = in_rate
        self.out_rate = out_rate
        self._width = bytes_per_sample(encoding)
        self._rest = b""
        self._resampler = StreamResampler(in_rate, out_rate)
        self.samples_in = 0
        """Samples received at the wire rate (what the stream's audio clock counts)."""

    @property
    def seconds_in(self) -> float:
        """Seconds of audio received."""
        return self.samples_in / self.in_rate

    def feed(self, data: bytes) -> np.ndarray:
        """Decode and resample one frame (whole samples only; a partial one waits)."""
        if self._rest:
            data = self._rest + data
        usable = len(data) - len(data) % self._width
        self._rest = data[usable:]
        if usable == 0:
            return np.zeros(0, dtype=np.float32)
        samples = decode_audio(data[:usable], self.encoding)
        self.samples_in += samples.size
        return self._resampler.process(np.ascontiguousarray(samples, dtype=np.float32))
