"""Resampling side by side: our stateful soxr stream (``StreamResampler``) against per-chunk
``scipy.signal.resample_poly`` (what one of the reference integrations does), in one run.

Both convert the same 48 kHz signal (the speech fixture, upsampled once, plus a 1 kHz tone) to
16 kHz in 20 ms chunks. Speed: CPU seconds per second of audio, and their ratio. Seams: each
method's chunked output against its own one-shot conversion of the whole signal, in the
samples around each chunk boundary (the error a chunked stream adds, filter choice aside).
"""

from __future__ import annotations

import time

import numpy as np

from benchmarks.common import Figure, distribution, repo_root, single

IN_RATE, OUT_RATE, CHUNK_MS = 48000, 16000, 20
SEAM_HALF = 16  # output samples on either side of a chunk boundary counted as "at the seam"


def _signal(seconds: float) -> np.ndarray:
    from scipy.signal import resample_poly

    from voiceconsole.audio.resample import to_mono
    from voiceconsole.audio.wavio import read_wav

    speech16 = to_mono(read_wav(f"{repo_root()}/tests/data/speech_turns.wav")[0])
    speech48 = resample_poly(speech16, 3, 1).astype(np.float32)
    n = int(seconds * IN_RATE)
    reps = int(np.ceil(n / speech48.size))
    sig = np.tile(speech48, reps)[:n]
    tone = 0.25 * np.sin(2 * np.pi * 1000 * np.arange(n) / IN_RATE)
    return np.clip(sig * 0.7 + tone, -1, 1).astype(np.float32)


def _chunks(sig: np.ndarray) -> list[np.ndarray]:
    step = IN_RATE * CHUNK_MS // 1000
    return [sig[i : i + step] for i in range(0, sig.size, step)]


def _soxr_stream(chunks: list[np.ndarray]) -> np.ndarray:
    from voiceconsole.audio.resample import StreamResampler

    rs = StreamResampler(IN_RATE, OUT_RATE)
    out = [rs.process(c) for c in chunks]
    out.append(rs.process(np.zeros(0, dtype=np.float32), last=True))
    return np.concatenate(out)


def _poly_chunked(chunks: list[np.ndarray]) -> np.ndarray:
    from scipy.signal import resample_poly

    return np.concatenate([resample_poly(c, 1, 3).astype(np.float32) for c in chunks])


def _timed(fn, chunks: list[np.ndarray], repeats: int) -> tuple[float, np.ndarray]:
    best = float("inf")
    out = np.zeros(0)
    for _ in range(repeats):
        t0 = time.process_time()
        out = fn(chunks)
        best = min(best, time.process_time() - t0)
    return best, out


def _seam_errors(chunked: np.ndarray, whole: np.ndarray, n_chunks: int) -> tuple[list[float], float]:
    """Abs error around each seam (max per seam) and the max error away from seams."""
    n = min(chunked.size, whole.size)
    err = np.abs(chunked[:n].astype(np.float64) - whole[:n])
    step = OUT_RATE * CHUNK_MS // 1000
    seams: list[float] = []
    mask = np.zeros(n, dtype=bool)
    for k in range(1, n_chunks):
        a, b = k * step - SEAM_HALF, k * step + SEAM_HALF
        if b > n - 200:  # leave the stream's own end out
            break
        seams.append(float(err[a:b].max()))
        mask[a:b] = True
    inner = err[200 : n - 200][~mask[200 : n - 200]]
    return seams, float(inner.max()) if inner.size else 0.0


def _db(x: float) -> float:
    return 20 * np.log10(max(x, 1e-12))


def run(quick: bool) -> list[Figure]:
    import soxr
    from scipy.signal import resample_poly

    seconds = 10.0 if quick else 60.0
    sig = _signal(seconds)
    chunks = _chunks(sig)
    repeats = 2 if quick else 5
    t_soxr, out_soxr = _timed(_soxr_stream, chunks, repeats)
    t_poly, out_poly = _timed(_poly_chunked, chunks, repeats)
    whole_soxr = soxr.resample(sig, IN_RATE, OUT_RATE, quality="HQ")
    whole_poly = resample_poly(sig, 1, 3)
    seams_soxr, inner_soxr = _seam_errors(out_soxr, whole_soxr, len(chunks))
    seams_poly, inner_poly = _seam_errors(out_poly, whole_poly, len(chunks))
    seams_soxr_db = [_db(x) for x in seams_soxr]
    seams_poly_db = [_db(x) for x in seams_poly]
    return [
        single("resample: soxr stream CPU per audio second", "ms/s", 1000 * t_soxr / seconds,
               note=f"{IN_RATE}->{OUT_RATE} Hz, {CHUNK_MS} ms chunks"),
        single("resample: resample_poly per chunk CPU per audio second", "ms/s", 1000 * t_poly / seconds),
        single("resample: speed ratio (resample_poly time / soxr time)", "x", t_poly / t_soxr,
               note=">1: soxr stream is faster"),
        distribution("resample: soxr stream error at seams", "dBFS", seams_soxr_db,
                     note=f"vs one-shot soxr; away from seams max {_db(inner_soxr):.0f} dBFS"),
        distribution("resample: resample_poly per chunk error at seams", "dBFS", seams_poly_db,
                     note=f"vs one-shot resample_poly; away from seams max {_db(inner_poly):.0f} dBFS"),
    ]
