"""Echo cancellation (WebRTC AEC3 from livekit): ERLE once converged, added latency, CPU.

The echo path is synthetic: the speech fixture played as the far end comes back into the mic
delayed by 60 ms through a small room (a direct path and three reflections), as in
tests/test_aec.py. ERLE is ``10 log10(mic energy / output energy)`` over each half second of
echo-only audio after the first four seconds (convergence). Added latency: the audio the
canceller holds back (whole 10 ms frames pass at once: nothing for 20 ms blocks, under one
frame for blocks off the grid) plus the processing time of one 20 ms block. CPU: process time
per second of audio, far end and mic together.

On the real path (the virtual PulseAudio null sink whose monitor is the default source, so the
console hears everything it plays): a live session speaks a reply with the offline TTS; ERLE
is the ``aec.erle`` events the canceller reports after its first converged window.
"""

from __future__ import annotations

import asyncio
import time

import numpy as np

from benchmarks.common import Figure, distribution, repo_root, single

RATE = 16000
BLOCK = 320  # 20 ms


def _far(seconds: float) -> np.ndarray:
    from voiceconsole.audio.wavio import read_wav

    speech = read_wav(f"{repo_root()}/tests/data/speech_turns.wav")[0][:, 0]
    reps = int(np.ceil(seconds * RATE / speech.size))
    return np.tile(speech, reps)[: int(seconds * RATE)].astype(np.float32)


def _echo(far: np.ndarray) -> np.ndarray:
    h = np.zeros(400, dtype=np.float32)
    h[0], h[37], h[180], h[390] = 0.6, 0.25, -0.12, 0.05
    wet = np.convolve(far, h)[: far.size]
    return np.concatenate([np.zeros(int(0.06 * RATE), np.float32), wet])[
        : far.size
    ].astype(np.float32)


LIVE_REPLY = (
    "please hold while we try to connect you. your call cannot be completed as dialed. "
    "please check the number and dial again. all circuits are busy now."
)


async def _live_erle(replies: int) -> tuple[list[float], int]:
    """ERLE windows after convergence over ``replies`` live replies, and the turns they started."""
    from voiceconsole.audio import open_devices
    from voiceconsole.audio.vad import ReferenceVad
    from voiceconsole.config import Settings
    from voiceconsole.engines.local_stt import LocalSttEngine
    from voiceconsole.engines.local_tts import LocalTtsEngine
    from voiceconsole.events import AecErle, PlaybackFinished, TurnStart
    from voiceconsole.session.mic import plan_aec
    from voiceconsole.session.responder import EchoResponder
    from voiceconsole.session.session import Session

    settings = Settings()
    source, sink = open_devices.open_input(settings), open_devices.open_output(settings)
    stt = LocalSttEngine()
    plan = plan_aec(None, False, source, sink, stt.sample_rate)
    session = Session(
        source=source,
        sink=sink,
        stt=stt,
        tts=LocalTtsEngine(),
        responder=EchoResponder(),
        reference_vad=ReferenceVad(),
        aec=plan,
    )
    events: list = []
    session.bus.add_listener(events.append)
    task = asyncio.create_task(session.run())
    try:
        await asyncio.sleep(1.0)
        for n in range(replies):
            session.say(LIVE_REPLY)
            deadline = time.monotonic() + 60
            while (
                sum(isinstance(e, PlaybackFinished) for e in events) <= n
                and time.monotonic() < deadline
            ):
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
    finally:
        session.request_stop("benchmark over")
        await asyncio.wait_for(task, 60)
    erles = [e.erle_db for e in events if isinstance(e, AecErle)]
    first = next((i for i, v in enumerate(erles) if v >= 15.0), len(erles))
    return erles[first + 1 :], sum(isinstance(e, TurnStart) for e in events)


def run(quick: bool) -> list[Figure]:
    from voiceconsole.audio.aec import EchoCanceller

    seconds = 20.0 if quick else 60.0
    far = _far(seconds)
    mic = _echo(far)
    canceller = EchoCanceller(RATE, delay_ms=60)
    out = np.empty(0, dtype=np.float32)
    pieces = []
    block_ms: list[float] = []
    cpu0 = time.process_time()
    for i in range(0, far.size, BLOCK):
        t0 = time.perf_counter()
        canceller.far(far[i : i + BLOCK], RATE)
        pieces.append(canceller.near(mic[i : i + BLOCK]))
        block_ms.append((time.perf_counter() - t0) * 1000)
    cpu = time.process_time() - cpu0
    out = np.concatenate(pieces)
    held = mic.size - out.size

    erle: list[float] = []
    for start in range(4 * RATE, out.size - RATE // 2, RATE // 2):
        a, b = mic[start : start + RATE // 2], out[start : start + RATE // 2]
        e_in = float(np.dot(a.astype(np.float64), a))
        if (
            e_in < 1e-3 * (RATE // 2) * 1e-4
        ):  # a pause in the far end: nothing to cancel
            continue
        erle.append(
            10 * np.log10(e_in / max(float(np.dot(b.astype(np.float64), b)), 1e-12))
        )

    odd = EchoCanceller(RATE)  # 7 ms blocks: off the 10 ms grid
    worst_hold = 0
    given = taken = 0
    for i in range(0, 2 * RATE, 112):
        given += far[i : i + 112].size
        taken += odd.near(far[i : i + 112]).size
        worst_hold = max(worst_hold, given - taken)

    from benchmarks.live import use_virtual_audio

    use_virtual_audio()
    live, false_turns = asyncio.run(_live_erle(2 if quick else 5))
    return [
        distribution(
            "ERLE once converged (null sink: its monitor is the mic)",
            "dB",
            live,
            target=20.0,
            target_stat="median",
            target_op=">=",
            note="half-second windows after the first converged one, live replies",
        ),
        single(
            "turns the bot's own replies started (null sink, AEC on)",
            "turns",
            float(false_turns),
            target=0.0,
        ),
        distribution(
            "ERLE once converged (synthetic echo path)",
            "dB",
            erle,
            target=20.0,
            target_stat="median",
            target_op=">=",
            note="per half second of echo-only audio after 4 s",
        ),
        distribution(
            "processing time per 20 ms block",
            "ms",
            block_ms,
            note="far end + mic, on the event loop",
        ),
        single(
            "audio held back, 20 ms blocks",
            "ms",
            1000 * held / RATE,
            note="whole 10 ms frames pass at once",
        ),
        single(
            "audio held back at most, 7 ms blocks",
            "ms",
            1000 * worst_hold / RATE,
            target=10.0,
            target_op="<=",
        ),
        single(
            "CPU per audio second",
            "ms/s",
            1000 * cpu / seconds,
            note="one core; far end and mic together",
        ),
    ]
