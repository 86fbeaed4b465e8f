"""Memory: replay a session of 10,000 turns into the real app (run headless) through its
``feed`` API and read the process RSS after 1,000 and after 10,000 turns. The target is an
absolute budget on the RSS after 10,000 turns (an 11-hour session at 4 s a turn).

Each scripted turn is what a live session emits: speech start/stop, turn start, three updates,
eager end, end, a reply through the TTS queue (queued, request, first audio, word timings,
done) and its playback (started, finished), plus mic and speaker levels every 50 ms. The app
paints after every 10 turns (it coalesces a burst into one frame), as during a fast replay.
"""

from __future__ import annotations

import asyncio
import gc

from benchmarks.common import Figure, rss_mb, single
from voiceconsole.events import (
    AudioLevel,
    Event,
    PlaybackFinished,
    PlaybackStarted,
    SessionStarted,
    SpeechStarted,
    SpeechStopped,
    TtsDone,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TtsWordTimings,
    TurnEagerEnd,
    TurnEnd,
    TurnStart,
    TurnUpdate,
    WordTiming,
)

TURN_S = 4.0
LEVEL_S = 0.05


def turn_events(n: int) -> list[Event]:
    """The events of turn ``n`` (1-based), ``TURN_S`` seconds each."""
    t0 = (n - 1) * TURN_S
    ev: list[Event] = []

    def add(cls: type[Event], dt: float, **fields: object) -> None:
        ev.append(cls(t=t0 + dt, audio_t=t0 + dt, **fields))

    words = ["turn", str(n), "was", "said", "here"]
    add(SpeechStarted, 0.1, speech_audio_t=t0)
    add(TurnStart, 0.2, turn=n)
    for k in (2, 3, 4):
        add(TurnUpdate, 0.2 + 0.3 * k, turn=n, transcript=" ".join(words[:k]))
    add(SpeechStopped, 1.5, speech_audio_t=t0 + 1.4)
    add(TurnEagerEnd, 1.6, turn=n, transcript=" ".join(words))
    add(TurnEnd, 2.2, turn=n, transcript=" ".join(words) + ".")
    text = f"you said turn {n} was said here"
    add(TtsQueued, 2.21, reply=n, text=text, origin="responder", turn=n)
    add(TtsRequestSent, 2.22, reply=n)
    add(TtsFirstAudio, 2.4, reply=n, latency_s=0.18)
    add(TtsWordTimings, 2.4, reply=n, words=tuple(WordTiming(w, 0.2 * i, 0.2 * i + 0.18) for i, w in enumerate(text.split())))
    add(TtsDone, 2.45, reply=n, duration_s=1.4)
    add(PlaybackStarted, 2.42, reply=n)
    add(PlaybackFinished, 3.82, reply=n, samples_played=int(1.4 * 16000), sample_rate=16000)
    k = 0
    while k * LEVEL_S < TURN_S:
        dt = k * LEVEL_S
        add(AudioLevel, dt, source="mic", rms_dbfs=-30.0 if dt < 1.5 else -70.0, peak_dbfs=-20.0)
        add(AudioLevel, dt, source="speaker", rms_dbfs=-25.0 if 2.42 <= dt < 3.82 else -120.0, peak_dbfs=-15.0)
        k += 1
    ev.sort(key=lambda e: e.t)
    return ev


async def _measure(first: int, last: int) -> tuple[float, float, float]:
    from voiceconsole.clock import VirtualClock
    from voiceconsole.ui.app import VoiceConsoleApp

    clock = VirtualClock()
    app = VoiceConsoleApp(clock=clock)
    start = SessionStarted(t=0.0, audio_t=0.0, stt="cartesia-turns", tts="cartesia", responder="echo",
                           source="file", sink="null", sample_rate=16000, settings={})
    readings: dict[int, float] = {}
    async with app.run_test(headless=True, size=(120, 40)) as pilot:
        app.feed(start)
        await pilot.pause()
        base = rss_mb()
        for n in range(1, last + 1):
            for event in turn_events(n):
                app.feed(event)
            clock.advance_to(n * TURN_S)
            if n % 10 == 0:
                await pilot.pause()
            if n in (first, last):
                await pilot.pause()
                gc.collect()
                readings[n] = rss_mb()
    return base, readings[first], readings[last]


RSS_BUDGET_MB = 150.0


def run(quick: bool) -> list[Figure]:
    first, last = (100, 1000) if quick else (1000, 10000)
    base, at_first, at_last = asyncio.run(_measure(first, last))
    hours = last * TURN_S / 3600
    return [
        single(f"memory: RSS after {last:,} turns with levels ({hours:.1f} h simulated)", "MB", at_last,
               target=RSS_BUDGET_MB, note=f"{at_first:.0f} MB after {first:,}; {base:.0f} MB with the app open"),
    ]
