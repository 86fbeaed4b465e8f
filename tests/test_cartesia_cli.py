"""The full CLI, headless, as a subprocess against the scripted Cartesia server on 127.0.0.1.

The server runs in the test's event loop while the subprocess is awaited
(``asyncio.create_subprocess_exec``), so both sides really talk over loopback.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path
from typing import Any

from tests.cartesia_server import CartesiaServer, WhisperSegment

ROOT = Path(__file__).resolve().parent.parent
SPEECH = ROOT / "tests" / "data" / "speech_turns.wav"
MANIFEST = json.loads((ROOT / "tests" / "data" / "speech_turns.json").read_text())
KEY = "sk_car_cli_8d3f2a91e4b7c6"


async def run_cli(*args: str, tmp: Path, key: str | None = KEY, timeout: float = 240) -> tuple[int, str, str]:
    env = {**os.environ, "VOICECONSOLE_CONFIG": str(tmp / "absent.toml"), "PYTHONUNBUFFERED": "1"}
    env.pop("CARTESIA_API_KEY", None)
    if key is not None:
        env["CARTESIA_API_KEY"] = key
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "voiceconsole", *args, cwd=str(ROOT), env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except asyncio.TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def read_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def turn_shapes(events: list[dict[str, Any]]) -> dict[int, list[str]]:
    shapes: dict[int, list[str]] = {}
    for e in events:
        if e["type"].startswith("turn.") and e["type"] != "turn.config":
            shapes.setdefault(e["turn"], []).append(e["type"])
    return shapes


def scan_for_key(key: str, *texts: str, directories: tuple[Path, ...] = ()) -> list[str]:
    """Where the key shows up: in the given texts or any file (bytes) under the directories."""
    found = [f"text {i}" for i, text in enumerate(texts) if key in text]
    needle = key.encode()
    for directory in directories:
        for path in directory.rglob("*"):
            if path.is_file() and needle in path.read_bytes():
                found.append(str(path))
    return found


async def test_turns_run_matches_the_offline_engine_shape_and_never_leaks_the_key(tmp_path: Path) -> None:
    # 1. The offline engine on the fixture gives the reference turns.
    local_events = tmp_path / "local.jsonl"
    code, _, err = await run_cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--stt", "local",
                                 "--tts", "local", "--events", str(local_events), tmp=tmp_path, key=None)
    assert code == 0, err
    local = read_events(local_events)
    reference = turn_shapes(local)
    assert len(reference) == len(MANIFEST["turns"])

    # 2. The scripted server says exactly those turns, at the audio times the offline engine said them.
    script = []
    for e in local:
        if e["type"].startswith("turn.") and e["type"] != "turn.config":
            message = {"type": e["type"], "request_id": "cli"}
            if "transcript" in e:
                message["transcript"] = e["transcript"]
            script.append((e["audio_t"], message))
    record = tmp_path / "rec"
    events = tmp_path / "cartesia.jsonl"
    async with CartesiaServer(api_key=KEY, turns_script=script) as server:
        code, out, err = await run_cli(
            "--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--stt", "cartesia-turns",
            "--stt-url", server.url, "--tts", "local", "--events", str(events), "--record", str(record), tmp=tmp_path)
    assert code == 0, err
    remote = read_events(events)
    assert turn_shapes(remote) == reference
    local_ends = [e["transcript"] for e in local if e["type"] == "turn.end"]
    assert [e["transcript"] for e in remote if e["type"] == "turn.end"] == local_ends
    # Replies were spoken for the turns (the pipeline behind the engine works too).
    assert len([e for e in remote if e["type"] == "tts.done"]) == len(local_ends)

    conn = server.connections[0]
    assert conn.path == "/stt/turns/websocket" and conn.close_command and conn.texts[-1] == '{"type":"close"}'
    assert conn.headers["X-API-Key"] == KEY
    states = [e["state"] for e in remote if e["type"] == "engine.state" and e["engine"] == "cartesia-turns"]
    assert states == ["connecting", "connected", "closed"]
    # Every turn.end arrived before the session stopped.
    assert remote[-1]["type"] == "session.stop"

    assert record.is_dir() and any(record.iterdir())
    leaks = scan_for_key(KEY, events.read_text(), out, err, directories=(record,))
    assert leaks == []


async def test_a_refused_key_stops_the_cli_with_one_clear_line(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    wrong = "sk_car_wrong_0000111122"
    async with CartesiaServer(api_key=KEY) as server:
        code, out, err = await run_cli(
            "--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--stt", "cartesia-turns",
            "--stt-url", server.url, "--tts", "local", "--events", str(events), tmp=tmp_path, key=wrong)
    assert code == 1
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("voiceconsole: error: cartesia-turns: the Cartesia API key was refused (HTTP 401)")
    assert len(server.attempts) == 1  # never retried
    errors = [e for e in read_events(events) if e["type"] == "engine.error"]
    assert len(errors) == 1 and errors[0]["fatal"] and errors[0]["hint"]
    assert scan_for_key(wrong, events.read_text(), out, err) == []


async def test_whisper_and_sonic_through_the_cli(tmp_path: Path) -> None:
    segments = [WhisperSegment(s["start_s"], s["end_s"], s["text"]) for s in MANIFEST["segments"]]
    events = tmp_path / "events.jsonl"
    record = tmp_path / "rec"
    async with CartesiaServer(api_key=KEY, whisper_segments=segments, tts_seconds_per_char=0.01) as server:
        code, out, err = await run_cli(
            "--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--stt", "cartesia-whisper",
            "--stt-url", server.url, "--tts", "cartesia", "--tts-url", server.url, "--tts-sample-rate", "16000",
            "--voice", "voice-under-test", "--events", str(events), "--record", str(record), tmp=tmp_path)
    assert code == 0, err
    evs = read_events(events)
    expected = ["".join(" " + MANIFEST["segments"][i]["text"] for i in t["segments"]) for t in MANIFEST["turns"]]
    assert [e["transcript"] for e in evs if e["type"] == "turn.end"] == expected
    assert [e["type"] for e in evs if e["type"] in ("transcript.final",)] == ["transcript.final"] * len(MANIFEST["segments"])
    for shape in turn_shapes(evs).values():
        assert shape[0] == "turn.start" and shape[-1] == "turn.end"
    done = [e for e in evs if e["type"] == "tts.done"]
    assert len(done) == len(expected) and all(e["duration_s"] > 0 for e in done)
    assert len([e for e in evs if e["type"] == "tts.words"]) == len(expected)
    tts_conn = [c for c in server.connections if c.path == "/tts/websocket"]
    assert len(tts_conn) == 1 and {r["voice"]["id"] for r in tts_conn[0].json_texts} == {"voice-under-test"}
    assert scan_for_key(KEY, events.read_text(), out, err, directories=(record,)) == []
