"""Snapshots of the console on ``tap``: a tapped session, and the session picker.

The connections are made of frames fed to the watched sessions on a virtual clock (the bundled
speech streamed by the agent, the server's turn messages at fixed points of that audio, a TTS
context with its audio), so every run draws the same screen. Regenerate after a deliberate UI
change with ``python -m pytest tests/test_serve_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import argparse
import base64
import json

import numpy as np

from tests.test_serve import CHUNK, speech_pcm
from tests.test_ui_snapshots import THEMES, WIDE, settle
from voiceconsole.clock import VirtualClock
from voiceconsole.serve.controller import WatchController
from voiceconsole.serve.routes import parse_request
from voiceconsole.serve.runner import WatchRun
from voiceconsole.serve.tap import TapBackend
from voiceconsole.ui.sessions import WatchConsoleApp

LISTEN = "127.0.0.1:8765"
TURNS = [
    (0.9, {"type": "turn.start"}),
    (1.6, {"type": "turn.update", "transcript": "all circuits"}),
    (2.3, {"type": "turn.eager_end", "transcript": "all circuits are busy"}),
    (2.5, {"type": "turn.resume"}),
    (2.9, {"type": "turn.end", "transcript": "all circuits are busy now"}),
    (4.4, {"type": "turn.start"}),
    (5.2, {"type": "turn.update", "transcript": "please hold"}),
]


def tapped_console() -> WatchConsoleApp:
    """Two tapped connections: an Ink-2 turns stream (shown) and a TTS socket."""
    clock = VirtualClock()
    run = WatchRun(
        TapBackend(), argparse.Namespace(listen=LISTEN, record=None, events=None)
    )
    run.hub.clock = lambda: clock
    run.hub.watch_in_thread = False  # the frames below are watched as they are fed
    controller = WatchController(
        run, serve=False
    )  # the sessions below are all there is
    turns = run.hub.open(
        parse_request(
            "/stt/turns/websocket?model=ink-2&encoding=pcm_s16le&sample_rate=16000", {}
        )
    )
    turns.server_frame(json.dumps({"type": "connected", "request_id": "req-1"}))
    pcm = speech_pcm(5.6)
    script = list(TURNS)
    for i in range(0, len(pcm), CHUNK):
        turns.client_frame(pcm[i : i + CHUNK])
        clock.advance(CHUNK / 32000)
        while script and script[0][0] <= turns.audio_t:
            turns.server_frame(json.dumps(script.pop(0)[1]))
    tts = run.hub.open(parse_request("/tts/websocket", {}))
    request = {
        "model_id": "sonic-3",
        "transcript": "All circuits are busy, please hold.",
        "context_id": "ctx-1",
        "voice": {"mode": "id", "id": "a0e99841"},
        "continue": False,
        "add_timestamps": True,
        "output_format": {
            "container": "raw",
            "encoding": "pcm_s16le",
            "sample_rate": 24000,
        },
    }
    tts.client_frame(json.dumps(request))
    tone = (
        (0.3 * np.sin(2 * np.pi * 220 * np.arange(2400) / 24000) * 32767)
        .astype("<i2")
        .tobytes()
    )
    for _ in range(10):
        clock.advance(0.1)
        tts.server_frame(
            json.dumps(
                {
                    "type": "chunk",
                    "context_id": "ctx-1",
                    "data": base64.b64encode(tone).decode(),
                }
            )
        )
    tts.server_frame(json.dumps({"type": "done", "done": True, "context_id": "ctx-1"}))
    return WatchConsoleApp(controller, themes=THEMES)


def test_tapped_session(snap_compare) -> None:
    assert snap_compare(tapped_console(), terminal_size=WIDE, run_before=settle)


def test_session_picker(snap_compare) -> None:
    async def open_picker(pilot) -> None:
        await pilot.press("v")
        await settle(pilot)

    assert snap_compare(tapped_console(), terminal_size=WIDE, run_before=open_picker)


async def test_the_help_lists_the_watch_keys() -> None:
    from tests.screen import screen_text

    app = tapped_console()
    async with app.run_test(size=WIDE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        text = screen_text(app)
        assert "Watching agents" in text and "session picker: every connection" in text
        assert "zoom the timeline in / out" in text  # the console's own keys follow
