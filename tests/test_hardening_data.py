"""Issue 18 §3: data is never destroyed. Recording directories are refused rather than
overwritten or followed through links, a file is never both read and written, two runs never
share a recording, and SIGTERM, SIGHUP and Ctrl-C (even while an engine connects) stop a run
cleanly: ``session.stop`` last, ``complete: true``, the terminal restored."""

from __future__ import annotations

import asyncio
import json
import os
import pty
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from tests.cartesia_server import CartesiaServer, Fault
from tests.test_cli import run_cli
from voiceconsole.audio.wavio import write_wav
from voiceconsole.engines.cartesia.protocol import RetryPolicy
from voiceconsole.engines.cartesia.stt_turns import CartesiaTurnsStt
from voiceconsole.errors import EngineUnavailable
from voiceconsole.events import EngineError, EngineState

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"
KEY = "sk_car_data_90ab12cd34ef"
WAIT_S = 120


def one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert out.returncode == 2, (out.returncode, out.stderr)
    lines = [line for line in out.stderr.splitlines() if line.strip()]
    assert (
        len(lines) == 1
        and lines[0].startswith("voiceconsole: error: ")
        and "Traceback" not in out.stderr
    ), out.stderr
    return lines[0]


@pytest.fixture
def short_wav(tmp_path: Path) -> Path:
    path = tmp_path / "short.wav"
    t = np.arange(16000) / 16000
    write_wav(path, (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 16000)
    return path


def run_file(wav: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(
        "--no-ui",
        "--mic",
        str(wav),
        "--fast",
        "--speaker",
        "null",
        "--stt",
        "local",
        "--tts",
        "local",
        *args,
    )


# --- recording directories -----------------------------------------------------------------------


def test_record_refuses_a_non_empty_directory_and_leaves_it_alone(
    tmp_path: Path, short_wav: Path
) -> None:
    target = tmp_path / "notes"
    target.mkdir()
    (target / "todo.txt").write_text("keep me")
    line = one_line(run_file(short_wav, "--record", str(target)))
    assert "not empty" in line and "todo.txt" in line
    assert (
        sorted(p.name for p in target.iterdir()) == ["todo.txt"]
        and (target / "todo.txt").read_text() == "keep me"
    )


def test_record_never_follows_a_planted_link(tmp_path: Path, short_wav: Path) -> None:
    victim = tmp_path / "victim.wav"
    victim.write_bytes(b"precious")
    target = tmp_path / "rec"
    target.mkdir()
    (target / "mic.wav").symlink_to(victim)
    line = one_line(run_file(short_wav, "--record", str(target)))
    assert "not empty" in line
    assert victim.read_bytes() == b"precious"
    # A directory that is itself a link is refused too.
    real = tmp_path / "real"
    real.mkdir()
    (tmp_path / "link").symlink_to(real, target_is_directory=True)
    line = one_line(run_file(short_wav, "--record", str(tmp_path / "link")))
    assert "symbolic link" in line and list(real.iterdir()) == []


def test_an_empty_existing_directory_is_recorded_into(
    tmp_path: Path, short_wav: Path
) -> None:
    target = tmp_path / "empty"
    target.mkdir()
    out = run_file(short_wav, "--record", str(target))
    assert out.returncode == 0, out.stderr
    assert {p.name for p in target.iterdir()} == {
        "events.jsonl",
        "mic.wav",
        "speaker.wav",
        "meta.json",
    }


def test_two_runs_recording_into_one_directory_one_wins(
    tmp_path: Path, short_wav: Path
) -> None:
    target = tmp_path / "shared"
    env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent"}
    args = [
        sys.executable,
        "-m",
        "voiceconsole",
        "--no-ui",
        "--mic",
        str(short_wav),
        "--fast",
        "--speaker",
        "null",
        "--stt",
        "local",
        "--tts",
        "local",
        "--record",
        str(target),
    ]
    procs = [
        subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=WAIT_S), p.communicate()[1]) for p in procs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    loser = next(err for code, err in results if code == 2)
    assert len(loser.strip().splitlines()) == 1 and "Traceback" not in loser
    assert (
        "already holds a recording" in loser
        or "not empty" in loser
        or "another run" in loser
    )
    meta = json.loads((target / "meta.json").read_text())
    assert meta["complete"] is True
    events = [
        json.loads(line) for line in (target / "events.jsonl").read_text().splitlines()
    ]
    assert [e["type"] for e in events].count("session.start") == 1 and events[-1][
        "type"
    ] == "session.stop"


@pytest.mark.parametrize(
    "layout",
    [
        "mic-in-record",
        "mic-is-speaker",
        "events-in-record",
        "speaker-links-to-mic",
        "script-is-events",
    ],
)
def test_a_file_is_never_both_read_and_written(
    tmp_path: Path, short_wav: Path, layout: str
) -> None:
    record = tmp_path / "D"
    if layout == "mic-in-record":
        record.mkdir()
        mic = record / "mic.wav"
        mic.write_bytes(short_wav.read_bytes())
        args = ("--mic", str(mic), "--record", str(record))
    elif layout == "mic-is-speaker":
        mic = tmp_path / "a.wav"
        mic.write_bytes(short_wav.read_bytes())
        args = ("--mic", str(mic), "--speaker", str(mic))
    elif layout == "events-in-record":
        mic = short_wav
        args = (
            "--mic",
            str(mic),
            "--events",
            str(record / "events.jsonl"),
            "--record",
            str(record),
        )
    elif layout == "speaker-links-to-mic":
        mic = tmp_path / "a.wav"
        mic.write_bytes(short_wav.read_bytes())
        (tmp_path / "b.wav").symlink_to(mic)
        args = ("--mic", str(mic), "--speaker", str(tmp_path / "b.wav"))
    else:
        mic = short_wav
        script = tmp_path / "lines.txt"
        script.write_text("hello\n")
        args = (
            "--mic",
            str(mic),
            "--responder",
            f"script:{script}",
            "--events",
            str(script),
        )
    before = mic.read_bytes()
    out = run_cli("--no-ui", "--fast", "--stt", "local", "--tts", "local", *args)
    line = one_line(out)
    assert "same file" in line or "inside the --record directory" in line
    assert mic.read_bytes() == before


# --- signals --------------------------------------------------------------------------------------


def _wait_for_events(
    path: Path, proc: subprocess.Popen[str], wanted: str, count: int = 1
) -> None:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count(f'"type":"{wanted}"') >= count:
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError(f"no {wanted} in {path}")


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=["TERM", "HUP", "INT"]
)
def test_a_headless_run_stops_cleanly_on_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    record = tmp_path / "rec"
    env = {**os.environ, "VOICECONSOLE_CONFIG": os.devnull + ".absent"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voiceconsole",
            "--no-ui",
            "--mic",
            str(SPEECH),
            "--speaker",
            "null",
            "--stt",
            "local",
            "--tts",
            "local",
            "--record",
            str(record),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for_events(
            record / "events.jsonl", proc, "audio.level", 5
        )  # real time: well inside the file
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "Traceback" not in err
    events = [
        json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()
    ]
    assert events[-1]["type"] == "session.stop"
    assert json.loads((record / "meta.json").read_text())["complete"] is True


def _read_all(
    fd: int, proc: subprocess.Popen[bytes], until: bytes | None, timeout: float
) -> bytes:
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                break
            if not chunk:
                break
            out += chunk
            if until is not None and until in out:
                return out
        elif proc.poll() is not None and until is None:
            break
    return out


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGHUP], ids=["TERM", "HUP"])
def test_the_console_restores_the_terminal_and_completes_the_recording_on_a_signal(
    tmp_path: Path, sig: signal.Signals
) -> None:
    record = tmp_path / "rec"
    env = {
        **os.environ,
        "VOICECONSOLE_CONFIG": os.devnull + ".absent",
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
    }
    primary, secondary = pty.openpty()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "voiceconsole",
            "--mic",
            str(SPEECH),
            "--speaker",
            "null",
            "--stt",
            "local",
            "--tts",
            "local",
            "--record",
            str(record),
        ],
        cwd=ROOT,
        env=env,
        stdin=secondary,
        stdout=secondary,
        stderr=secondary,
        start_new_session=True,
    )
    os.close(secondary)
    try:
        screen = _read_all(
            primary, proc, b"\x1b[?1049h", WAIT_S
        )  # the alternate screen is on
        assert b"\x1b[?1049h" in screen, screen[-2000:]
        _wait_for_events(record / "events.jsonl", proc, "audio.level", 3)  # type: ignore[arg-type]
        proc.send_signal(sig)
        rest = _read_all(primary, proc, None, WAIT_S)
        proc.wait(timeout=WAIT_S)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(primary)
    assert b"\x1b[?1049l" in rest  # alternate screen left
    assert b"\x1b[?25h" in rest  # cursor shown again
    assert b"\x1b[?1000l" in rest  # mouse reporting off
    assert b"Traceback" not in rest
    events = [
        json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()
    ]
    assert events[-1]["type"] == "session.stop"
    assert json.loads((record / "meta.json").read_text())["complete"] is True


