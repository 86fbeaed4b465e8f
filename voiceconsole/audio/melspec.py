"""Whisper's log-mel front end in numpy: the input Smart Turn v3 expects.

8 s of 16 kHz audio become ``[1, 80, 800]`` features, as Whisper's feature extractor computes
them: a 400-sample (25 ms) periodic Hann window every 160 samples (10 ms), centred frames
(reflect padding), power spectrum, 80 Slaney-scale mel filters with Slaney area normalisation
over 0-8 kHz, ``log10`` (floored at 1e-10), the last frame dropped, values held within 8
(10 dB steps: 80 dB) of the maximum, then ``(x + 4) / 4``.

Smart Turn's reference inference (Pipecat's ``LocalSmartTurnAnalyzerV3``) keeps the last 8 s
of the turn or pads a shorter one with zeros *at the start*, then normalises the waveform to
zero mean and unit variance before the spectrogram; :func:`smart_turn_features` does the same.
"""

from __future__ import annotations

import numpy as np

SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_MELS = 80
WINDOW_S = 8
WINDOW_SAMPLES = WINDOW_S * SAMPLE_RATE
"""Samples Smart Turn looks at: the last 8 s."""
FRAMES = WINDOW_SAMPLES // HOP
"""Feature frames of 8 s (800)."""
LOG_FLOOR = 1e-10
DYNAMIC_RANGE = 8.0
"""Log10 units kept below the loudest value (80 dB)."""
NORM_EPS = 1e-7


def _hz_to_mel(hz: np.ndarray) -> np.ndarray:
    """Slaney's mel scale: linear (3 mels per 200 Hz) below 1 kHz, logarithmic above."""
    hz = np.asarray(hz, dtype=np.float64)
    linear = hz * 3.0 / 200.0
    log = 15.0 + np.log(np.maximum(hz, 1e-12) / 1000.0) * (27.0 / np.log(6.4))
    return np.where(hz >= 1000.0, log, linear)


def _mel_to_hz(mel: np.ndarray) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    linear = mel * 200.0 / 3.0
    log = 1000.0 * np.exp((mel - 15.0) * (np.log(6.4) / 27.0))
    return np.where(mel >= 15.0, log, linear)


def mel_filters(
    n_mels: int = N_MELS, n_fft: int = N_FFT, rate: int = SAMPLE_RATE
) -> np.ndarray:
    """Triangular Slaney mel filters, area-normalised, as ``[n_mels, n_fft // 2 + 1]``."""
    bins = np.linspace(0.0, rate / 2, n_fft // 2 + 1)
    edges = _mel_to_hz(
        np.linspace(
            _hz_to_mel(np.array(0.0)), _hz_to_mel(np.array(rate / 2)), n_mels + 2
        )
    )
    lower, centre, upper = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (bins[None, :] - lower) / (centre - lower)
    falling = (upper - bins[None, :]) / (upper - centre)
    triangles = np.maximum(0.0, np.minimum(rising, falling))
    return triangles * (2.0 / (upper - lower))


_FILTERS = mel_filters()
_WINDOW = 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(N_FFT) / N_FFT)  # periodic Hann


def log_mel(audio: np.ndarray) -> np.ndarray:
    """Whisper log-mel features ``[80, len(audio) // 160]`` of 16 kHz float audio."""
    x = np.asarray(audio, dtype=np.float64).reshape(-1)
    if x.size <= N_FFT // 2:
        raise ValueError(f"need more than {N_FFT // 2} samples, got {x.size}")
    padded = np.pad(x, N_FFT // 2, mode="reflect")
    count = 1 + (padded.size - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded,
        shape=(count, N_FFT),
        strides=(padded.strides[0] * HOP, padded.strides[0]),
        writeable=False,
    )
    power = np.abs(np.fft.rfft(frames * _WINDOW, axis=1)) ** 2
    mel = np.log10(np.maximum(power @ _FILTERS.T, LOG_FLOOR)).T[:, :-1]
    mel = np.maximum(mel, mel.max() - DYNAMIC_RANGE)
    return (mel + 4.0) / 4.0


def last_window(audio: np.ndarray) -> np.ndarray:
    """The last 8 s of ``audio`` as float32, zero-padded at the start when shorter."""
    x = np.asarray(audio, dtype=np.float32).reshape(-1)
    if x.size >= WINDOW_SAMPLES:
        return x[-WINDOW_SAMPLES:]
    return np.concatenate((np.zeros(WINDOW_SAMPLES - x.size, dtype=np.float32), x))


def smart_turn_features(audio: np.ndarray) -> np.ndarray:
    """Smart Turn v3's input ``[1, 80, 800]`` float32 for a turn's 16 kHz audio (any length)."""
    x = last_window(audio)
    # Zero mean, unit variance over the padded window, in float32 as the reference does.
    x = (x - x.mean()) / np.sqrt(x.var() + np.float32(NORM_EPS))
    return log_mel(x).astype(np.float32)[None, :, :]


__all__ = [
    "FRAMES",
    "N_MELS",
    "SAMPLE_RATE",
    "WINDOW_SAMPLES",
    "last_window",
    "log_mel",
    "mel_filters",
    "smart_turn_features",
]
