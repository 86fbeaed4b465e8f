"""LiveKit Agents' Cartesia plugin (``livekit-plugins-cartesia``), unmodified but for ``base_url``.

The plugin needs the whole ``livekit-agents`` runtime (native WebRTC, av, grpc, OpenTelemetry),
so ``scripts/setup.sh --test`` installs it into a venv of its own
(``$VC_LIVEKIT_VENV``, default ``~/.cache/voiceconsole/livekit-venv``) and these tests run the
plugin there as a subprocess against ``tap`` and ``serve`` running in the test's event loop:
STT (Ink-2 turns) with 100 ms frames of the bundled speech, and streaming TTS.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import pytest

from tests.cartesia_server import CartesiaServer
from tests.test_serve import DATA, fast, running
from voiceconsole.events import TtsDone, TurnEnd
from voiceconsole.serve.tap import TapBackend

VENV = Path(
    os.environ.get(
        "VC_LIVEKIT_VENV", Path.home() / ".cache" / "voiceconsole" / "livekit-venv"
    )
)
PYTHON = VENV / "bin" / "python"
KEY = "sk_car_livekit_test_5c9e"

CLIENT = r"""
import asyncio, hashlib, json, sys, wave
import aiohttp
from livekit import rtc
from livekit.plugins import cartesia

async def main(base, wav, seconds):
    out = {"stt": [], "tts_sha256": "", "tts_bytes": 0}
    async with aiohttp.ClientSession() as http:
        stt = cartesia.STT(api_key=KEY, base_url=base, http_session=http, model="ink-2", language="en")
        stream = stt.stream()
        with wave.open(wav) as w:
            pcm = w.readframes(int(seconds * 16000)) + bytes(32000)

        async def feed():
            for i in range(0, len(pcm), 3200):
                stream.push_frame(rtc.AudioFrame(data=pcm[i:i + 3200], sample_rate=16000, num_channels=1,
                                                 samples_per_channel=1600))
                await asyncio.sleep(0.01)
            stream.end_input()

        feeder = asyncio.create_task(feed())
        async for event in stream:
            text = event.alternatives[0].text if event.alternatives else None
            out["stt"].append([event.type.name, text])
        await feeder
        tts = cartesia.TTS(api_key=KEY, base_url=base, http_session=http, sample_rate=24000)
        synth = tts.stream()
        synth.push_text("Please hold while we try to connect you.")
        synth.end_input()
        audio = bytearray()
        async for chunk in synth:
            audio += bytes(chunk.frame.data)
        out["tts_bytes"] = len(audio)
        out["tts_sha256"] = hashlib.sha256(bytes(audio)).hexdigest()
    print(json.dumps(out))

KEY = sys.argv[4]
asyncio.run(main(sys.argv[1], sys.argv[2], float(sys.argv[3])))
"""

pytestmark = pytest.mark.skipif(
    not PYTHON.exists(),
    reason=f"LiveKit's plugin lives in {VENV}: run scripts/setup.sh --test",
)


async def livekit(base_ws: str, tmp: Path, seconds: float) -> dict[str, Any]:
    """Run the plugin against ``base_ws`` (its base URL is the http form of it)."""
    script = tmp / "livekit_client.py"
    script.write_text(CLIENT)
    proc = await asyncio.create_subprocess_exec(
        str(PYTHON),
        str(script),
        base_ws.replace("ws://", "http://"),
        str(DATA / "speech_turns.wav"),
        str(seconds),
        KEY,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 180)
    assert proc.returncode == 0, err.decode()[-2000:]
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_livekit_plugin_against_serve(tmp_path: Path) -> None:
    async with running(fast()) as (server, watched):
        got = await livekit(server.url, tmp_path, 4.0)
    finals = [text for kind, text in got["stt"] if kind == "FINAL_TRANSCRIPT"]
    assert len(finals) == 1 and "busy" in finals[0]
    assert got["stt"][0][0] == "START_OF_SPEECH"
    assert [e.transcript for e in watched.of(1, TurnEnd)] == finals
    assert 1.0 < got["tts_bytes"] / 2 / 24000 < 6.0
    assert [e.reply for e in watched.of(2, TtsDone)] == [1]


async def test_livekit_plugin_through_tap(tmp_path: Path) -> None:
    script = [
        (0.9, {"type": "turn.start", "request_id": "lk"}),
        (
            1.6,
            {"type": "turn.update", "transcript": "all circuits", "request_id": "lk"},
        ),
        (
            2.9,
            {
                "type": "turn.end",
                "transcript": "all circuits are busy now",
                "request_id": "lk",
            },
        ),
    ]
    async with (
        CartesiaServer(
            api_key=KEY, turns_script=script, tts_chunk_delay_s=0.005
        ) as upstream,
        running(TapBackend(upstream.url)) as (tap, watched),
    ):
        got = await livekit(tap.url, tmp_path, 3.2)
    turns, tts = upstream.connections[0], upstream.connections[1]
    sent = [json.loads(m) for m in turns.sent]
    assert [text for kind, text in got["stt"] if kind == "FINAL_TRANSCRIPT"] == [
        m["transcript"] for m in sent if m["type"] == "turn.end"
    ]
    assert [text for kind, text in got["stt"] if kind == "INTERIM_TRANSCRIPT"] == [
        m["transcript"] for m in sent if m["type"] == "turn.update"
    ]
    assert turns.headers["X-API-Key"] == KEY and turns.path == "/stt/turns/websocket"
    audio = b"".join(
        base64.b64decode(json.loads(m)["data"])
        for m in tts.sent
        if json.loads(m)["type"] == "chunk"
    )
    assert got["tts_sha256"] == hashlib.sha256(audio).hexdigest()
    assert [e.transcript for e in watched.of(1, TurnEnd)] == [
        "all circuits are busy now"
    ]
