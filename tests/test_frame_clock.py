"""The console's frame clock (ticks, re-phasing after an event frame, rate changes), the timeline
following "now" on every other frame, and the frame cache's redraw of content lines alone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from rich.segment import Segment
from textual._styles_cache import StylesCache
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

from voiceconsole.clock import VirtualClock
from voiceconsole.events import AudioLevel, SessionStarted, TurnStart
from voiceconsole.ui.app import METER_HZ, NOW_EVERY, VoiceConsoleApp
from voiceconsole.ui.frameclock import FrameClock
from voiceconsole.ui.paintcache import FrameCache, install_frame_caches
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


async def test_the_clock_ticks_at_its_rate_and_a_rate_change_applies_at_once() -> None:
    ticks: list[float] = []
    loop = asyncio.get_running_loop()
    clock = FrameClock(lambda: ticks.append(loop.time()), 1, on_error=lambda exc: None)
    clock.start()
    clock.set_rate(20)  # the next tick must not wait out the old 1 s period
    await asyncio.sleep(0.5)
    clock.stop()
    count = len(ticks)
    await asyncio.sleep(0.15)
    assert count >= 4, ticks  # ~10 at 20 Hz; a loaded machine may lose a few, not most
    assert len(ticks) == count  # stopped: no more ticks
    assert not clock.running and clock.hz == 20


async def test_a_frame_drawn_outside_a_tick_pushes_the_next_tick_one_period_on() -> None:
    ticks: list[int] = []
    clock = FrameClock(lambda: ticks.append(1), 5, on_error=lambda exc: None)
    clock.start()
    for _ in range(10):  # a frame every 50 ms: a 200 ms tick never comes due
        await asyncio.sleep(0.05)
        clock.drawn()
    assert ticks == []
    await asyncio.sleep(0.35)
    clock.stop()
    assert ticks  # once frames stop being drawn, the ticks resume


async def test_an_error_in_a_tick_is_reported_and_ticking_goes_on() -> None:
    errors: list[Exception] = []
    calls: list[int] = []

    def tick() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("boom")

    clock = FrameClock(tick, 50, on_error=errors.append)
    clock.start()
    await asyncio.sleep(0.3)
    clock.stop()
    assert [str(e) for e in errors] == ["boom"]
    assert len(calls) >= 2


def _level(t: float) -> AudioLevel:
    return AudioLevel(t=t, audio_t=t, source="mic", rms_dbfs=-20.0, peak_dbfs=-10.0)


def _level_frame(app: VoiceConsoleApp, clock: VirtualClock, t: float) -> None:
    """Move the clock to ``t``, feed a mic reading for it and draw the frame."""
    clock.advance_to(t)
    app.feed(_level(t))
    app.flush()


def _drive_frames_by_hand(app: VoiceConsoleApp) -> None:
    """Stop the app's frame clock (the test draws the frames) and start a session on it."""
    app._frames.stop()
    app.feed(SessionStarted(t=0.0, audio_t=0.0, stt="local", tts="local", responder="echo", source="file",
                            sink="null", sample_rate=16000, settings={}))
    app.flush()


