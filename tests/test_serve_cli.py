"""``voiceconsole serve`` and ``voiceconsole tap`` run headless as a user runs them in CI.

The command runs as a subprocess on a free loopback port (``--listen 127.0.0.1:0``; the port is
read from its first line), clients talk to it, SIGINT stops it; then the ``--events`` log and the
``--record`` recordings are read back, by ``report`` and ``replay`` too. The key a client sends
appears nowhere: not in the output, the log or a recording.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

from tests.cartesia_server import CartesiaServer
from tests.test_serve import (
    TURNS_QUERY,
    received,
    speech_pcm,
    stream,
    tts_request,
    tts_until_done,
)

ROOT = Path(__file__).resolve().parent.parent
KEY = "sk_car_cli_watch_test_91f2"


@asynccontextmanager
async def command(*args: str, tmp: Path) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """Run ``voiceconsole ARGS --no-ui --listen 127.0.0.1:0``; yields its URL and, once it has
    stopped (SIGINT on leaving), its ``stdout``/``stderr``/``returncode`` in the dict."""
    env = {
        **os.environ,
        "VOICECONSOLE_CONFIG": str(tmp / "absent.toml"),
        "PYTHONUNBUFFERED": "1",
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
        cwd=str(ROOT),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    result: dict[str, str] = {}
    try:
        first = (await asyncio.wait_for(proc.stdout.readline(), 60)).decode()
        assert first.startswith("listening on ws://127.0.0.1:"), first
        yield first.split()[2], result
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGINT)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        result.update(
            stdout=first + out.decode(),
            stderr=err.decode(),
            returncode=str(proc.returncode),
        )


def tagged_events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def run(*args: str) -> tuple[int, str, str]:
    import subprocess

    out = subprocess.run(
        [sys.executable, "-m", "voiceconsole", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    return out.returncode, out.stdout, out.stderr


def files_holding(directory: Path, text: str) -> list[Path]:
    return [
        p
        for p in directory.rglob("*")
        if p.is_file() and text.encode() in p.read_bytes()
    ]


async def test_serve_headless_logs_and_records_each_connection(tmp_path: Path) -> None:
    events, record = tmp_path / "events.jsonl", tmp_path / "rec"
    bearer = {"Authorization": f"Bearer {KEY}"}
    async with (
        command(
            "serve", "--events", str(events), "--record", str(record), tmp=tmp_path
        ) as (url, result),
        connect(url + TURNS_QUERY, additional_headers={"X-API-Key": KEY}) as stt,
        connect(url + "/tts/websocket", additional_headers=bearer) as tts,
    ):
        reader = asyncio.create_task(received(stt))
        await tts.send(tts_request("c1", "Please hold.", more=False))
        await tts_until_done(tts, {"c1"})
        await stream(stt, speech_pcm(4.0))
        await stt.send('{"type":"close"}')
        stt_messages = await reader
    assert result["returncode"] == "0", result["stderr"]
    assert "session 1: /stt/turns/websocket opened" in result["stdout"]
    assert "session 1: /stt/turns/websocket closed (1000)" in result["stdout"]
    assert "session 2: /tts/websocket opened" in result["stdout"]
    logged = tagged_events(events)
    assert {e["session"] for e in logged} == {1, 2}
    ends = [
        json.loads(m)["transcript"]
        for m in stt_messages
        if json.loads(m)["type"] == "turn.end"
    ]
    assert [
        e["transcript"] for e in logged if e["session"] == 1 and e["type"] == "turn.end"
    ] == ends
    assert [
        e["type"] for e in logged if e["session"] == 2 and e["type"].startswith("tts.")
    ][:2] == ["tts.queued", "tts.request_sent"]
    # each connection is a normal recording: report and replay read it
    assert sorted(p.name for p in record.iterdir()) == ["001-turns", "002-tts"]
    code, out, err = run("report", str(record / "001-turns"), "--json")
    assert code == 0, err
    report = json.loads(out)
    turns = report["turns"] if "turns" in report else report["timelines"][0]["turns"]
    assert [t["transcript"] for t in turns] == ends
    code, out, err = run("replay", str(record / "001-turns"), "--no-ui", "--speed", "0")
    assert code == 0, err
    assert (
        out.splitlines()
        == (record / "001-turns" / "events.jsonl").read_text().splitlines()
    )
    meta = json.loads((record / "001-turns" / "meta.json").read_text())
    assert meta["complete"] and meta["audio"]["mic"]["frames"] > 4.0 * 16000
    assert files_holding(tmp_path, KEY) == []
    assert KEY not in result["stdout"] + result["stderr"]


async def test_tap_headless_forwards_with_the_clients_key_and_never_keeps_it(
    tmp_path: Path,
) -> None:
    script = [
        (1.0, {"type": "turn.start"}),
        (2.0, {"type": "turn.end", "transcript": "all circuits are busy now"}),
    ]
    events, record = tmp_path / "events.jsonl", tmp_path / "rec"
    options = ("--events", str(events), "--record", str(record))
    async with (
        CartesiaServer(api_key=KEY, turns_script=script) as upstream,
        command("tap", "--upstream", upstream.url, *options, tmp=tmp_path) as (
            url,
            result,
        ),
        connect(url + TURNS_QUERY, additional_headers={"X-API-Key": KEY}) as ws,
    ):
        reader = asyncio.create_task(received(ws))
        await stream(ws, speech_pcm(2.5))
        await ws.send('{"type":"close"}')
        got = await reader
    assert result["returncode"] == "0", result["stderr"]
    assert got == upstream.connections[0].sent
    logged = tagged_events(events)
    assert [e["transcript"] for e in logged if e["type"] == "turn.end"] == [
        "all circuits are busy now"
    ]
    start = next(e for e in logged if e["type"] == "session.start")
    assert (
        start["settings"]["key_given"] is True and start["settings"]["watch"] == "tap"
    )
    assert files_holding(tmp_path, KEY) == []
    assert KEY not in result["stdout"] + result["stderr"]


def test_bad_options_are_one_line() -> None:
    for args, message in (
        (["serve", "--listen", "nowhere"], "--listen 'nowhere': give HOST:PORT"),
        (
            ["tap", "--upstream", "ftp://example.org"],
            "--upstream 'ftp://example.org': give a websocket URL",
        ),
        (["serve", "--max-sessions", "0"], "--max-sessions must be at least 1"),
    ):
        code, _, err = run(*args, "--no-ui")
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(
            f"voiceconsole: error: {message}"
        ), err
