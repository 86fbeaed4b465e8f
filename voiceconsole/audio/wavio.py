"""WAV reading and writing with clear errors.

The reader parses RIFF itself (the standard ``wave`` module rejects float WAVs) and reads the
channel count, rate and sample format from the header, never guessing from buffer lengths.
Supported: PCM 8/16/24/32-bit integer and IEEE float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE.
"""

from __future__ import annotations

import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import numpy as np

from voiceconsole.errors import AudioFileError

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_IEEE_FLOAT = 0x0003
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
_FORMAT_NAMES = {0x0002: "ADPCM", 0x0006: "A-law", 0x0007: "mu-law", 0x0011: "IMA ADPCM", 0x0055: "MP3"}


@dataclass(frozen=True)
class WavInfo:
    """What a WAV header says."""

    path: Path
    sample_rate: int
    channels: int
    sample_width: int  # bytes per sample
    is_float: bool
    frames: int
    data_offset: int

    @property
    def duration_s(self) -> float:
        """Length in seconds."""
        return self.frames / self.sample_rate

    def describe(self) -> str:
        """E.g. ``48000 Hz, 2 ch, 16-bit PCM, 3.20 s``."""
        kind = "float" if self.is_float else "PCM"
        return (
            f"{self.sample_rate} Hz, {self.channels} ch, {self.sample_width * 8}-bit {kind}, "
            f"{self.duration_s:.2f} s"
        )


def read_wav_info(path: str | os.PathLike[str]) -> WavInfo:
    """Parse and validate a WAV header. Raises :class:`AudioFileError` with a one-line reason."""
    p = Path(path)
    if not p.exists():
        raise AudioFileError(f"{p}: no such file; give the path of a .wav file")
    if p.is_dir():
        raise AudioFileError(f"{p}: is a directory; give the path of a .wav file")
    try:
        st = p.stat()
        if not stat.S_ISREG(st.st_mode):
            # Opening a FIFO would block until a writer comes (and Ctrl-C could not stop it).
            raise AudioFileError(f"{p}: not a regular file (a FIFO, device or socket); give the path of a .wav file")
        size = st.st_size
        with p.open("rb") as fh:
            return _parse_header(p, fh, size)
    except PermissionError:
        raise AudioFileError(f"{p}: permission denied; make the file readable") from None
    except OSError as exc:
        raise AudioFileError(f"{p}: cannot read ({exc.strerror or exc})") from None


