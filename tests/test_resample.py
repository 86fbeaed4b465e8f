"""Stateful resampling: no seams at chunk edges, channel count from the header."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soxr

from voiceconsole.audio.io import WavFileSource
from voiceconsole.audio.resample import StreamResampler
from voiceconsole.audio.wavio import read_wav, write_wav


def speechlike(rate: int, seconds: float, channels: int = 1) -> np.ndarray:
    t = np.arange(int(rate * seconds)) / rate
    mono = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
    mono += 0.1 * np.sin(2 * np.pi * 1870 * t)
    if channels == 1:
        return mono.astype(np.float32)
    return np.stack([mono, 0.5 * mono], axis=1).astype(np.float32)


def test_streaming_in_chunks_equals_one_shot() -> None:
    x = speechlike(48000, 2.0)
    one_shot = soxr.resample(x, 48000, 16000, quality="HQ")
    resampler = StreamResampler(48000, 16000)
    sizes = [480, 960, 1, 4410, 333, 960]  # odd sizes on purpose: seams would show here
    parts, pos, i = [], 0, 0
    while pos < x.size:
        n = sizes[i % len(sizes)]
        parts.append(resampler.process(x[pos : pos + n]))
        pos += n
        i += 1
    parts.append(resampler.process(np.zeros(0, np.float32), last=True))
    streamed = np.concatenate(parts)
    assert streamed.size == one_shot.size
    rms_diff = float(np.sqrt(np.mean((streamed - one_shot) ** 2)))
    assert rms_diff < 1e-3


def test_per_chunk_stateless_resampling_would_have_seams() -> None:
    # The reference integration's approach, to show the test above can fail.
    x = speechlike(48000, 1.0)
    one_shot = soxr.resample(x, 48000, 16000, quality="HQ")
    naive = np.concatenate([soxr.resample(x[i : i + 441], 48000, 16000) for i in range(0, x.size, 441)])
    n = min(naive.size, one_shot.size)
    assert naive.size != one_shot.size or float(np.sqrt(np.mean((naive[:n] - one_shot[:n]) ** 2))) >= 1e-3


async def test_48k_stereo_file_becomes_16k_mono_of_same_duration(tmp_path: Path) -> None:
    path = tmp_path / "stereo48k.wav"
    write_wav(path, speechlike(48000, 1.5, channels=2), 48000)
    source = WavFileSource(path, block_ms=20)
    assert source.sample_rate == 48000
    resampler = StreamResampler(source.sample_rate, 16000)
    out = [resampler.process(block) async for block in source.blocks()]
    out.append(resampler.process(np.zeros(0, np.float32), last=True))
    mono16k = np.concatenate(out)
    assert mono16k.ndim == 1
    assert mono16k.size == 24000  # 1.5 s at 16 kHz
    expected = soxr.resample(speechlike(48000, 1.5, 2).mean(axis=1), 48000, 16000)
    assert float(np.sqrt(np.mean((mono16k - expected) ** 2))) < 1e-3


def test_channel_count_comes_from_the_header(tmp_path: Path) -> None:
    # 1000 stereo frames == 2000 mono samples: only the header can tell them apart.
    path = tmp_path / "stereo.wav"
    write_wav(path, speechlike(16000, 1000 / 16000, channels=2), 16000)
    data, rate = read_wav(path)
    assert data.shape == (1000, 2) and rate == 16000


async def test_file_blocks_are_the_files_frames_in_order_with_a_short_last_block(tmp_path: Path) -> None:
    # 2.51 s of stereo: several read-ahead chunks, and a last block of 10 ms.
    path = tmp_path / "stereo16k.wav"
    audio = speechlike(16000, 2.51, channels=2)
    write_wav(path, audio, 16000)
    source = WavFileSource(path, block_ms=20)
    blocks = [block.copy() async for block in source.blocks()]
    assert [b.shape[0] for b in blocks] == [320] * 125 + [160]
    assert all(b.dtype == np.float32 and b.ndim == 1 for b in blocks)
    expected, _ = read_wav(path)
    assert np.array_equal(np.concatenate(blocks), expected.mean(axis=1, dtype=np.float32))


def test_same_rate_passes_mono_float32_through_and_converts_the_rest() -> None:
    resampler = StreamResampler(16000, 16000)
    mono = speechlike(16000, 0.02)
    assert resampler.process(mono) is mono
    stereo = speechlike(16000, 0.02, channels=2)
    assert np.array_equal(resampler.process(stereo), stereo.mean(axis=1, dtype=np.float32))
    strided = speechlike(16000, 0.04)[::2]
    out = resampler.process(strided)
    assert out.flags.c_contiguous and np.array_equal(out, strided)
    wide = speechlike(16000, 0.02).astype(np.float64)
    assert resampler.process(wide).dtype == np.float32
