"""``tap`` and ``serve``: what watching costs an agent, and how many agents ``serve`` keeps up with.

- **Added latency per message**: an echo server on 127.0.0.1 sends every frame straight back; a
  client sends 100 ms frames of speech (s16le, 16 kHz) and times each round trip, directly and
  through ``tap`` (the real server, watcher included: levels, reference VAD, turn parsing),
  alternating one message each way in one run, a pair every 50 ms (the watcher then handles
  audio at twice real time). The figure is the paired difference (tap round trip minus the
  direct one next to it); target p99 <= 1 ms.
- **CPU per audio second** of a proxied STT stream: ``voiceconsole tap --no-ui`` as its own
  process forwards the speech clip (about 30 s of it, sent as fast as it goes) to a server that
  answers a turn message per second of audio; the tap process's CPU seconds (read once its
  watcher has caught up) / audio seconds.
- **Concurrent serve sessions that keep real time**: ``voiceconsole serve --no-ui`` as its own
  process; N agents each stream speech at real time (100 ms every 100 ms), then ``close``; a
  session keeps real time when the server answers the close within 1 s of the last frame (its
  backlog). The figure is the largest N tried for which every session did.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time

import numpy as np

from benchmarks.common import (
    Figure,
    distribution,
    process_cpu_seconds,
    repo_root,
    single,
)

CHUNK = 3200  # 100 ms of 16 kHz s16le
TURNS = "/stt/turns/websocket?model=ink-2&encoding=pcm_s16le&sample_rate=16000"
PAIR_GAP_S = 0.05
"""Pause between pairs of messages: 100 ms of audio each way every 50 ms, twice the rate an
agent streams at, so the watcher thread is as busy as with two agents."""
KEEP_UP_S = 1.0
"""A session keeps real time when its close is answered within this of its last frame."""


def _speech(seconds: float) -> bytes:
    from voiceconsole.audio.wavio import read_wav

    samples, _ = read_wav(f"{repo_root()}/tests/data/speech_turns.wav")
    mono = samples.reshape(-1)
    reps = int(np.ceil(seconds * 16000 / mono.size))
    mono = np.tile(mono, reps)[: int(seconds * 16000)]
    return (np.clip(mono, -1, 1) * 32767).astype("<i2").tobytes()


# --- added latency ---------------------------------------------------------------------------


async def _echo(ws) -> None:  # type: ignore[no-untyped-def]
    async for message in ws:
        await ws.send(message)


async def _latency(n: int) -> tuple[list[float], list[float], list[float]]:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    from voiceconsole.serve.hub import WatchHub
    from voiceconsole.serve.server import EndpointServer
    from voiceconsole.serve.tap import TapBackend

    pcm = _speech(n * 0.1 + 1)
    async with serve(_echo, "127.0.0.1", 0, compression=None) as echo:
        port = echo.sockets[0].getsockname()[1]
        tap = EndpointServer(
            TapBackend(f"ws://127.0.0.1:{port}"), WatchHub("tap"), "127.0.0.1", 0
        )
        await tap.start()
        try:
            async with (
                connect(f"ws://127.0.0.1:{port}{TURNS}", compression=None) as direct,
                connect(
                    tap.url + TURNS,
                    compression=None,
                    additional_headers={"X-API-Key": "sk_bench_key"},
                ) as tapped,
            ):
                direct_rtt: list[float] = []
                tapped_rtt: list[float] = []
                for i in range(n + 20):
                    frame = pcm[i * CHUNK % (len(pcm) - CHUNK) :][:CHUNK]
                    pair = []
                    for ws in (direct, tapped) if i % 2 else (tapped, direct):
                        t0 = time.perf_counter()
                        await ws.send(frame)
                        await ws.recv()
                        pair.append((ws is tapped, time.perf_counter() - t0))
                    if i < 20:  # warm-up
                        continue
                    for is_tap, rtt in pair:
                        (tapped_rtt if is_tap else direct_rtt).append(rtt * 1000)
                    await asyncio.sleep(PAIR_GAP_S)
        finally:
            await tap.close()
    added = [t - d for t, d in zip(tapped_rtt, direct_rtt)]
    return direct_rtt, tapped_rtt, added


# --- processes ----------------------------------------------------------------------------------


async def _spawn(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    env = {
        **os.environ,
        "PYTHONPATH": repo_root() + os.pathsep + os.environ.get("PYTHONPATH", ""),
    }
    env.pop("CARTESIA_API_KEY", None)
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "voiceconsole",
        *args,
        "--no-ui",
        "--listen",
        "127.0.0.1:0",
        cwd=repo_root(),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert proc.stdout is not None
    line = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
    if not line.startswith("listening on "):
        proc.kill()
        raise RuntimeError(f"voiceconsole {args[0]} did not start: {line!r}")
    return proc, line.split()[2]


async def _stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    try:
        await asyncio.wait_for(proc.communicate(), 30)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()


async def _turns_sink(ws) -> None:  # type: ignore[no-untyped-def]
    """An upstream answering a turn message per second of audio."""
    received = 0
    await ws.send(json.dumps({"type": "connected", "request_id": "b"}))
    async for message in ws:
        if isinstance(message, bytes):
            received += len(message)
            if received % 32000 < len(message):
                await ws.send(
                    json.dumps(
                        {
                            "type": "turn.update",
                            "transcript": "words so far",
                            "request_id": "b",
                        }
                    )
                )
        else:
            await ws.close(1000, "bye")


async def _settled_cpu(pid: int, before: float) -> float:
    """The process's CPU seconds once its watcher has caught up (no CPU used for 1 s)."""
    last, still = process_cpu_seconds(pid) or before, 0
    for _ in range(300):
        await asyncio.sleep(0.2)
        now = process_cpu_seconds(pid) or last
        still = still + 1 if now - last < 0.005 else 0
        last = now
        if still >= 5:
            break
    return last