async def test_an_event_frame_re_phases_the_tick_and_the_timeline_follows_now_every_other_frame() -> None:
    clock = VirtualClock()
    app = VoiceConsoleApp(clock=clock, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        _drive_frames_by_hand(app)
        timeline = app._timeline
        assert app._frames.hz == METER_HZ and NOW_EVERY == 2
        followed = []
        t = 0.0
        for _ in range(4):  # levels only: "now" moves two columns a frame-pair
            t += 0.05
            clock.advance_to(t)
            app.feed(_level(t))
            app._flush_pending = False
            app._tick()
            followed.append(timeline._drawn_now == t)
        assert followed == [False, True, False, True] or followed == [True, False, True, False]
        # An event is drawn on the frame it arrives in, whatever the frame's turn.
        while timeline._drawn_now == t:
            t += 0.05
            clock.advance_to(t)
            app.feed(_level(t))
            app._flush_pending = False
            app._tick()
        t += 0.05
        clock.advance_to(t)
        app.feed(TurnStart(t=t, audio_t=t, turn=1))
        app._flush_pending = False
        app._tick()
        assert timeline._drawn_now == t
        # A burst's own frame (not a tick) moves the frame clock's next tick one period on.
        app._frames.start()
        loop = asyncio.get_running_loop()
        app.feed(TurnStart(t=t, audio_t=t, turn=2))
        before = loop.time()
        await pilot.pause(0)
        await pilot.pause(0)
        assert not app._flush_pending
        assert app._frames._due - before >= 1 / METER_HZ - 0.01


class Boxed(Widget):
    """A bordered, padded widget whose second content line shows a counter."""

    DEFAULT_CSS = "Boxed { border: round $primary; padding: 0 2; height: 6; background: $surface; }"

    def __init__(self) -> None:
        super().__init__()
        self.count = 0

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        text = f"count {self.count}" if y == 1 else f"line {y}"
        return Strip([Segment(text.ljust(width), self.rich_style)], width)


class BoxedApp(App[None]):
    def compose(self) -> ComposeResult:
        yield Boxed()


async def test_a_content_line_redrawn_alone_is_the_line_textual_draws() -> None:
    app = BoxedApp()
    async with app.run_test(size=(40, 10)) as pilot:
        boxed = app.query_one(Boxed)
        install_frame_caches(app.screen)
        boxed.refresh()
        await pilot.pause()
        cache = boxed._styles_cache
        assert isinstance(cache, FrameCache)
        crop = Region(0, 0, boxed.outer_size.width, boxed.outer_size.height)
        cache.render_widget(boxed, crop)  # a full render
        assert cache._content_fill is not None
        boxed.count = 7
        cache.set_dirty(Region(0, 2, crop.width, 1))  # border row 0, content from row 1
        quick = cache.render_widget(boxed, crop)
        fresh = StylesCache().render_widget(boxed, crop)
        assert [s.text for s in quick] == [s.text for s in fresh]
        assert [list(s) for s in quick] == [list(s) for s in fresh]
        assert "count 7" in quick[2].text and quick[2].text.startswith("│")
        # A tint changes every segment's colour: such a widget is always drawn Textual's way.
        boxed.styles.tint = "red 30%"
        await pilot.pause()
        cache.render_widget(boxed, crop)
        assert cache._content_fill is None


async def test_when_only_now_moves_the_level_and_tick_lanes_draw_just_the_columns_it_crossed() -> None:
    from voiceconsole.ui.timeline import COLUMN_ROWS, SPAN_NOW_ROWS

    clock = VirtualClock()
    app = VoiceConsoleApp(clock=clock, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        _drive_frames_by_hand(app)
        timeline = app._timeline
        t = 0.0
        for _ in range(6):  # chunks on screen drawn once
            t += 0.1
            _level_frame(app, clock, t)
        await pilot.pause()
        painted = timeline.painted
        columns: list[tuple[int, int]] = []
        redraw = timeline._redraw_columns
        timeline._redraw_columns = lambda first, last, x0: (columns.append((first, last)), redraw(first, last, x0))[1]  # type: ignore[method-assign]
        t += 0.1
        _level_frame(app, clock, t)
        assert columns and columns[-1][1] - columns[-1][0] <= 3  # two 50 ms columns crossed, one of slack
        assert timeline.painted - painted <= len(SPAN_NOW_ROWS)  # no whole chunk of the column lanes
        assert len(COLUMN_ROWS) == 3
        assert app.model.take_dirt().levels_from == float("inf")  # the flush took the readings in


def _stale_columns(timeline) -> list[tuple[str, int]]:
    """Cells of the column-drawn lanes' cached chunks that differ from the same chunk drawn afresh."""
    from voiceconsole.ui.lines import CellRow
    from voiceconsole.ui.timeline import CHUNK, COLUMN_ROWS, ROWS

    stale = []
    for row, chunk in list(timeline._chunks.keys()):
        if row not in COLUMN_ROWS:
            continue
        cells = timeline._chunks.get((row, chunk))[0]
        fresh = CellRow(CHUNK, timeline._base())
        getattr(timeline, f"_paint_{ROWS[row]}")(fresh, chunk * CHUNK)
        stale += [(ROWS[row], chunk * CHUNK + i) for i in range(CHUNK)
                  if fresh.chars[i] != cells.chars[i] or fresh.styles[i] != cells.styles[i]]
    return stale


async def test_lanes_drawn_column_by_column_match_a_fresh_drawing_after_small_steps_and_a_long_jump() -> None:
    clock = VirtualClock()
    app = VoiceConsoleApp(clock=clock, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        _drive_frames_by_hand(app)
        timeline = app._timeline
        t = 0.0
        for step in range(60):  # each lane's readings in order, a frame every 60 ms
            for k in range(3):
                t += 0.02
                clock.advance_to(t)
                # The speaker's readings move "now"; the mic's land behind the column drawn last.
                app.feed(AudioLevel(t=t, audio_t=t, source="speaker", rms_dbfs=-30.0 - k, peak_dbfs=-10.0))
                app.feed(AudioLevel(t=t, audio_t=t - 0.09, source="mic", rms_dbfs=-50.0 + (step * 7 + k * 13) % 45,
                                    peak_dbfs=-10.0))
            app.flush()
            assert _stale_columns(timeline) == [], step
        t += 5.0  # a long way on at once
        _level_frame(app, clock, t)
        await pilot.pause()
        assert _stale_columns(timeline) == []