def _parse_header(p: Path, fh: BinaryIO, size: int) -> WavInfo:
    head = fh.read(12)
    if size == 0:
        raise AudioFileError(f"{p}: file is empty; record or export a WAV file with audio in it")
    if len(head) < 12 or head[0:4] not in (b"RIFF", b"RF64") or head[8:12] != b"WAVE":
        raise AudioFileError(f"{p}: not a WAV file (no RIFF/WAVE header); convert it with e.g. `sox in.mp3 out.wav`")
    fmt: tuple[int, int, int, int] | None = None
    while True:
        chunk = fh.read(8)
        if len(chunk) < 8:
            if fmt is None:
                raise AudioFileError(f"{p}: truncated WAV (no format chunk); the file is damaged")
            raise AudioFileError(f"{p}: WAV has no audio data chunk; the file is empty or damaged")
        cid, csize = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if cid == b"fmt ":
            body = fh.read(csize)
            if csize & 1:
                fh.seek(1, os.SEEK_CUR)
            if len(body) < 16:
                raise AudioFileError(f"{p}: truncated WAV format chunk; the file is damaged")
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", body[:16])
            if tag == WAVE_FORMAT_EXTENSIBLE and len(body) >= 26:
                tag = struct.unpack("<H", body[24:26])[0]
            fmt = (tag, channels, rate, bits)
        elif cid == b"data":
            if fmt is None:
                raise AudioFileError(f"{p}: WAV data comes before its format chunk; the file is damaged")
            tag, channels, rate, bits = fmt
            width = bits // 8
            if tag not in (WAVE_FORMAT_PCM, WAVE_FORMAT_IEEE_FLOAT):
                name = _FORMAT_NAMES.get(tag, f"format tag {tag:#06x}")
                raise AudioFileError(
                    f"{p}: unsupported WAV sample format ({name}); convert to 16-bit PCM, "
                    f"e.g. `sox in.wav -e signed -b 16 out.wav`"
                )
            is_float = tag == WAVE_FORMAT_IEEE_FLOAT
            if bits % 8 or (is_float and width not in (4, 8)) or (not is_float and width not in (1, 2, 3, 4)):
                raise AudioFileError(
                    f"{p}: unsupported WAV sample format ({bits}-bit {'float' if is_float else 'PCM'}); "
                    f"convert to 16-bit PCM, e.g. `sox in.wav -b 16 out.wav`"
                )
            if channels < 1 or rate < 1000 or rate > 384000:
                raise AudioFileError(f"{p}: WAV header is invalid ({channels} channels at {rate} Hz)")
            pos = fh.tell()
            available = size - pos
            block = width * channels
            if csize in (0, 0xFFFFFFFF):
                # A streaming writer (or RF64) leaves the size 0 or 0xFFFFFFFF: the audio runs
                # to the end of the file.
                csize = available
            if csize > available:
                raise AudioFileError(
                    f"{p}: truncated WAV (header promises {csize} bytes of audio, file has {available}); "
                    f"the file was cut short: re-export it"
                )
            frames = csize // block
            if frames == 0:
                raise AudioFileError(f"{p}: WAV has no audio frames; record or export a file with audio in it")
            return WavInfo(p, rate, channels, width, is_float, frames, pos)
        else:
            fh.seek(csize + (csize & 1), os.SEEK_CUR)


def _decode(raw: bytes, info: WavInfo) -> np.ndarray:
    """Bytes of whole frames -> float32 array of shape (frames, channels) in [-1, 1]."""
    w = info.sample_width
    if info.is_float:
        data = np.frombuffer(raw, dtype="<f4" if w == 4 else "<f8")
        # A NaN or an infinity in a float file is a damaged sample, not audio: read it as
        # silence (NaN) or full scale (inf), so levels, VAD and events stay finite.
        with np.errstate(over="ignore", invalid="ignore"):
            data = np.nan_to_num(data.astype(np.float32), nan=0.0, posinf=1.0, neginf=-1.0)
    elif w == 1:
        data = (np.frombuffer(raw, dtype=np.uint8).astype(np.float32) - 128.0) / 128.0
    elif w == 2:
        data = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    elif w == 3:
        b = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3).astype(np.int32)
        ints = (b[:, 0] | (b[:, 1] << 8) | (b[:, 2] << 16)) << 8 >> 8
        data = ints.astype(np.float32) / 8388608.0
    else:
        data = np.frombuffer(raw, dtype="<i4").astype(np.float32) / 2147483648.0
    return data.reshape(-1, info.channels)


