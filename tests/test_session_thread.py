"""The console driving a Session that runs on its own thread (what ``voiceconsole`` does)."""

from __future__ import annotations

import threading

from tests.test_ui_pilot import THEMES, _screen_text, live_session, type_line, wait_for
from voiceconsole.events import AudioLevel, Event
from voiceconsole.session.threaded import SessionThread
from voiceconsole.ui.app import VoiceConsoleApp


def threaded_app() -> tuple[SessionThread, list[Event], VoiceConsoleApp]:
    session, events = live_session()
    controller = SessionThread(session)
    return controller, events, VoiceConsoleApp(controller=controller, clock=session.clock, themes=THEMES)


async def test_the_session_runs_on_its_own_thread_and_events_reach_the_ui_thread_in_order() -> None:
    controller, events, app = threaded_app()
    seen: list[tuple[str, str]] = []
    controller.session.bus.add_listener(lambda e: seen.append((threading.current_thread().name, e.type)))
    async with app.run_test(size=(120, 40)) as pilot:
        fed: list[tuple[str, Event]] = []
        feed = app.feed
        app.feed = lambda e: (fed.append((threading.current_thread().name, e)), feed(e))  # type: ignore[method-assign]
        controller.bus.remove_listener(feed)
        controller.bus.add_listener(app.feed)
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        await type_line(pilot, "hello there")
        await wait_for(pilot, events, lambda e: e.type == "playback.finish")
        await pilot.pause(0.1)
        assert {name for name, _ in seen} == {"vc-session"}
        assert {name for name, _ in fed} == {threading.current_thread().name}
        delivered = [e for _, e in fed]
        assert delivered == events[events.index(delivered[0]) : events.index(delivered[0]) + len(delivered)]
        app.flush()
        assert "hello there" in _screen_text(app)
        await pilot.press("q")
        await wait_for(pilot, events, lambda e: e.type == "session.stop")


async def test_keys_reach_the_threaded_session() -> None:
    controller, events, app = threaded_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        await pilot.press("m")
        await wait_for(pilot, events, lambda e: e.type == "command.mute" and e.muted)
        assert controller.muted
        await pilot.pause(0.1)
        assert "mic muted" in _screen_text(app)
        controller.say("a long reply that keeps playing until someone interrupts it for sure")
        await wait_for(pilot, events, lambda e: e.type == "playback.start")
        await pilot.press("i")
        cut = await wait_for(pilot, events, lambda e: e.type == "playback.interrupt")
        assert cut.samples_played > 0
        await pilot.press("q")


async def test_quit_stops_the_threaded_session_closes_the_engines_and_ends_its_thread() -> None:
    controller, events, app = threaded_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        assert controller.running
        await pilot.press("q")
        stop = await wait_for(pilot, events, lambda e: e.type == "session.stop")
        assert stop.reason == "quit"
    session = controller.session
    assert session.stt.closed and session.tts.closed
    assert not session.running
    assert not any(t.name == "vc-session" for t in threading.enumerate())
    assert app.return_code == 0


async def test_events_emitted_in_one_turn_of_the_session_loop_wake_the_consumer_once() -> None:
    import asyncio
    import time

    from voiceconsole.events import AudioLevel
    from voiceconsole.session.bus import EventBus
    from voiceconsole.session.threaded import ThreadedEvents

    bus = EventBus()
    events = ThreadedEvents(bus)
    got: list[tuple[str, Event]] = []
    events.add_listener(lambda e: got.append((threading.current_thread().name, e)))
    drains: list[int] = []
    drain = events.drain
    events.drain = lambda: (drains.append(len(events._pending)), drain())  # type: ignore[method-assign]
    sent = [AudioLevel(t=i * 0.02, audio_t=i * 0.02, source="mic", rms_dbfs=-30.0, peak_dbfs=-20.0) for i in range(6)]

    def session_thread() -> None:
        async def burst(part: list[Event]) -> None:
            for event in part:  # one turn of the session's loop: one wake at its end
                bus.publish(event)
                time.sleep(0.01)  # work that lets go of the GIL (as the VAD's native call does)
            await asyncio.sleep(0.05)

        async def main() -> None:
            await burst(sent[:3])
            await burst(sent[3:])

        asyncio.run(main())

    worker = threading.Thread(target=session_thread, name="vc-session")
    worker.start()
    while worker.is_alive() or len(got) < len(sent):
        await asyncio.sleep(0.01)
    worker.join()
    assert [e for _, e in got] == sent
    assert {name for name, _ in got} == {threading.current_thread().name}
    assert drains == [3, 3]


