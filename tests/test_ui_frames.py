"""The console's frames: meters read at the frame rate miss no peak, the dB figure changes at a
readable pace, frames run while events flow and stop at rest, an event is drawn at once, and
the console leaves no process-wide setting changed."""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import numpy as np
from textual.app import App, ComposeResult

from tests.scenes import SCENES, ScriptedController
from voiceconsole.audio.levels import FLOOR_DBFS, MeterSlot
from voiceconsole.clock import VirtualClock
from voiceconsole.events import AudioLevel, TurnStart
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.meters import READOUT_S, VuMeters
from voiceconsole.ui.screens import HelpScreen
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WAIT_S = 20.0  # generous: the machine may be loaded; nothing here measures speed


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
            meters.update()
            line = meters.render_line(0).text
            figures.append(line.split()[-2])
            bars.append(line[5:-14])
        changes = [i for i in range(1, len(figures)) if figures[i] != figures[i - 1]]
        assert len(changes) == 3, figures  # at 0.25, 0.5 and 0.75 s
        assert all(b - a >= round(READOUT_S / 0.05) for a, b in zip(changes, changes[1:]))
        assert len(set(bars)) >= 10  # the bar itself moves nearly every frame


async def _until(pilot, condition) -> None:
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def _meter_text(app: VoiceConsoleApp) -> str:
    meters = app.query_one(VuMeters)
    return "\n".join(meters.render_line(y).text for y in range(2))


async def test_frames_run_while_levels_flow_stop_at_rest_and_an_event_wakes_them() -> None:
    scene = SCENES["empty"]()
    clock = scene.clock()
    controller = ScriptedController(clock, scene.events)
    app = VoiceConsoleApp(controller, clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.resting)
        quiet = _meter_text(app)

        controller.meters.mic.levels = (-6.0, -3.0)  # the mic gets loud: a level event arrives
        controller.bus.publish(AudioLevel(t=clock.now(), audio_t=clock.now(), source="mic", rms_dbfs=-6.0, peak_dbfs=-3.0))
        assert not app.resting
        await _until(pilot, lambda: _meter_text(app) != quiet)
        loud = _meter_text(app)

        controller.meters.mic.levels = (-120.0, -120.0)
        clock.advance_to(clock.now() + 10.0)  # the bar and the held peak fall
        await _until(pilot, lambda: app.resting)
        assert _meter_text(app) != loud

        app.feed(TurnStart(t=clock.now(), audio_t=clock.now(), turn=1))
        assert not app.resting
        await _until(pilot, lambda: "turn 1" in "".join(
            app.transcript.render_line(y).text for y in range(app.transcript.size.height)))


async def test_an_event_is_drawn_without_waiting_for_a_frame() -> None:
    scene = SCENES["empty"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app.resting)
        app.feed(TurnStart(t=clock.now(), audio_t=clock.now(), turn=7))
        await pilot.pause(0)  # a turn of the loop: the burst's frame, not the frame clock
        assert "turn 7" in "".join(app.transcript.render_line(y).text for y in range(app.transcript.size.height))


async def test_the_meters_keep_moving_under_the_help_screen() -> None:
    scene = SCENES["conversation"]()
    clock = scene.clock()
    controller = ScriptedController(clock, scene.events)
    app = VoiceConsoleApp(controller, clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        before = _meter_text(app)
        controller.meters.speaker.levels = (-3.0, -1.0)
        controller.bus.publish(AudioLevel(t=clock.now(), audio_t=clock.now(), source="speaker", rms_dbfs=-3.0, peak_dbfs=-1.0))
        await _until(pilot, lambda: _meter_text(app) != before)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        assert "████" in _meter_text(app).split("\n")[1]


async def test_no_process_wide_setting_is_left_changed() -> None:
    switch, frozen = sys.getswitchinterval(), gc.get_freeze_count()
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.2)
        assert gc.get_freeze_count() == frozen
    assert sys.getswitchinterval() == switch and gc.get_freeze_count() == frozen

