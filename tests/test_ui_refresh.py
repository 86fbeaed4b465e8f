"""The console repaints only the cells that changed (timeline, meters, transcript): what a
terminal shows after all those partial updates must be exactly the screen a full repaint draws.

The frames the app sends to the terminal (Textual's partial and full updates) are applied to
a grid of (character, style) cells, as a terminal would; the grid is then compared with a full
render of the screen.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.segment import ControlType
from textual.cache import LRUCache
from textual.geometry import Size

from voiceconsole.ui.app import VoiceConsoleApp
from tests.scenes import SCENES, ScriptedController
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


class Terminal:
    """A grid of cells that takes the segments of Textual's updates."""

    def __init__(self, size: Size) -> None:
        self.width, self.height = size
        self.cells: list[list[tuple[str, Any]]] = [[(" ", None)] * self.width for _ in range(self.height)]
        self.frames = 0

    def apply(self, renderable: Any, console: Any) -> None:
        self.frames += 1
        x = y = 0
        for segment in renderable.__rich_console__(console, console.options):
            if segment.control:
                for code in segment.control:
                    if code[0] == ControlType.CURSOR_MOVE_TO:
                        x, y = code[1], code[2]
                continue
            if segment.text == "\n":
                continue
            for char in segment.text:
                if 0 <= y < self.height and 0 <= x < self.width:
                    self.cells[y][x] = (char, segment.style)
                x += 1


def attach_terminal(app: VoiceConsoleApp, size: Size) -> Terminal:
    """A :class:`Terminal` that takes every frame ``app`` sends (as its terminal driver would)."""
    terminal = Terminal(size)
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if renderable is not None:
            terminal.apply(renderable, app.console)

    app._display = display  # type: ignore[method-assign]
    return terminal


def screen_cells(app: VoiceConsoleApp) -> list[list[tuple[str, Any]]]:
    """The screen drawn afresh: every widget's lines rendered again (none taken from the line
    cache a partial refresh relies on)."""
    for widget in app.screen.walk_children(with_self=True):
        widget._styles_cache.clear()
    # The timeline's own cache of drawn lanes is set aside (and put back after), so its lanes are
    # drawn afresh from the model without disturbing what its partial updates compare with.
    timeline = app._timeline
    kept = timeline._chunks, timeline._max_chunk
    timeline._chunks, timeline._max_chunk = LRUCache(kept[0].maxsize), -1
    try:
        rows = []
        for strip in app.screen._compositor.render_strips():
            row: list[tuple[str, Any]] = []
            for segment in strip:
                row.extend((char, segment.style) for char in segment.text)
            rows.append(row)
    finally:
        timeline._chunks, timeline._max_chunk = kept
    return rows


def diff(terminal: Terminal, screen: list[list[tuple[str, Any]]]) -> list[str]:
    problems = []
    for y, (shown, wanted) in enumerate(zip(terminal.cells, screen)):
        if shown != wanted:
            first = next(x for x, (a, b) in enumerate(zip(shown, wanted)) if a != b)
            problems.append(
                f"row {y} col {first}: terminal {''.join(c for c, _ in shown)!r} != screen {''.join(c for c, _ in wanted)!r}"
            )
    return problems


async def settled_diff(pilot: Any, terminal: Terminal) -> list[str]:
    """The differences once the frames already due have gone out (the app paints at most 60
    times a second, so a refresh asked for just now may not have been sent yet); a cell that was
    never refreshed stays different however long this waits."""
    problems: list[str] = []
    for _ in range(100):
        await pilot.pause(0.03)
        problems = diff(terminal, screen_cells(pilot.app))
        if not problems:
            break
    return problems


async def test_partial_repaints_add_up_to_the_full_screen() -> None:
    """Feed a whole conversation event by event (now moving, turns, replies, levels, a page
    jump of the timeline); after every few events the terminal equals a full repaint."""
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, themes=THEMES)
    size = Size(120, 40)
    terminal = attach_terminal(app, size)
    checked = 0
    async with app.run_test(size=tuple(size)) as pilot:
        await pilot.pause()
        for i, event in enumerate(scene.events):
            app.feed(event)
            await pilot.pause(0)
            if i % 25 == 24:
                assert await settled_diff(pilot, terminal) == []
                checked += 1
        await pilot.pause()
        app.flush()
        assert await settled_diff(pilot, terminal) == []
    assert checked > 5
    assert terminal.frames > 20
    assert app._timeline.scroll_x > 0  # the timeline paged on while it was fed


async def test_every_event_repaints_the_timeline_lanes_it_changed() -> None:
    """The timeline redraws only the lanes an event can change (a transcript update leaves the
    measured gaps alone): after each event of a conversation, once painted, the terminal equals
    a full repaint, so no lane an event changed was left out."""
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, themes=THEMES)
    size = Size(120, 40)
    terminal = attach_terminal(app, size)
    kinds: set[str] = set()
    async with app.run_test(size=tuple(size)) as pilot:
        await pilot.pause()
        for event in scene.events:
            app.feed(event)
            app.flush()
            if type(event).__name__ != "AudioLevel":
                kinds.add(type(event).__name__)
                assert await settled_diff(pilot, terminal) == [], f"after {type(event).__name__} at {event.audio_t:.2f} s"
    assert {"TurnEnd", "TurnEagerEnd", "TurnUpdate", "PlaybackStarted", "SpeechStopped"} <= kinds


async def test_a_notification_over_the_panels_stays_on_top_of_their_repaints() -> None:
    """Repaints of the panels under a notification (the metrics table, the timeline, the meters
    beside it) leave the notification on screen: those regions are composed Textual's way."""
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, themes=THEMES)
    size = Size(120, 40)
    terminal = attach_terminal(app, size)
    async with app.run_test(size=tuple(size), notifications=True) as pilot:
        await pilot.pause()
        app.notify("a note over the panels " * 6, title="note", timeout=600)
        await pilot.pause(0.3)
        toast = next(w for w in app.screen.walk_children() if type(w).__name__ == "Toast")
        panels = [app.query_one("#metrics"), app.query_one("#timeline-box"), app.query_one("#meters")]
        assert any(toast.region.overlaps(panel.region) for panel in panels)
        for i, event in enumerate(scene.events):
            app.feed(event)
            app.flush()
            if i % 10 == 9:
                assert await settled_diff(pilot, terminal) == [], f"after {type(event).__name__}"
        assert any(type(event).__name__ == "TurnEnd" for event in scene.events)