class WavReader:
    """Reads frames of a validated WAV file as float32 ``(frames, channels)`` arrays."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.info = read_wav_info(path)
        self._fh = self.info.path.open("rb")
        self._fh.seek(self.info.data_offset)
        self._remaining = self.info.frames

    def read(self, frames: int) -> np.ndarray:
        """Up to ``frames`` frames; an empty array at the end."""
        n = min(frames, self._remaining)
        raw = self._fh.read(n * self.info.sample_width * self.info.channels)
        got = len(raw) // (self.info.sample_width * self.info.channels)
        self._remaining -= got
        return _decode(raw[: got * self.info.sample_width * self.info.channels], self.info)

    def close(self) -> None:
        """Close the file."""
        self._fh.close()


def read_wav(path: str | os.PathLike[str]) -> tuple[np.ndarray, int]:
    """Whole file as float32 ``(frames, channels)`` and its sample rate."""
    reader = WavReader(path)
    try:
        return reader.read(reader.info.frames), reader.info.sample_rate
    finally:
        reader.close()


def _header(sample_rate: int, channels: int, data_bytes: int) -> bytes:
    block = channels * 2
    return (
        b"RIFF"
        + struct.pack("<I", 36 + data_bytes)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, WAVE_FORMAT_PCM, channels, sample_rate, sample_rate * block, block, 16)
        + b"data"
        + struct.pack("<I", data_bytes)
    )


def float_to_pcm16(samples: np.ndarray) -> bytes:
    """Float samples in [-1, 1] -> little-endian 16-bit PCM bytes (clipped)."""
    if not np.isfinite(samples).all():
        samples = np.nan_to_num(samples, nan=0.0, posinf=1.0, neginf=-1.0)
    return (np.clip(samples, -1.0, 1.0) * 32767.0).astype("<i2").tobytes()


class WavWriter:
    """Streams 16-bit PCM to a WAV file; the header sizes are fixed on :meth:`close`.

    :meth:`flush` also rewrites the header, so a file cut short by a crash reads back up to the
    last flush (and :func:`repair_wav` fixes the rest).
    """

    def __init__(self, path: str | os.PathLike[str], sample_rate: int, channels: int = 1, *, exclusive: bool = False) -> None:
        self.path = Path(path)
        self.sample_rate = sample_rate
        self.channels = channels
        try:
            if exclusive:  # a new file only: never an existing one, never through a symlink
                flags = os.O_RDWR | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                self._fh: BinaryIO = os.fdopen(os.open(self.path, flags, 0o644), "w+b")
            else:
                self._fh = self.path.open("wb")
        except FileExistsError:
            raise AudioFileError(f"{self.path}: already exists; choose a new path") from None
        except OSError as exc:
            raise AudioFileError(f"{self.path}: cannot write ({exc.strerror or exc}); choose a writable path") from None
        self._data_bytes = 0
        self._fh.write(_header(sample_rate, channels, 0))

    def write(self, samples: np.ndarray) -> None:
        """Append float32 samples (mono 1-D, or ``(frames, channels)``)."""
        raw = float_to_pcm16(samples)
        self._fh.write(raw)
        self._data_bytes += len(raw)

    @property
    def frames(self) -> int:
        """Frames written so far."""
        return self._data_bytes // (2 * self.channels)

    def flush(self) -> None:
        """Write buffered data and fix the header sizes."""
        if self._fh.closed:
            return
        pos = self._fh.tell()
        self._fh.seek(0)
        self._fh.write(_header(self.sample_rate, self.channels, self._data_bytes))
        self._fh.seek(pos)
        self._fh.flush()

    def close(self) -> None:
        """Fix the header and close."""
        if self._fh.closed:
            return
        self.flush()
        self._fh.close()


def repair_wav(path: str | os.PathLike[str]) -> bool:
    """Fix the header of a 16-bit PCM WAV written by :class:`WavWriter` and cut short.

    Sets the RIFF and data sizes from the real file size (dropping a trailing partial frame).
    Returns whether anything was changed.
    """
    p = Path(path)
    with p.open("r+b") as fh:
        head = fh.read(44)
        if len(head) < 44 or head[0:4] != b"RIFF" or head[36:40] != b"data":
            return False
        channels = struct.unpack("<H", head[22:24])[0]
        block = 2 * max(channels, 1)
        size = p.stat().st_size
        data_bytes = ((size - 44) // block) * block
        riff_size, data_size = struct.unpack("<I", head[4:8])[0], struct.unpack("<I", head[40:44])[0]
        if riff_size == 36 + data_bytes and data_size == data_bytes and size == 44 + data_bytes:
            return False
        fh.seek(4)
        fh.write(struct.pack("<I", 36 + data_bytes))
        fh.seek(40)
        fh.write(struct.pack("<I", data_bytes))
        fh.truncate(44 + data_bytes)
    return True


def write_wav(path: str | os.PathLike[str], samples: np.ndarray, sample_rate: int) -> None:
    """Write a whole 16-bit PCM WAV file."""
    channels = 1 if samples.ndim == 1 else samples.shape[1]
    writer = WavWriter(path, sample_rate, channels)
    writer.write(samples)
    writer.close()
