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
        assert app._drain_bus is not None and AudioLevel in controller.bus._lazy
        await wait_for(pilot, events, lambda e: e.type == "audio.level" and e.source == "mic")
        await pilot.pause(0.3)  # several frames
        emitted = [e for e in events if e.type == "audio.level" and e.source == "mic"]
        assert app.model.last_level.get("mic") is not None
        assert app.model.now_audio_t >= emitted[0].audio_t
        await pilot.press("q")
