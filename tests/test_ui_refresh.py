"""The timeline redraws only what moved: after every event of a conversation each lane on screen
is the lane drawn afresh from the model, and every cell that changed was asked to be repainted
(``refresh`` with its region, or the whole widget)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from textual.geometry import Region

from tests.scenes import SCENES, ScriptedController
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.meters import VuMeters
from voiceconsole.ui.themes import load_themes
from voiceconsole.ui.timeline import TimelineView

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


def _cells(strip: Any) -> list[tuple[str, Any]]:
    return [(char, segment.style) for segment in strip for char in segment.text]


class RefreshLog:
    """Records the regions a widget asks to repaint (None: all of it)."""

    def __init__(self, widget: Any) -> None:
        self.regions: list[Region | None] = []
        original = widget.refresh

        def refresh(*regions: Region, **kwargs: Any) -> Any:
            self.regions.extend(regions or [None])
            return original(*regions, **kwargs)

        widget.refresh = refresh

    def covers(self, x: int, y: int) -> bool:
        return any(r is None or r.contains(x, y) for r in self.regions)


def _unrefreshed(before: list[list[tuple[str, Any]]], after: list[list[tuple[str, Any]]], log: RefreshLog) -> list[str]:
    missed = []
    for y, (old, new) in enumerate(zip(before, after)):
        for x, (a, b) in enumerate(zip(old, new)):
            if a != b and not log.covers(x, y):
                missed.append(f"lane {y} column {x}: {a[0]!r} -> {b[0]!r}")
    return missed


async def test_every_event_leaves_each_lane_as_drawn_afresh_and_every_changed_cell_refreshed() -> None:
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, themes=THEMES)
    kinds: set[str] = set()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        timeline = app.query_one(TimelineView)
        lanes = range(len(timeline.lanes))
        for event in scene.events:
            before = [_cells(timeline.render_line(y)) for y in lanes]
            scroll = timeline.scroll_x
            log = RefreshLog(timeline)
            clock.advance_to(event.t)
            app.feed(event)
            app.flush()
            kinds.add(type(event).__name__)
            after = [_cells(timeline.render_line(y)) for y in lanes]
            for y in lanes:
                assert after[y] == _cells(timeline.fresh_line(y)), f"lane {y} after {type(event).__name__} at {event.audio_t:.2f} s"
            if timeline.scroll_x == scroll:  # a scroll repaints the whole view anyway
                assert _unrefreshed(before, after, log) == [], f"after {type(event).__name__} at {event.audio_t:.2f} s"
            del timeline.refresh
        assert timeline.scroll_x > 0  # the timeline paged on while it was fed
    assert {"TurnEnd", "TurnEagerEnd", "TurnUpdate", "PlaybackStarted", "SpeechStopped", "AudioLevel"} <= kinds


async def test_the_meters_refresh_every_cell_they_change() -> None:
    scene = SCENES["conversation"]()
    clock = scene.clock()
    controller = ScriptedController(clock, scene.events)
    app = VoiceConsoleApp(controller, clock=clock, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        meters = app.query_one(VuMeters)
        for step, level in enumerate((-40.0, -6.0, -20.0, -60.0, -1.0)):
            before = [_cells(meters.render_line(y)) for y in range(2)]
            log = RefreshLog(meters)
            clock.advance_to(scene.now + (step + 1) * 0.3)
            controller.meters.mic.levels = (level, level + 3)
            app.flush()
            after = [_cells(meters.render_line(y)) for y in range(2)]
            assert after != before
            assert _unrefreshed(before, after, log) == []
            del meters.refresh


async def test_a_growing_transcript_keeps_its_scrollbar_in_step_with_its_scroll_range() -> None:
    """The scroll range grows without a screen layout (set_scroll_range): the scrollbar's range
    follows it, and the newest line stays in view."""
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, themes=THEMES)
    async with app.run_test(size=(120, 24)) as pilot:
        await pilot.pause()
        transcript = app.transcript
        grew = 0
        for event in scene.events:
            clock.advance_to(event.t)
            height = transcript.virtual_size.height
            app.feed(event)
            app.flush()
            await pilot.pause(0)
            if transcript.virtual_size.height > height and transcript.show_vertical_scrollbar:
                grew += 1
                assert transcript.vertical_scrollbar.window_virtual_size == transcript.virtual_size.height
                assert transcript.scroll_y == transcript.max_scroll_y  # following: the newest line shows
        assert grew >= 3
