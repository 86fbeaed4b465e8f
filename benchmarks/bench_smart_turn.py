"""Smart Turn v3.2 as the offline end-of-turn detector, against the VAD silence rule.

* Inference time per call (numpy log-mel features + the ONNX model, one thread), on 8 s windows
  of the bundled speech.
* End-of-turn delay and false ends on the bundled human speech with mid-sentence pauses inserted
  (``tests/smart_turn_audio.py``: 0.6 s pauses at four word boundaries inside sentences), from
  full offline sessions on virtual time: ``--turn-detector vad`` (end 800 ms) and
  ``--turn-detector smart-turn`` with the 800 ms rule as fallback, and with Pipecat's 3 s.
  Delay: labelled end of the turn's speech -> ``turn.end``. False end: a ``turn.end`` that is
  not within 2 s after a labelled turn end (the 0.3 s pause after the complete sentence "... connect
  you" inside turn 2 counts: the manifest makes it one turn).
* How often Smart Turn would end a turn at a pause inside a sentence: its P(complete) at every
  word boundary inside the four sentences (22), given the speech up to it and 0.23 s of pause.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import Figure, distribution, single

RATE = 16000
MATCH_S = 2.0
GATE_PAUSE_S = 0.23
"""Pause Smart Turn has heard when it runs: 200 ms eager silence, reached a frame or so late."""


async def _session_events(mic: Path, **settings_fields: object) -> list:
    from voiceconsole.config import Settings
    from voiceconsole.session.build import build_session

    settings = Settings(
        mic=str(mic),
        fast=True,
        speaker="null",
        stt="local",
        tts="local",
        **settings_fields,
    )
    session = build_session(settings)
    events: list = []
    session.bus.add_listener(events.append)
    await session.run()
    return events


def _score(events: list, turn_ends: tuple[float, ...]) -> tuple[list[float], int]:
    """Delays (ms) from each labelled turn end to its turn.end, and the count of false ends."""
    ends = [e.audio_t for e in events if e.type == "turn.end"]
    delays, matched = [], set()
    for truth in turn_ends:
        hits = [t for t in ends if truth < t <= truth + MATCH_S]
        if hits:
            delays.append(1000.0 * (hits[0] - truth))
            matched.add(hits[0])
    return delays, len([t for t in ends if t not in matched])


def _inference_ms(
    model, audio: np.ndarray, calls: int
) -> tuple[list[float], list[float]]:
    from voiceconsole.audio.melspec import smart_turn_features

    total, features = [], []
    span = 8 * RATE
    starts = np.linspace(0, max(0, audio.size - span), calls).astype(int)
    model.probability(audio[:span])  # first call: session warm-up, not counted
    for start in starts:
        window = audio[start : start + span]
        t0 = time.perf_counter()
        smart_turn_features(window)
        t1 = time.perf_counter()
        model.probability(window)
        t2 = time.perf_counter()
        features.append(1000.0 * (t1 - t0))
        total.append(1000.0 * (t2 - t1))
    return total, features


def _boundary_probabilities(
    model, audio: np.ndarray
) -> tuple[list[float], list[float]]:
    from tests.smart_turn_audio import SENTENCE_ENDS, WORD_BOUNDARIES

    quiet = np.resize(audio[: round(0.7 * RATE)], round(GATE_PAUSE_S * RATE))

    def p(start: float, cut: float) -> float:
        return model.probability(
            np.concatenate(
                (audio[round((start - 0.5) * RATE) : round(cut * RATE)], quiet)
            )
        )

    inside = [p(start, cut) for start, cuts in WORD_BOUNDARIES.items() for cut in cuts]
    ends = [p(start, end) for start, end in SENTENCE_ENDS.items()]
    return inside, ends


def run(quick: bool) -> list[Figure]:
    from tests.smart_turn_audio import MID_SENTENCE_CUTS, load_speech, paused_speech
    from voiceconsole.engines.smart_turn import SmartTurnModel

    model = SmartTurnModel()
    audio = load_speech()
    total, features = _inference_ms(
        model, np.concatenate((audio, audio)), 8 if quick else 30
    )
    inside, sentence_ends = _boundary_probabilities(model, audio)
    speech = paused_speech()
    with tempfile.TemporaryDirectory() as tmp:
        mic = speech.write(Path(tmp) / "paused.wav")
        runs = {
            "VAD rule, end 800 ms": asyncio.run(_session_events(mic, end_ms=800)),
            "Smart Turn, fallback 800 ms": asyncio.run(
                _session_events(mic, end_ms=800, turn_detector="smart-turn")
            ),
        }
        if not quick:
            runs["Smart Turn, fallback 3000 ms"] = asyncio.run(
                _session_events(mic, end_ms=3000, turn_detector="smart-turn")
            )
    where = (
        f"{len(MID_SENTENCE_CUTS)} mid-sentence pauses + 1 sentence end inside turn 2"
    )
    figures = [
        distribution(
            "smart_turn: inference per call (features + model)",
            "ms",
            total,
            note=f"8 s windows, 1 thread; features alone median {float(np.median(features)):.1f} ms",
        )
    ]
    for name, events in runs.items():
        delays, false_ends = _score(events, speech.turn_ends)
        figures.append(
            distribution(
                f"smart_turn: end-of-turn delay, {name}",
                "ms",
                delays,
                note=f"labelled speech end -> turn.end, {len(delays)}/{len(speech.turn_ends)} turns found",
            )
        )
        figures.append(
            single(f"smart_turn: false ends, {name}", "count", false_ends, note=where)
        )
    figures.append(
        single(
            "smart_turn: word boundaries inside sentences with P >= 0.5",
            "fraction",
            sum(p >= 0.5 for p in inside) / len(inside),
            note=f"{sum(p >= 0.5 for p in inside)}/{len(inside)}; median P inside "
            f"{float(np.median(inside)):.2f}, at sentence ends {', '.join(f'{p:.2f}' for p in sentence_ends)}",
        )
    )
    return figures