async def test_ctrl_c_while_an_engine_is_still_connecting(
    tmp_path: Path, short_wav: Path
) -> None:
    record, events = tmp_path / "rec", tmp_path / "events.jsonl"
    env = {
        **os.environ,
        "VOICECONSOLE_CONFIG": str(tmp_path / "absent.toml"),
        "CARTESIA_API_KEY": KEY,
    }
    # The server accepts the websocket but never says "connected": the engine waits for it.
    async with CartesiaServer(
        api_key=KEY, faults=[Fault(no_connected=True)] * 5
    ) as server:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "voiceconsole",
            "--no-ui",
            "--mic",
            str(short_wav),
            "--fast",
            "--speaker",
            "null",
            "--stt",
            "cartesia-turns",
            "--stt-url",
            server.url,
            "--tts",
            "local",
            "--events",
            str(events),
            "--record",
            str(record),
            cwd=str(ROOT),
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            while not server.connections:
                assert proc.returncode is None
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGINT)
            _, err = await asyncio.wait_for(proc.communicate(), WAIT_S)
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
    text = err.decode()
    assert proc.returncode == 0, text
    assert "Traceback" not in text
    assert len(server.connections) == 1  # no further attempt after the stop
    recorded = [
        json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()
    ]
    assert (
        recorded[-1]["type"] == "session.stop"
        and recorded[-1]["reason"] == "interrupted"
    )
    assert json.loads((record / "meta.json").read_text())["complete"] is True


