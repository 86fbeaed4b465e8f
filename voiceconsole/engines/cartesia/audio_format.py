"""Audio on Cartesia's wire: float32 samples to and from PCM and G.711 bytes."""

from __future__ import annotations

import numpy as np

from voiceconsole.errors import ConfigError

STT_ENCODINGS = ("pcm_s16le", "pcm_s32le", "pcm_f16le", "pcm_f32le", "pcm_mulaw", "pcm_alaw")


def check_stt_encoding(encoding: str) -> str:
    """``encoding`` if Cartesia STT takes it, else a :class:`ConfigError` listing the choices."""
    if encoding not in STT_ENCODINGS:
        raise ConfigError(f"unknown STT encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")
    return encoding


def encode_audio(samples: np.ndarray, encoding: str) -> bytes:
    """Float32 mono samples in [-1, 1] as the bytes of ``encoding`` (little-endian PCM or G.711)."""
    data = np.asarray(samples, dtype=np.float32).reshape(-1)
    if encoding == "pcm_s16le":
        # The same as round(clip(x, -1, 1) * 32767) (scaling is monotonic), in place on one
        # temporary with bare ufuncs: this runs for every 20 ms block sent.
        scaled = np.multiply(data, np.float32(32767.0))
        np.minimum(scaled, np.float32(32767.0), out=scaled)
        np.maximum(scaled, np.float32(-32767.0), out=scaled)
        return np.rint(scaled, out=scaled).astype("<i2").tobytes()
    data = np.clip(data, -1.0, 1.0)
    if encoding == "pcm_s32le":
        return np.round(data.astype(np.float64) * 2147483647.0).astype("<i4").tobytes()
    if encoding == "pcm_f32le":
        return data.astype("<f4").tobytes()
    if encoding == "pcm_f16le":
        return data.astype("<f2").tobytes()
    if encoding == "pcm_mulaw":
        return _mulaw_encode(np.round(data * 32767.0).astype(np.int32)).tobytes()
    if encoding == "pcm_alaw":
        return _alaw_encode(np.round(data * 32767.0).astype(np.int32)).tobytes()
    raise ConfigError(f"unknown audio encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")


def decode_audio(data: bytes, encoding: str) -> np.ndarray:
    """Bytes of ``encoding`` back to float32 mono samples (the inverse of :func:`encode_audio`)."""
    if encoding == "pcm_s16le":
        return np.frombuffer(data, dtype="<i2").astype(np.float32) / 32768.0
    if encoding == "pcm_s32le":
        return (np.frombuffer(data, dtype="<i4").astype(np.float64) / 2147483648.0).astype(np.float32)
    if encoding == "pcm_f32le":
        return np.frombuffer(data, dtype="<f4").astype(np.float32)
    if encoding == "pcm_f16le":
        return np.frombuffer(data, dtype="<f2").astype(np.float32)
    if encoding == "pcm_mulaw":
        return _mulaw_decode(np.frombuffer(data, dtype=np.uint8)).astype(np.float32) / 32768.0
    if encoding == "pcm_alaw":
        return _alaw_decode(np.frombuffer(data, dtype=np.uint8)).astype(np.float32) / 32768.0
    raise ConfigError(f"unknown audio encoding {encoding!r}; choose one of {', '.join(STT_ENCODINGS)}")


def bytes_per_sample(encoding: str) -> int:
    """Size of one sample of ``encoding`` in bytes."""
    return {"pcm_s16le": 2, "pcm_s32le": 4, "pcm_f32le": 4, "pcm_f16le": 2, "pcm_mulaw": 1, "pcm_alaw": 1}[encoding]


_MULAW_BIAS = 0x84
_MULAW_CLIP = 32635


def _segment(magnitude: np.ndarray, base: int) -> np.ndarray:
    # Index of the highest set bit above `base` bits: the G.711 segment (0-7).
    seg = np.zeros(magnitude.shape, dtype=np.int32)
    for s in range(1, 8):
        seg = np.where(magnitude >= (1 << (base + s)), s, seg)
    return seg


def _mulaw_encode(pcm: np.ndarray) -> np.ndarray:
    sign = np.where(pcm < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(pcm), _MULAW_CLIP) + _MULAW_BIAS
    seg = _segment(magnitude, 7)
    mantissa = (magnitude >> (seg + 3)) & 0x0F
    return (~(sign | (seg << 4) | mantissa) & 0xFF).astype(np.uint8)


def _mulaw_decode(codes: np.ndarray) -> np.ndarray:
    u = ~codes.astype(np.int32) & 0xFF
    seg = (u >> 4) & 0x07
    magnitude = (((u & 0x0F) << 3) + _MULAW_BIAS) << seg
    return np.where(u & 0x80, _MULAW_BIAS - magnitude, magnitude - _MULAW_BIAS)


def _alaw_encode(pcm: np.ndarray) -> np.ndarray:
    sign = np.where(pcm >= 0, 0x80, 0)
    magnitude = np.minimum(np.where(pcm < 0, -pcm - 1, pcm), 32767) >> 3
    seg = np.where(magnitude >= 32, _segment(magnitude, 4), 0)
    mantissa = np.where(seg == 0, magnitude >> 1, magnitude >> seg) & 0x0F
    return ((sign | (seg << 4) | mantissa) ^ 0x55).astype(np.uint8)


def _alaw_decode(codes: np.ndarray) -> np.ndarray:
    a = codes.astype(np.int32) ^ 0x55
    seg = (a >> 4) & 0x07
    mantissa = a & 0x0F
    magnitude = np.where(seg == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(seg - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude)


def pcm16_to_float(data: bytes) -> np.ndarray:
    """Little-endian signed 16-bit PCM bytes as float32 samples (an odd trailing byte is dropped)."""
    usable = len(data) - (len(data) % 2)
    return np.frombuffer(data[:usable], dtype="<i2").astype(np.float32) / 32768.0
