"""Snapshots of the console on scripted sessions (voiceconsole.ui.scenes) on a virtual clock.

Regenerate after a deliberate UI change with
``python -m pytest tests/test_ui_snapshots.py --snapshot-update`` and look at the SVGs in
tests/__snapshots__/test_ui_snapshots/ before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.geometry import Region

from tests.scenes import SCENES, ScriptedController
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WIDE = (160, 48)
NARROW = (80, 24)


def scene_app(name: str, theme: str | None = None) -> VoiceConsoleApp:
    scene = SCENES[name]()
    clock = scene.clock()
    controller = ScriptedController(clock, scene.events)
    settings = type("S", (), {"theme": theme, "record": None})() if theme else None
    app = VoiceConsoleApp(controller, settings=settings, clock=clock, events=scene.events, themes=THEMES)
    return app


async def settle(pilot) -> None:
    await pilot.pause()
    pilot.app.flush()
    await pilot.pause()


def test_theme_files_are_all_there() -> None:
    assert not THEMES.problems
    assert {"dark", "light", "high-contrast", "phosphor"} <= set(THEMES.names)


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["160x48", "80x24"])
def test_empty_start(snap_compare, size) -> None:
    assert snap_compare(scene_app("empty"), terminal_size=size, run_before=settle)


def test_turn_in_progress_with_interim_text(snap_compare) -> None:
    assert snap_compare(scene_app("turn_in_progress"), terminal_size=WIDE, run_before=settle)


def test_eager_end_then_resume(snap_compare) -> None:
    assert snap_compare(scene_app("eager_then_resume"), terminal_size=WIDE, run_before=settle)


def test_finished_turn_with_reply_playing(snap_compare) -> None:
    assert snap_compare(scene_app("reply_playing"), terminal_size=WIDE, run_before=settle)


def test_interrupted_reply(snap_compare) -> None:
    assert snap_compare(scene_app("interrupted"), terminal_size=WIDE, run_before=settle)


def test_tts_queue_with_several_items(snap_compare) -> None:
    assert snap_compare(scene_app("tts_queue"), terminal_size=WIDE, run_before=settle)


def test_engine_error_banner(snap_compare) -> None:
    assert snap_compare(scene_app("engine_error"), terminal_size=WIDE, run_before=settle)


def test_signal_lane_with_thresholds(snap_compare) -> None:
    """The local engine's speech probability over the VAD threshold (raised mid-session) and the
    silence counter reaching the eager and end marks."""
    assert snap_compare(scene_app("signal_thresholds"), terminal_size=WIDE, run_before=settle)


def test_signal_lane_zoomed_in(snap_compare) -> None:
    async def zoom_in(pilot) -> None:
        await settle(pilot)
        for key in ("plus", "plus"):
            await pilot.press(key)
        await settle(pilot)

    assert snap_compare(scene_app("signal_thresholds"), terminal_size=WIDE, run_before=zoom_in)


def test_signal_lane_says_ink2_has_no_probabilities(snap_compare) -> None:
    assert snap_compare(scene_app("ink2_turns"), terminal_size=WIDE, run_before=settle)


def test_help_screen(snap_compare) -> None:
    async def open_help(pilot) -> None:
        await settle(pilot)
        await pilot.press("question_mark")
        await pilot.pause()

    assert snap_compare(scene_app("conversation"), terminal_size=WIDE, run_before=open_help)


@pytest.mark.parametrize("size", [WIDE, NARROW], ids=["160x48", "80x24"])
def test_conversation(snap_compare, size) -> None:
    assert snap_compare(scene_app("conversation"), terminal_size=size, run_before=settle)


@pytest.mark.parametrize("theme", ["dark", "light", "high-contrast", "phosphor"])
def test_every_theme(snap_compare, theme) -> None:
    assert snap_compare(scene_app("conversation", theme), terminal_size=WIDE, run_before=settle)


def test_key_states_muted_paused_zoomed_barge_in_off(snap_compare) -> None:
    async def press_keys(pilot) -> None:
        await settle(pilot)
        for key in ("m", "b", "p", "minus", "left"):
            await pilot.press(key)
        await settle(pilot)

    assert snap_compare(scene_app("conversation"), terminal_size=WIDE, run_before=press_keys)


async def test_scene_fed_live_matches_scene_fed_up_front() -> None:
    """Feeding events one by one (a live session) ends in the same panels as feeding them first.

    The meters are left out: their ballistics depend on when each level arrived.
    """
    up_front = scene_app("conversation")
    scene = SCENES["conversation"]()
    clock = scene.clock()
    live = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, themes=THEMES)
    screens = []
    for app, events in ((up_front, []), (live, scene.events)):
        async with app.run_test(size=WIDE) as pilot:
            for event in events:
                app.feed(event)
                await pilot.pause(0)
            await settle(pilot)
            panels = {}
            for selector in ("#status", "#transcript", "#queue", "#timeline", "#metrics"):
                widget = app.query_one(selector)
                region = Region(0, 0, widget.size.width, widget.size.height)
                panels[selector] = [strip.text for strip in widget.render_lines(region)]
            screens.append(panels)
    for selector in screens[0]:
        assert screens[0][selector] == screens[1][selector], selector
    assert any("you  turn 1" in line for line in screens[1]["#transcript"])


def test_tuning_panel_open(snap_compare) -> None:
    """Tuning panel open (key c) over a finished conversation, showing the local engine's fields."""

    async def open_tuning(pilot) -> None:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()

    app = scene_app("conversation")
    app.settings = type("S", (), {"theme": None, "record": None, "config_path": "config.toml"})()  # a fixed path shown
    assert snap_compare(app, terminal_size=WIDE, run_before=open_tuning)


def test_waterfall_open_on_the_conversation(snap_compare) -> None:
    async def open_waterfall(pilot) -> None:
        await settle(pilot)
        await pilot.press("w")
        await pilot.pause(0.3)  # the screen's first check titles the box
        await settle(pilot)

    assert snap_compare(scene_app("conversation"), terminal_size=WIDE, run_before=open_waterfall)
