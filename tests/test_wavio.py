"""WAV reading of every supported format, and writer header repair."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest

from voiceconsole.audio.wavio import WavWriter, read_wav, read_wav_info, repair_wav
from voiceconsole.errors import AudioFileError


def raw_wav(path: Path, data: bytes, *, tag: int, channels: int, rate: int, bits: int, extensible: bool = False) -> None:
    block = channels * bits // 8
    if extensible:
        fmt = struct.pack("<HHIIHH", 0xFFFE, channels, rate, rate * block, block, bits)
        fmt += struct.pack("<HHI", 22, bits, 0) + struct.pack("<H", tag) + b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
    else:
        fmt = struct.pack("<HHIIHH", tag, channels, rate, rate * block, block, bits)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"LIST" + struct.pack("<I", 4) + b"INFO"
    body += b"data" + struct.pack("<I", len(data)) + data
    path.write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)


@pytest.mark.parametrize(
    ("tag", "bits", "dtype", "scale"),
    [(1, 16, "<i2", 32767), (1, 32, "<i4", 2**31 - 1), (3, 32, "<f4", 1.0), (3, 64, "<f8", 1.0)],
)
def test_reads_int_and_float_formats(tmp_path: Path, tag: int, bits: int, dtype: str, scale: float) -> None:
    values = np.array([0.0, 0.5, -0.5, 0.25], dtype=np.float64)
    path = tmp_path / "x.wav"
    raw_wav(path, (values * scale).astype(dtype).tobytes(), tag=tag, channels=1, rate=22050, bits=bits)
    data, rate = read_wav(path)
    assert rate == 22050
    np.testing.assert_allclose(data[:, 0], values, atol=1e-4)


def test_reads_24_bit_extensible_stereo(tmp_path: Path) -> None:
    ints = np.array([[0, 4194304], [-4194304, 8388607]], dtype=np.int32)
    raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in ints.ravel())
    path = tmp_path / "x.wav"
    raw_wav(path, raw, tag=1, channels=2, rate=48000, bits=24, extensible=True)
    data, rate = read_wav(path)
    assert data.shape == (2, 2) and rate == 48000
    np.testing.assert_allclose(data, ints / 8388608.0, atol=1e-6)


@pytest.mark.parametrize(
    ("maker", "fragment"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_text("hello, not audio"), "not a WAV"),
        (lambda p: raw_wav(p, b"", tag=1, channels=1, rate=16000, bits=16), "no audio frames"),
        (lambda p: raw_wav(p, b"\x00" * 8, tag=7, channels=1, rate=8000, bits=8), "mu-law"),
    ],
)
def test_bad_files_give_one_line_reasons(tmp_path: Path, maker, fragment: str) -> None:
    path = tmp_path / "bad.wav"
    maker(path)
    with pytest.raises(AudioFileError) as info:
        read_wav_info(path)
    assert fragment in str(info.value) and "\n" not in str(info.value)


def test_truncated_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "cut.wav"
    raw_wav(path, b"\x01\x00" * 1000, tag=1, channels=1, rate=16000, bits=16)
    path.write_bytes(path.read_bytes()[:-500])
    with pytest.raises(AudioFileError, match="truncated"):
        read_wav_info(path)


def test_writer_cut_short_is_repaired(tmp_path: Path) -> None:
    path = tmp_path / "rec.wav"
    writer = WavWriter(path, 16000)
    writer.write(np.full(1600, 0.5, np.float32))
    writer.flush()
    writer.write(np.full(800, 0.25, np.float32))
    writer._fh.flush()  # data on disk, header not updated: what a SIGKILL leaves
    assert read_wav_info(path).frames == 1600  # the header only knows the last flush
    assert repair_wav(path) is True
    data, _ = read_wav(path)
    assert data.shape[0] == 2400
    assert repair_wav(path) is False