async def _tap_cpu(seconds: float) -> float:
    from websockets.asyncio.client import connect
    from websockets.asyncio.server import serve

    pcm = _speech(seconds)
    async with serve(_turns_sink, "127.0.0.1", 0, compression=None) as upstream:
        port = upstream.sockets[0].getsockname()[1]
        proc, url = await _spawn("tap", "--upstream", f"ws://127.0.0.1:{port}")
        try:
            async with connect(
                url + TURNS,
                compression=None,
                additional_headers={"X-API-Key": "sk_bench_key"},
            ) as ws:

                async def drain() -> None:
                    async for _ in ws:
                        pass

                reader = asyncio.create_task(drain())
                await asyncio.sleep(0.5)
                before = process_cpu_seconds(proc.pid) or 0.0
                for i in range(0, len(pcm), CHUNK):
                    await ws.send(pcm[i : i + CHUNK])
                await ws.send('{"type":"close"}')
                await asyncio.wait_for(reader, 60)
                after = await _settled_cpu(proc.pid, before)
        finally:
            await _stop(proc)
    return (after - before) / seconds


async def _one_agent(url: str, pcm: bytes) -> float:
    """Stream ``pcm`` at real time, then close; seconds from the last frame to the server's close."""
    from websockets.asyncio.client import connect

    async with connect(url + TURNS, compression=None) as ws:

        async def drain() -> None:
            async for _ in ws:
                pass

        reader = asyncio.create_task(drain())
        start = time.monotonic()
        for k, i in enumerate(range(0, len(pcm), CHUNK)):
            await asyncio.sleep(max(0.0, start + k * 0.1 - time.monotonic()))
            await ws.send(pcm[i : i + CHUNK])
        await ws.send('{"type":"close"}')
        last = time.monotonic()
        await asyncio.wait_for(reader, 120)
        return time.monotonic() - last


async def _serve_capacity(
    counts: tuple[int, ...], seconds: float
) -> tuple[int, dict[str, float]]:
    proc, url = await _spawn("serve", "--max-sessions", str(max(counts)))
    backlog: dict[str, float] = {}
    kept = 0
    try:
        pcm = _speech(seconds)
        for n in counts:
            lags = await asyncio.gather(*(_one_agent(url, pcm) for _ in range(n)))
            backlog[str(n)] = round(max(lags), 3)
            if max(lags) > KEEP_UP_S:
                break
            kept = n
    finally:
        await _stop(proc)
    return kept, backlog


def run(quick: bool) -> list[Figure]:
    direct, tapped, added = asyncio.run(_latency(200 if quick else 600))
    cpu = asyncio.run(_tap_cpu(10.0 if quick else 30.0))
    counts = (1, 2, 4) if quick else (1, 2, 4, 6, 8)
    kept, backlog = asyncio.run(_serve_capacity(counts, 5.0 if quick else 10.0))
    return [
        distribution(
            "tap: round trip direct",
            "ms",
            direct,
            note="100 ms s16le frame to an echo server",
        ),
        distribution(
            "tap: round trip through tap",
            "ms",
            tapped,
            note="same, through tap (watcher on)",
        ),
        distribution(
            "tap: added latency per message",
            "ms",
            added,
            target=1.0,
            target_stat="p99",
            note="paired: through tap minus direct, alternating in one run, a pair every 50 ms",
        ),
        single(
            "tap: CPU per audio second (STT stream)",
            "%",
            cpu * 100,
            note="tap process CPU / seconds of speech forwarded (levels + reference VAD on)",
        ),
        single(
            "serve: concurrent sessions keeping real time",
            "sessions",
            float(kept),
            note=f"largest N tried with every close answered <= {KEEP_UP_S:g} s after the last frame; "
            f"worst backlog per N: {backlog}",
            extra={"backlog_s": backlog},
        ),
    ]
