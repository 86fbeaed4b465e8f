"""The console shows echo cancellation: its state in the status line, ERLE beside the meters
while the bot speaks (scripted sessions on a virtual clock, as the snapshot tests use)."""

from __future__ import annotations

from tests.scenes import ScriptedController, reply_playing
from tests.screen import screen_text
from tests.test_ui_snapshots import THEMES, WIDE, settle
from voiceconsole.events import AecErle, AecState
from voiceconsole.ui.app import VoiceConsoleApp


def aec_app(state: str, erle_db: float | None) -> VoiceConsoleApp:
    scene = reply_playing()
    events = list(scene.events)
    events.insert(1, AecState(t=0.0, audio_t=0.0, state=state, detail="WebRTC AEC3"))  # type: ignore[arg-type]
    if erle_db is not None:
        events.append(
            AecErle(t=scene.now - 0.1, audio_t=scene.now - 0.1, erle_db=erle_db)
        )
    clock = scene.clock()
    controller = ScriptedController(clock, events)
    return VoiceConsoleApp(controller, clock=clock, events=events, themes=THEMES)


async def test_status_says_aec_on_and_the_meters_show_erle_while_the_reply_plays() -> (
    None
):
    app = aec_app("on", 31.4)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
    assert "aec on" in text
    assert "ERLE  31dB" in text


async def test_a_failed_aec_shows_in_the_status_line_and_no_erle() -> None:
    app = aec_app("failed", None)
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
    assert "aec failed" in text
    assert "ERLE" not in text


async def test_without_an_aec_event_the_status_line_says_nothing_of_it() -> None:
    scene = reply_playing()
    clock = scene.clock()
    app = VoiceConsoleApp(
        ScriptedController(clock, scene.events),
        clock=clock,
        events=scene.events,
        themes=THEMES,
    )
    async with app.run_test(size=WIDE) as pilot:
        await settle(pilot)
        text = screen_text(app)
    assert "aec " not in text and "ERLE" not in text


def test_aec_status_and_erle_snapshot(snap_compare) -> None:
    # The snapshot file is made by the lead's regeneration run (tests/__snapshots__).
    assert snap_compare(aec_app("on", 31.4), terminal_size=WIDE, run_before=settle)


async def test_a_shows_the_raw_mic_under_the_processed_level_in_the_mic_lane() -> None:
    """Speech the canceller took out (loud raw, quiet processed) stays as faint raw bars; where the
    user talked (both loud) the processed bars are drawn."""
    from voiceconsole.events import AudioLevel
    from voiceconsole.ui.lanes import MicLane

    events = []
    for k in range(60):  # 3 s of levels every 50 ms: echo for 1.5 s, then the user
        t = round(k * 0.05, 2)
        echo = k < 30
        events.append(AudioLevel(t=t, audio_t=t, source="mic_raw", rms_dbfs=-12.0, peak_dbfs=-6.0))
        events.append(AudioLevel(t=t, audio_t=t, source="mic", rms_dbfs=-58.0 if echo else -12.0, peak_dbfs=-50.0))
    app = VoiceConsoleApp(None, events=events, themes=THEMES)
    async with app.run_test(size=WIDE) as pilot:
        await pilot.pause()
        y = next(i for i, lane in enumerate(app.timeline.lanes) if isinstance(lane, MicLane))
        app.timeline.pan_home()
        await pilot.pause()
        plain = app.timeline.fresh_line(y)
        await pilot.press("a")
        await pilot.pause()
        assert app.model.show_raw_mic
        raw = app.timeline.fresh_line(y)
        styles = {str(seg.style) for seg in raw if seg.text.strip()}
        # The echo stretch: quiet after cancellation, loud (and faint) in the raw view.
        assert plain.text[:30] == "▁" * 30 and raw.text[:30] == "▇" * 30
        assert raw.text[30:60] == plain.text[30:60] == "▇" * 30
        assert len(styles) == 2  # faint raw bars and the processed ones
        await pilot.press("a")
        await pilot.pause()
        assert not app.model.show_raw_mic and app.timeline.fresh_line(y).text == plain.text
