"""Offline engine: real-time factors (CPU seconds per second of audio, lower is faster) of the
Silero VAD and of the whole offline STT (VAD turns + pocketsphinx) over the speech fixture in
20 ms chunks, and the end-of-turn delay (reference VAD speech stop -> turn.end) against the
configured end silence, from a full offline session on virtual time.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from benchmarks.common import Figure, distribution, repo_root, single

FIXTURE = "tests/data/speech_turns.wav"


def _chunks() -> tuple[list[np.ndarray], float]:
    from voiceconsole.audio.resample import to_mono
    from voiceconsole.audio.wavio import read_wav

    samples, rate = read_wav(f"{repo_root()}/{FIXTURE}")
    mono = to_mono(samples)
    step = rate // 50
    return [mono[i : i + step] for i in range(0, mono.size, step)], mono.size / rate


def _rtf(make, chunks: list[np.ndarray], seconds: float, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        worker = make()
        t0 = time.process_time()
        for c in chunks:
            worker.process(c)
        best = min(best, time.process_time() - t0)
    return best / seconds


async def _session_delays(end_ms: int) -> list[float]:
    from voiceconsole.config import Settings
    from voiceconsole.session.build import build_session
    from voiceconsole.session.metrics import compute_metrics

    settings = Settings(mic=f"{repo_root()}/{FIXTURE}", fast=True, speaker="null", stt="local", tts="local", end_ms=end_ms)
    session = build_session(settings)
    events = []
    session.bus.add_listener(events.append)
    await session.run()
    metrics = compute_metrics(events)
    return [tm.end_of_turn_delay for tm in metrics.turns if tm.end_of_turn_delay is not None]


def run(quick: bool) -> list[Figure]:
    from voiceconsole.audio.vad import SileroFrameVad
    from voiceconsole.engines.base import TurnSettings
    from voiceconsole.engines.local_stt import LocalTurnProcessor

    chunks, seconds = _chunks()
    repeats = 1 if quick else 3
    vad = _rtf(SileroFrameVad, chunks, seconds, repeats)
    stt = _rtf(lambda: LocalTurnProcessor(TurnSettings()), chunks, seconds, repeats)
    end_ms = TurnSettings().end_silence_ms
    delays = asyncio.run(_session_delays(end_ms))
    over = [1000 * d - end_ms for d in delays]
    return [
        single("offline: Silero VAD real-time factor", "x", vad, note=f"RTF; {1000 * vad:.1f} ms CPU per audio s"),
        single("offline: STT (VAD turns + pocketsphinx) real-time factor", "x", stt, note=f"RTF; {1000 * stt:.0f} ms CPU per audio s"),
        distribution("offline: end-of-turn delay beyond the configured silence", "ms", over,
                     note=f"speech stop -> turn.end minus end silence {end_ms} ms; median delay "
                          f"{1000 * float(np.median(delays)) if delays else float('nan'):.0f} ms"),
    ]
