"""The console on ``serve``: agents connect while it runs, each connection is a session, and the
session picker switches between them (Textual's pilot drives it as a user would)."""

from __future__ import annotations

import argparse
import asyncio
import json

from websockets.asyncio.client import connect

from tests.test_serve import (
    TURNS_QUERY,
    received,
    speech_pcm,
    stream,
    tts_request,
    tts_until_done,
)
from voiceconsole.serve.controller import WatchController
from voiceconsole.serve.offline import OfflineBackend
from voiceconsole.serve.runner import WatchRun
from voiceconsole.ui.sessions import SessionPicker, WatchConsoleApp


def watch_args(**options: object) -> argparse.Namespace:
    values = {
        "listen": "127.0.0.1:0",
        "record": None,
        "events": None,
        "no_ui": False,
        "theme": None,
    }
    values.update(options)
    return argparse.Namespace(**values)


async def wait_for(condition, pilot, timeout: float = 60.0) -> None:  # type: ignore[no-untyped-def]
    for _ in range(int(timeout / 0.05)):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError("the console never got there")


async def test_connections_are_sessions_and_the_picker_switches() -> None:
    controller = WatchController(WatchRun(OfflineBackend(burst_s=1000.0), watch_args()))
    app = WatchConsoleApp(controller)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(lambda: controller.watch_run.server.port != 0, pilot)
        url = controller.url
        async with connect(url + TURNS_QUERY) as stt:
            reader = asyncio.create_task(received(stt))
            await stream(stt, speech_pcm(4.0))
            await stt.send('{"type":"close"}')
            messages = await reader
        end = next(
            json.loads(m)["transcript"]
            for m in messages
            if json.loads(m)["type"] == "turn.end"
        )
        await wait_for(
            lambda: any(t.text == end for t in app.model.turns.values()), pilot
        )
        assert "#1 /stt/turns/websocket" in str(app.transcript.border_title)
        async with connect(url + "/tts/websocket") as tts:
            await tts.send(tts_request("c", "Hello there.", more=False))
            await tts_until_done(tts, {"c"})
        await wait_for(lambda: len(controller.hub.sessions) == 2, pilot)
        # the first session stays on screen until the user picks another
        assert (
            controller.selected is controller.hub.sessions[0] and not app.model.replies
        )
        await pilot.press("v")
        await wait_for(lambda: isinstance(app.screen, SessionPicker), pilot)
        await pilot.press("down", "enter")
        await wait_for(lambda: controller.selected is controller.hub.sessions[1], pilot)
        await wait_for(
            lambda: [r.text for r in app.model.replies.values()] == ["Hello there."],
            pilot,
        )
        assert not app.model.turns  # the other session's turns are gone from the screen
        assert "#2 /tts/websocket" in str(app.transcript.border_title)
        await pilot.press("n")
        await wait_for(
            lambda: any(t.text == end for t in app.model.turns.values()), pilot
        )
        await pilot.press("q")
    assert not controller.running
