"""CPU while streaming with live meters, side by side with the peer, and CPU at idle.

Each tool runs as its own process tree, drawing real frames to terminal bytes at 120 x 40 (the
Textual driver :mod:`benchmarks.peer.render_driver`, chosen for both through Textual's
``TEXTUAL_DRIVER``), and its CPU is read from outside: user + system time of every process of
the tree (a process and all its descendants, as psutil's ``children(recursive=True)`` would
find them), over a window after a warm-up, as a share of one core.

* voiceconsole: the real app on a real session (``python -m benchmarks.bench_cpu --app URL``):
  the speech fixture as the mic in real time, looped, the reference VAD, meters live, Cartesia
  Ink-2 turns STT and sonic TTS against the scripted local server (its own process, not
  counted) with a turn every 4 s and echo replies played to the null sink in real time.
* Pipecat Tail (the peer): Tail's ``TailRunner`` over a Pipecat pipeline that feeds the same
  fixture at real time in 20 ms frames through Pipecat's bundled Silero VAD, with stand-in STT,
  LLM and TTS that answer each turn (:mod:`benchmarks.peer.tail_pipeline`, run in the peer's
  own virtualenv). Its tree is the pipeline process and the dashboard process it forks.

The two are measured in one run, interleaved (voiceconsole, Tail, voiceconsole, Tail, ...), one
fresh launch and one window per turn, so a slow spell of a shared machine falls on both; each
figure is the median of its windows. Without the peer's virtualenv the Tail rows are skipped
with a note saying how to set it up. Idle: the app open on a session with no mic stream (a
source that never delivers a block; the meters are still polled, the STT keepalive still runs)
against a server that scripts no turns, several windows of one launch.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from statistics import median

import numpy as np

from benchmarks import peer
from benchmarks.common import Figure, distribution, repo_root, single, tree_cpu_seconds
from benchmarks.live import cartesia_settings
from voiceconsole.audio.io import AudioSource

COLUMNS, LINES = 120, 40
READY_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 30.0
RATIO_TARGET = 0.6
IDLE_TARGET = 2.0


class LoopedWavSource(AudioSource):
    """The speech fixture as a mic that starts over at its end (streaming never runs dry)."""

    self_clocked = False

    def __init__(self, path: str) -> None:
        from voiceconsole.audio.io import WavFileSource

        self.path = path
        self.current = WavFileSource(path)
        self.sample_rate = self.current.sample_rate
        self.name = self.current.name
        self.description = f"{self.current.description}, looped"
        self.duration_s = None

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        from voiceconsole.audio.io import WavFileSource

        while True:
            async for block in self.current.blocks():
                yield block
            await self.current.close()
            self.current = WavFileSource(self.path)

    async def close(self) -> None:
        await self.current.close()


class NoAudioSource(AudioSource):
    """A mic that is open but delivers nothing (idle: no audio flowing)."""

    self_clocked = True

    def __init__(self, sample_rate: int = 16000) -> None:
        self.sample_rate = sample_rate
        self.name = "no audio"
        self.description = "no audio (idle)"

    async def blocks(self) -> AsyncIterator[np.ndarray]:
        await asyncio.Event().wait()
        yield np.zeros(0, dtype=np.float32)

    async def close(self) -> None:
        return None


def fixture() -> str:
    return f"{repo_root()}/tests/data/speech_turns.wav"


# --- the voiceconsole process -------------------------------------------------------------------


def serve_app(url: str, idle: bool) -> int:
    """In the child: the real app on a live session, as ``voiceconsole`` runs it, until standard
    input closes. Prints ``STREAMING`` once mic levels flow (idle: once the session runs) and, at
    the end, ``TURNS <n>``: how many turns ended. Public API only."""
    from voiceconsole.events import AudioLevel, TurnEnd
    from voiceconsole.session.build import build_session
    from voiceconsole.session.threaded import SessionThread
    from voiceconsole.ui.app import VoiceConsoleApp

    settings = cartesia_settings(url, speaker="null", mic="silence" if idle else fixture())
    session = build_session(settings, hold_open=True)
    session.source = NoAudioSource() if idle else LoopedWavSource(fixture())
    streaming = threading.Event()
    turns = [0]

    def count(event: object) -> None:  # on the session's thread
        if isinstance(event, AudioLevel) and event.source == "mic":
            streaming.set()
        elif isinstance(event, TurnEnd):
            turns[0] += 1

    session.bus.add_listener(count)
    controller = SessionThread(session)
    app = VoiceConsoleApp(controller=controller, settings=settings, clock=session.clock)

    def watch() -> None:
        while not (controller.running and (idle or streaming.is_set())):
            time.sleep(0.01)
        os.write(1, b"STREAMING\n")  # to the descriptor: Textual captures sys.stdout while it runs
        while os.read(0, 4096):
            pass
        app.call_from_thread(app.exit)

    threading.Thread(target=watch, name="bench-stop", daemon=True).start()
    app.run()
    controller.request_stop("benchmark done")
    controller.join(timeout=20)
    os.write(1, f"TURNS {turns[0]}\n".encode())
    return 0


# --- measuring a tool from outside --------------------------------------------------------------


def render_env(stats_dir: str) -> dict[str, str]:
    """The environment both tools run in: same driver, size and colours."""
    env = dict(os.environ)
    env.update({
        "PYTHONPATH": repo_root() + os.pathsep + env.get("PYTHONPATH", ""),
        "TEXTUAL_DRIVER": "benchmarks.peer.render_driver:RenderDriver",
        "COLUMNS": str(COLUMNS), "LINES": str(LINES),
        "TERM": "xterm-256color", "COLORTERM": "truecolor", "TEXTUAL_COLOR_SYSTEM": "truecolor",
        "VC_BENCH_RENDER_DIR": stats_dir,
    })
    return env


def frames_drawn(stats_dir: str) -> tuple[int, int]:
    """(writes, bytes) the tool's processes sent to their terminal, from the driver's counts."""
    writes = size = 0
    for path in Path(stats_dir).glob("*.json"):
        data = json.loads(path.read_text())
        writes += data["writes"]
        size += data["bytes"]
    return writes, size


def measure_tool(cmd: list[str], warmup_s: float, window_s: float, windows: int = 1) -> dict[str, list[float]]:
    """Launch ``cmd`` (which prints ``STREAMING`` once audio flows), wait ``warmup_s``, then read
    the CPU of its process tree over ``windows`` windows of ``window_s``; stop it by closing its
    standard input. Returns shares of one core: ``total``, ``root`` (the launched process) and
    ``children`` (its descendants), one value per window, ``frames``/``bytes`` drawn and ``turns``
    (the ``TURNS <n>`` line the tool prints as it ends: how many turns it answered)."""
    with tempfile.TemporaryDirectory(prefix="vc-bench-render-") as stats_dir:
        return _measure_tool(cmd, warmup_s, window_s, windows, stats_dir)


def _measure_tool(cmd: list[str], warmup_s: float, window_s: float, windows: int, stats_dir: str) -> dict[str, list[float]]:
    log = tempfile.TemporaryFile(mode="w+")
    proc = subprocess.Popen(cmd, cwd=repo_root(), env=render_env(stats_dir), stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=log, text=True)
    seen: set[int] = {proc.pid}
    out: dict[str, list[float]] = {"total": [], "root": [], "children": []}
    try:
        ready = threading.Event()
        turns: list[float] = []

        def read_stdout() -> None:
            assert proc.stdout is not None
            for line in proc.stdout:
                if line.strip() == "STREAMING":
                    ready.set()
                elif line.startswith("TURNS "):
                    turns.append(float(line.split()[1]))

        reader = threading.Thread(target=read_stdout, daemon=True)
        reader.start()
        if not ready.wait(READY_TIMEOUT_S):
            log.seek(0)
            tail = (log.read().strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"{Path(cmd[1 if len(cmd) > 1 else 0]).name} did not start streaming "
                               f"in {READY_TIMEOUT_S:g} s (exit {proc.poll()}): {tail}")
        time.sleep(warmup_s)
        for _ in range(windows):
            c0, t0 = tree_cpu_seconds(proc.pid), time.monotonic()
            time.sleep(window_s)
            c1, t1 = tree_cpu_seconds(proc.pid), time.monotonic()
            seen.update(c1)
            # A process born inside the window counts from zero; one that ended inside it is lost
            # (neither tool starts or ends processes while it streams).
            delta = {pid: c1[pid] - c0.get(pid, 0.0) for pid in c1}
            wall = t1 - t0
            out["total"].append(sum(delta.values()) / wall)
            out["root"].append(delta.get(proc.pid, 0.0) / wall)
            out["children"].append(sum(v for pid, v in delta.items() if pid != proc.pid) / wall)
            if proc.pid not in c1:
                raise RuntimeError(f"{cmd[1]} ended while being measured")
    finally:
        stop(proc, seen)
        log.close()
    reader.join(5)
    writes, size = frames_drawn(stats_dir)
    out["frames"], out["bytes"], out["turns"] = [float(writes)], [float(size)], turns[-1:]
    return out


def started_at(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or ``None`` if it is gone: with the
    pid, this names one process even after the pid is reused."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def stop(proc: subprocess.Popen[str], seen: set[int]) -> None:
    """End the launched tool: close its standard input; if any process of its tree is still
    there after :data:`STOP_TIMEOUT_S`, kill it by pid (only those processes, each checked to be
    the one seen in the tree, not a later process given a reused pid)."""
    ours = {pid: started_at(pid) for pid in seen | set(tree_cpu_seconds(proc.pid))}
    try:
        assert proc.stdin is not None
        proc.stdin.close()
    except OSError:
        pass
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while time.monotonic() < deadline and any(t is not None and started_at(p) == t for p, t in ours.items()):
        time.sleep(0.1)
        proc.poll()
    for pid, start in ours.items():
        if start is not None and started_at(pid) == start:
            try:
                os.kill(pid, 9)
            except ProcessLookupError:
                pass
    proc.wait(10)


# --- the benchmark ------------------------------------------------------------------------------


def vc_command(url: str, idle: bool = False) -> list[str]:
    return [sys.executable, "-m", "benchmarks.bench_cpu", "--app", url] + (["--idle"] if idle else [])


def pct(values: list[float]) -> list[float]:
    return [100.0 * v for v in values]


def answered(runs: dict[str, list[float]], launches: int, tool: str) -> str:
    """How many turns the tool answered a launch; a launch that answered none did not stream,
    and its CPU figure would mean nothing, so that is an error."""
    turns = runs.get("turns", [])
    if len(turns) < launches or min(turns) < 1:
        raise RuntimeError(f"{tool} answered no turn in a launch (turns per launch: {turns}): it did not stream")
    return f"{min(turns):.0f}-{max(turns):.0f} turns answered a launch"


def streaming(quick: bool) -> list[Figure]:
    """voiceconsole and Tail, interleaved A B A B."""
    from benchmarks._cartesia import cartesia_server

    rounds, warmup_s, window_s = (1, 2.0, 4.0) if quick else (4, 3.0, 8.0)
    peer_missing = peer.missing()
    vc: dict[str, list[float]] = {}
    tail: dict[str, list[float]] = {}
    with cartesia_server(turn_every=4.0) as url:
        for _ in range(rounds):
            for key, value in measure_tool(vc_command(url), warmup_s, window_s).items():
                vc.setdefault(key, []).extend(value)
            if peer_missing is None:
                for key, value in measure_tool(peer.tail_command(fixture()), warmup_s, window_s).items():
                    tail.setdefault(key, []).extend(value)
    how = f"{rounds} launch{'es' if rounds > 1 else ''}, a {window_s:g} s window each after {warmup_s:g} s"
    vc_frames = f"{median(vc['frames']) / (warmup_s + window_s):.0f}"
    figures = [distribution(
        "CPU streaming with live meters: voiceconsole", "% core", pct(vc["total"]),
        note=f"every process of the tool; the speech fixture in real time, looped; {how}; "
             f"~{vc_frames} frames/s drawn at {COLUMNS}x{LINES}; {answered(vc, rounds, 'voiceconsole')}")]
    if peer_missing is not None:
        figures.append(Figure("CPU streaming with live meters: Tail: skipped", "", note=peer_missing))
        return figures
    tail_frames = f"{median(tail['frames']) / (warmup_s + window_s):.0f}"
    figures.append(distribution(
        "CPU streaming with live meters: Pipecat Tail", "% core", pct(tail["total"]),
        note=f"pipeline {median(pct(tail['root'])):.1f} + dashboard {median(pct(tail['children'])):.1f} "
             f"(medians); interleaved with voiceconsole; {how}; ~{tail_frames} frames/s drawn; "
             f"{answered(tail, rounds, 'Tail')}"))
    ratios = [a / b for a, b in zip(vc["total"], tail["total"]) if b > 0]
    figures.append(single(
        "CPU streaming: voiceconsole / Tail", "x", median(vc["total"]) / median(tail["total"]),
        target=RATIO_TARGET, note=f"ratio of the medians; per round {min(ratios):.2f}-{max(ratios):.2f}"))
    return figures


def idle(quick: bool) -> Figure:
    from benchmarks._cartesia import cartesia_server

    windows, warmup_s, window_s = (1, 2.0, 3.0) if quick else (4, 2.0, 4.0)
    # The scripted server counts the silence the STT client keeps the connection alive with as
    # audio and would script turns (and replies) into it; a real one hears none in silence.
    with cartesia_server() as url:
        shares = measure_tool(vc_command(url, idle=True), warmup_s, window_s, windows)["total"]
    return distribution("CPU: app idle (no mic stream)", "% core", pct(shares), target=IDLE_TARGET,
                        target_stat="median", note=f"median of {windows} windows of {window_s:g} s, every process")


def run(quick: bool) -> list[Figure]:
    return [*streaming(quick), idle(quick)]


def main() -> int:
    p = argparse.ArgumentParser(description="the voiceconsole side of the CPU benchmark (run by it)")
    p.add_argument("--app", metavar="URL", required=True, help="run the app on a live session against this server")
    p.add_argument("--idle", action="store_true", help="a mic that delivers nothing")
    args = p.parse_args()
    return serve_app(args.app, args.idle)


if __name__ == "__main__":
    sys.exit(main())
