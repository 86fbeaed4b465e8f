"""What the console's frame clock relies on: meters read at 20 frames a second miss no peak, the
dB figure changes at a readable pace, and the collector's long-lived objects are frozen only
while a console is open."""

from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
from textual.app import App, ComposeResult

from voiceconsole.audio.levels import FLOOR_DBFS, MeterSlot
from voiceconsole.clock import VirtualClock
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.panels import READOUT_S, VuMeters
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


def _block(amplitude: float) -> np.ndarray:
    return np.full(320, amplitude, dtype=np.float32)


def test_a_slow_reader_gets_the_loudest_block_since_its_last_read() -> None:
    slot = MeterSlot()
    slot.update(_block(0.5))  # a loud block between two frames ...
    slot.update(_block(0.01))  # ... then a quiet one, the latest when the frame reads
    rms, peak = slot.take_levels()
    assert round(rms) == round(peak) == -6
    assert round(slot.rms_dbfs) == -40
    # Nothing new since: the latest block again (a stalled stream keeps its last level).
    assert [round(v) for v in slot.take_levels()] == [-40, -40]
    slot.update(_block(0.0))
    assert slot.take_levels() == (FLOOR_DBFS, FLOOR_DBFS)


class MetersApp(App[None]):
    def __init__(self, clock: VirtualClock) -> None:
        super().__init__()
        self.clock = clock

    def compose(self) -> ComposeResult:
        yield VuMeters(self.clock.now, id="meters")


async def test_the_db_figure_changes_at_most_four_times_a_second_while_the_bar_follows_every_frame() -> None:
    clock = VirtualClock()
    app = MetersApp(clock)
    async with app.run_test(size=(60, 5)) as pilot:
        meters = app.query_one(VuMeters)
        await pilot.pause()
        figures, bars = [], []
        for frame in range(20):  # one second at 20 frames a second, the level rising 1 dB a frame
            clock.advance_to(frame * 0.05)
            meters.set_levels("mic", -40.0 + frame, -30.0 + frame, 0)
            meters.set_levels("speaker", FLOOR_DBFS, FLOOR_DBFS, 0)
            meters.tick()
            line = meters.render_line(0).text
            figures.append(line.split()[-2])
            bars.append(line[5:-14])
        changes = [i for i in range(1, len(figures)) if figures[i] != figures[i - 1]]
        assert len(changes) == 3, figures  # at 0.25, 0.5 and 0.75 s
        assert all(b - a >= round(READOUT_S / 0.05) for a, b in zip(changes, changes[1:]))
        assert len(set(bars)) >= 10  # the bar itself moves nearly every frame


async def test_the_long_lived_heap_is_frozen_while_a_console_is_open_and_thawed_after() -> None:
    gc.unfreeze()
    app = VoiceConsoleApp(clock=VirtualClock(), themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        for _ in range(50):
            await pilot.pause(0.02)
            if gc.get_freeze_count():
                break
        assert gc.get_freeze_count() > 1000
    assert gc.get_freeze_count() == 0


async def test_a_frame_tick_paints_the_meters_at_once() -> None:
    """The tick itself sends the frame (no round of Textual messages between a level and the
    terminal), and what it sends is what a full repaint shows (see test_ui_refresh). While Textual
    has its own work pending (a layout after start-up, say) it paints through its own path, so
    the tick is tried again a few times."""
    from types import SimpleNamespace

    from voiceconsole.clock import RealClock

    controller = SimpleNamespace(clock=RealClock(), meters=SimpleNamespace(mic=MeterSlot(), speaker=MeterSlot()))
    app = VoiceConsoleApp(controller=controller, themes=THEMES)
    frames: list[object] = []
    async with app.run_test(size=(120, 40)) as pilot:
        display = app._display
        app._display = lambda screen, renderable: (frames.append(renderable), display(screen, renderable))
        painted_in_tick = False
        for attempt in range(20):
            await pilot.pause(0.1)
            frames.clear()
            controller.meters.mic.update(_block(0.5 if attempt % 2 == 0 else 0.05))
            app._tick()
            if frames:
                painted_in_tick = True
                break
        assert painted_in_tick, "no tick sent a frame of its own"
        assert "████" in app.query_one(VuMeters).render_line(0).text  # the bar (the figure follows within 0.25 s)


async def test_frames_under_the_help_screen_paint_through_textual_and_show_after_it_closes() -> None:
    """While the help screen is on top, the panels' frames go through Textual (which paints the
    screen below when it comes back); afterwards the terminal shows exactly the full screen."""
    from types import SimpleNamespace

    from textual.geometry import Size

    from tests.test_ui_refresh import attach_terminal, settled_diff
    from voiceconsole.clock import RealClock

    controller = SimpleNamespace(clock=RealClock(), meters=SimpleNamespace(mic=MeterSlot(), speaker=MeterSlot()))
    app = VoiceConsoleApp(controller=controller, themes=THEMES)
    terminal = attach_terminal(app, Size(120, 40))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("question_mark")
        await pilot.pause(0.1)
        for amplitude in (0.5, 0.05, 0.5):
            controller.meters.mic.update(_block(amplitude))
            app._tick()
            app.flush()
            await pilot.pause(0.05)
        await pilot.press("escape")
        await pilot.pause(0.1)
        app._set_frame_rate(5)  # few frames of its own while the terminal is compared
        assert await settled_diff(pilot, terminal) == []