# --- Retry-After ---------------------------------------------------------------------------------


class Collect:
    def __init__(self) -> None:
        self.events: list[object] = []

    def __call__(self, event_type: type, /, **fields: object) -> object:
        event = event_type(t=0.0, audio_t=0.0, **fields)
        self.events.append(event)
        return event


async def test_retry_after_is_capped_and_the_final_message_does_not_say_retrying() -> (
    None
):
    policy = RetryPolicy(
        initial_s=0.01,
        max_s=0.05,
        rate_limit_min_s=0.05,
        retry_after_max_s=0.2,
        start_attempts=3,
    )
    faults = [Fault(reject_status=429, retry_after="3600")] * 3
    async with CartesiaServer(api_key=KEY, faults=faults) as server:
        rec = Collect()
        engine = CartesiaTurnsStt(api_key=KEY, base_url=server.url, policy=policy)
        with pytest.raises(EngineUnavailable) as caught:
            await engine.start(rec)
    assert server.rejected == [429, 429, 429]
    waits = [
        e.detail
        for e in rec.events
        if isinstance(e, EngineState) and e.state == "reconnecting"
    ]
    assert len(waits) == 2 and all(" in 0.2 s" in w for w in waits), waits  # not 3600 s
    final = str(caught.value)
    assert (
        "HTTP 429" in final
        and "gave up" in final
        and "retrying" not in final
        and "backing off" not in final
    )
    fatal = [e for e in rec.events if isinstance(e, EngineError) and e.fatal]
    assert len(fatal) == 1 and "retrying" not in fatal[0].hint


async def test_quitting_the_console_while_an_engine_is_still_connecting(
    tmp_path: Path, short_wav: Path
) -> None:
    record = tmp_path / "rec"
    env = {
        **os.environ,
        "VOICECONSOLE_CONFIG": str(tmp_path / "absent.toml"),
        "CARTESIA_API_KEY": KEY,
        "TERM": "xterm-256color",
        "COLUMNS": "120",
        "LINES": "40",
    }
    async with CartesiaServer(
        api_key=KEY, faults=[Fault(no_connected=True)] * 5
    ) as server:
        primary, secondary = pty.openpty()
        proc = subprocess.Popen(  # noqa: ASYNC220 (spawning does not wait; the pty is read off the loop)
            [
                sys.executable,
                "-m",
                "voiceconsole",
                "--mic",
                str(short_wav),
                "--speaker",
                "null",
                "--stt",
                "cartesia-turns",
                "--stt-url",
                server.url,
                "--tts",
                "local",
                "--record",
                str(record),
            ],
            cwd=ROOT,
            env=env,
            stdin=secondary,
            stdout=secondary,
            stderr=secondary,
            start_new_session=True,
        )
        os.close(secondary)
        loop = asyncio.get_running_loop()
        try:
            screen = await loop.run_in_executor(
                None, _read_all, primary, proc, b"\x1b[?1049h", WAIT_S
            )
            assert b"\x1b[?1049h" in screen
            while (
                not server.connections
            ):  # the engine is waiting for "connected", which never comes
                assert proc.poll() is None
                await asyncio.sleep(0.05)
            os.write(primary, b"q")
            rest = await loop.run_in_executor(
                None, _read_all, primary, proc, None, WAIT_S
            )
            code = await loop.run_in_executor(None, proc.wait, WAIT_S)
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(primary)
    assert code == 0 and b"\x1b[?1049l" in rest and b"Traceback" not in rest
    assert len(server.connections) == 1
    events = [
        json.loads(line) for line in (record / "events.jsonl").read_text().splitlines()
    ]
    assert events[-1]["type"] == "session.stop"
    assert json.loads((record / "meta.json").read_text())["complete"] is True
