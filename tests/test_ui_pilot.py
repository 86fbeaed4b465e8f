"""The console driving a real Session (scripted engines from tests/fakes.py) through its keys."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.fakes import EdgeVad, ScriptedStt, ToneTts
from tests.screen import screen_text as _screen_text
from voiceconsole.audio.io import NullSink, SilenceSource
from voiceconsole.clock import RealClock
from voiceconsole.engines.base import SttEngine
from voiceconsole.events import Event
from voiceconsole.session.responder import EchoResponder
from voiceconsole.session.session import Session, SessionOptions
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WAIT_S = 20.0  # generous: the machine may be loaded; nothing here measures speed


def live_session(script: list[tuple[float, str, str]] | None = None, *, stt: SttEngine | None = None,
                 ) -> tuple[Session, list[Event]]:
    """A real-time session on a silent mic that stays open until stopped; its STT engine answers
    with ``script``, unless another engine is given."""
    session = Session(
        source=SilenceSource(16000, duration_s=0.5),
        sink=NullSink(16000),
        stt=stt if stt is not None else ScriptedStt(list(script or [])),
        tts=ToneTts(seconds_per_char=0.05),
        responder=EchoResponder(),
        reference_vad=EdgeVad([]),
        clock=RealClock(),
        options=SessionOptions(hold_open=True),
    )
    events: list[Event] = []
    session.bus.add_listener(events.append)
    return session, events


async def wait_for(pilot, events: list[Event], predicate: Callable[[Event], bool]) -> Event:
    """Let the app run until an event matching ``predicate`` has been published."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT_S
    while loop.time() < deadline:
        for event in events:
            if predicate(event):
                return event
        await pilot.pause(0.02)
    raise AssertionError(f"no matching event within {WAIT_S} s; saw {[e.type for e in events][-15:]}")


def make_app(session: Session) -> VoiceConsoleApp:
    return VoiceConsoleApp(controller=session, clock=session.clock, themes=THEMES)


async def type_line(pilot, text: str) -> None:
    await pilot.press("s")
    await pilot.pause()
    for char in text:
        await pilot.press("space" if char == " " else char)
    await pilot.press("enter")


async def test_typed_text_is_queued_and_spoken() -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        await type_line(pilot, "hi there")
        queued = await wait_for(pilot, events, lambda e: e.type == "tts.queued")
        assert queued.text == "hi there" and queued.origin == "user"
        await wait_for(pilot, events, lambda e: e.type == "playback.finish")
        await pilot.pause()
        app.flush()
        assert app.model.replies[queued.reply].state == "done"
        assert "hi there" in _screen_text(app)
        await pilot.press("q")
        await wait_for(pilot, events, lambda e: e.type == "session.stop")


async def test_interrupt_key_silences_the_reply() -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        reply = session.say("a long reply that keeps playing until someone interrupts it for sure")
        await wait_for(pilot, events, lambda e: e.type == "playback.start")
        await pilot.press("i")
        command = await wait_for(pilot, events, lambda e: e.type == "command.interrupt")
        cut = await wait_for(pilot, events, lambda e: e.type == "playback.interrupt")
        assert command.reason == "key"
        assert cut.reply == reply and cut.samples_played > 0
        assert not session.playback.busy
        assert not any(e.type == "playback.finish" for e in events)
        await pilot.pause()
        app.flush()
        assert app.model.replies[reply].interrupted
        assert any(m.kind == "interrupt" for m in app.model.reply_marks)
        await pilot.press("q")
        await wait_for(pilot, events, lambda e: e.type == "session.stop")


async def test_mute_and_barge_in_keys_reach_the_session() -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        await pilot.press("m")
        await wait_for(pilot, events, lambda e: e.type == "command.mute" and e.muted)
        assert session.muted
        await pilot.pause()
        assert "mic muted" in _screen_text(app)
        await pilot.press("m")
        await wait_for(pilot, events, lambda e: e.type == "command.mute" and not e.muted)
        assert not session.muted
        assert session.options.auto_barge_in
        await pilot.press("b")
        assert not session.options.auto_barge_in
        await pilot.pause()
        assert "barge-in off" in _screen_text(app)
        await pilot.press("q")


async def test_quit_stops_the_session_and_closes_the_engines() -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        await pilot.press("q")
        stop = await wait_for(pilot, events, lambda e: e.type == "session.stop")
        assert stop.reason == "quit"
    assert session.stt.closed and session.tts.closed
    assert not session.running
    assert app.return_code == 0


async def test_turns_from_the_engine_reach_transcript_timeline_and_metrics() -> None:
    script = [(0.2, "start", ""), (0.3, "update", "hello"), (0.4, "eager_end", "hello"), (0.5, "end", "hello")]
    session, events = live_session(script)
    session.reference_vad = EdgeVad([(0.1, "start"), (0.35, "stop")])
    app = make_app(session)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "playback.finish")
        await pilot.pause()
        app.flush()
        text = _screen_text(app)
        assert "turn 1" in text and "hello" in text
        [turn] = app.model.metrics.turns()
        assert turn.end_of_turn_delay is not None and turn.end_of_turn_delay > 0
        assert [m.kind for m in app.model.turn_marks] == ["start", "update", "eager_end", "end"]
        assert app.model.replies[1].state == "done"
        await pilot.press("q")


async def test_help_screen_opens_and_closes() -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert "interrupt: silence the reply" in _screen_text(app)
        await pilot.press("escape")
        await pilot.pause()
        assert "interrupt: silence the reply" not in _screen_text(app)
        await pilot.press("q")


@pytest.mark.parametrize("key,attr,expected", [("p", "follow", False), ("minus", "zoom_ms", 100), ("plus", "zoom_ms", 20)])
async def test_timeline_keys(key: str, attr: str, expected: object) -> None:
    session, events = live_session()
    app = make_app(session)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press(key)
        await pilot.pause()
        assert getattr(app.query_one("#timeline"), attr) == expected
        await pilot.press("q")




async def test_a_short_terminal_keeps_the_essential_lanes_and_a_tall_one_all() -> None:
    from voiceconsole.ui.app import COMPACT_LANES
    from voiceconsole.ui.lanes import LANES

    app = VoiceConsoleApp(None, themes=THEMES)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        shown = [lane.name for lane in app.timeline.lanes]
        assert set(shown) <= COMPACT_LANES and {"mic", "turn", "reply"} <= set(shown)
        assert app.timeline.size.height == len(shown) + 1
        assert app.query_one("#queue").size.height >= 3  # the TTS queue keeps rows of its own
        await pilot.resize_terminal(160, 48)
        await pilot.pause()
        assert app.timeline.lanes == LANES
        assert app.timeline.size.height == len(LANES) + 1