async def test_level_readings_delivered_lazily_wait_for_a_drain_or_the_next_other_event_in_order() -> None:
    import asyncio

    from voiceconsole.events import AudioLevel, TurnStart
    from voiceconsole.session.bus import EventBus
    from voiceconsole.session.threaded import ThreadedEvents

    bus = EventBus()
    events = ThreadedEvents(bus)
    got: list[Event] = []
    events.add_listener(got.append)
    events.deliver_lazily({AudioLevel})
    levels = [AudioLevel(t=i * 0.02, audio_t=i * 0.02, source="mic", rms_dbfs=-30.0, peak_dbfs=-20.0) for i in range(4)]
    turn = TurnStart(t=0.1, audio_t=0.1, turn=1)

    def publish(batch: list[Event]) -> None:
        worker = threading.Thread(target=lambda: [bus.publish(e) for e in batch], name="vc-session")
        worker.start()
        worker.join()

    publish(levels[:2])
    await asyncio.sleep(0.1)
    assert got == []  # nothing woke this loop
    events.drain()  # the console's frame
    assert got == levels[:2]
    publish([levels[2], turn, levels[3]])
    for _ in range(100):
        if len(got) == 5:
            break
        await asyncio.sleep(0.01)
    assert got == [*levels[:2], levels[2], turn, levels[3]]  # the turn brought the levels with it, in order


async def test_the_console_takes_level_readings_in_at_each_frame() -> None:
    controller, events, app = threaded_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, events, lambda e: e.type == "session.start")
        assert AudioLevel in controller.bus.lazily_delivered  # the app asked for it
        await wait_for(pilot, events, lambda e: e.type == "audio.level" and e.source == "mic")
        await pilot.pause(0.3)  # several frames
        emitted = [e for e in events if e.type == "audio.level" and e.source == "mic"]
        assert app.model.last_level.get("mic") is not None
        assert app.model.now_audio_t >= emitted[0].audio_t
        await pilot.press("q")


CONTROLLER_MEMBERS = {
    "interrupt", "set_muted", "say", "update_turn_settings", "request_stop", "run",
    "muted", "running", "clock", "options", "meters", "bus",
}


def test_a_session_and_a_session_thread_are_both_controllers_with_every_member() -> None:
    import inspect

    from tests.test_session import make_session
    from voiceconsole.session.controller import (
        BargeInOptions,
        BatchedEventSource,
        ClockReader,
        Controller,
        EventSource,
        Meters,
        MeterSlotReader,
    )

    assert {name for name in vars(Controller) if not name.startswith("_")} == CONTROLLER_MEMBERS
    session, _ = make_session()
    thread = SessionThread(session)
    for controller in (session, thread):
        assert isinstance(controller, Controller), type(controller).__name__
        for name in CONTROLLER_MEMBERS:
            declared = getattr(Controller, name)
            if isinstance(declared, property):
                assert not callable(getattr(controller, name)), name
                continue
            implemented = getattr(controller, name)
            assert inspect.iscoroutinefunction(implemented) == inspect.iscoroutinefunction(declared), name
            wanted = list(inspect.signature(declared).parameters)[1:]  # without self
            assert list(inspect.signature(implemented).parameters) == wanted, name
        assert isinstance(controller.clock, ClockReader) and isinstance(controller.clock.now(), float)
        assert isinstance(controller.options, BargeInOptions)
        assert isinstance(controller.meters, Meters)
        for slot in (controller.meters.mic, controller.meters.speaker):
            assert isinstance(slot, MeterSlotReader) and slot.take_levels() == (slot.rms_dbfs, slot.peak_dbfs)
        assert isinstance(controller.bus, EventSource)
        assert controller.muted is False and controller.running is False
    assert isinstance(thread.bus, BatchedEventSource) and not isinstance(session.bus, BatchedEventSource)

    class NoRun:  # a stand-in that lacks a member is not a controller
        def __init__(self) -> None:
            for name in CONTROLLER_MEMBERS - {"run"}:
                setattr(self, name, getattr(session, name))

    assert not isinstance(NoRun(), Controller)


def test_bad_turn_settings_given_to_a_session_thread_fail_at_once_in_the_caller() -> None:
    import pytest

    from tests.test_session import make_session
    from voiceconsole.engines.base import TurnSettings

    session, _ = make_session()
    thread = SessionThread(session)
    with pytest.raises(ValueError, match="eager end silence"):
        thread.update_turn_settings(TurnSettings(eager_end_silence_ms=900, end_silence_ms=800))


async def test_a_session_thread_lowers_the_switch_interval_while_it_runs_and_restores_it_after() -> None:
    import sys

    from tests.test_session import make_session
    from voiceconsole.session.threaded import SWITCH_INTERVAL_S

    session, _ = make_session()
    during: list[float] = []
    session.bus.add_listener(lambda e: during.append(sys.getswitchinterval()))
    before = sys.getswitchinterval()
    assert before > SWITCH_INTERVAL_S
    await SessionThread(session).run()
    assert during and set(during) == {SWITCH_INTERVAL_S}
    assert sys.getswitchinterval() == before
    untouched, _ = make_session()
    seen: list[float] = []
    untouched.bus.add_listener(lambda e: seen.append(sys.getswitchinterval()))
    await SessionThread(untouched, switch_interval_s=None).run()
    assert set(seen) == {before} and sys.getswitchinterval() == before
