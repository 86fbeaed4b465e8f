"""At rest (meters still, no events) the console ticks slowly; a level change or an event brings
the meters back to full rate, and what they show follows the levels."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from voiceconsole.audio.levels import MeterSlot
from voiceconsole.clock import RealClock
from voiceconsole.events import TurnStart
from voiceconsole.ui.app import METER_HZ, REST_HZ, VoiceConsoleApp
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WAIT_S = 20.0  # generous: the machine may be loaded; nothing here measures speed


class MeteredController:
    """Only what the meters poll: a mic and a speaker slot the test sets by hand."""

    def __init__(self) -> None:
        self.clock = RealClock()
        self.meters = SimpleNamespace(mic=MeterSlot(), speaker=MeterSlot())


async def _until(pilot, condition) -> None:
    for _ in range(int(WAIT_S / 0.02)):
        if condition():
            return
        await pilot.pause(0.02)
    raise AssertionError("condition not reached")


def _meter_text(app: VoiceConsoleApp) -> str:
    meters = app.query_one("#meters")
    return "\n".join(meters.render_line(y).text for y in range(2))


async def test_meters_rest_slowly_and_wake_on_a_level_change_or_an_event() -> None:
    controller = MeteredController()
    app = VoiceConsoleApp(controller=controller, themes=THEMES)
    async with app.run_test(size=(120, 40)) as pilot:
        await _until(pilot, lambda: app._frame_hz == REST_HZ)
        quiet = _meter_text(app)

        controller.meters.mic.rms_dbfs, controller.meters.mic.peak_dbfs = -6.0, -3.0
        await _until(pilot, lambda: _meter_text(app) != quiet)
        assert app._frame_hz == METER_HZ
        loud = _meter_text(app)

        controller.meters.mic.rms_dbfs = controller.meters.mic.peak_dbfs = -120.0
        await _until(pilot, lambda: app._frame_hz == REST_HZ)  # once the bar and the peak have fallen
        assert _meter_text(app) != loud

        app.feed(TurnStart(t=0.0, audio_t=0.0, turn=1))
        assert app._frame_hz == METER_HZ
