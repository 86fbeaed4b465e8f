"""The replay (the full console driven by a Player) and comparison screens, with the pilot and snapshots.

Regenerate the snapshots after a deliberate UI change with
``python -m pytest tests/test_replay_ui.py --snapshot-update`` and look at the SVGs in
tests/__snapshots__/test_replay_ui/ before committing them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.screen import screen_text, toasts
from tests.test_recording import SPEECH, cli
from voiceconsole.events import TurnEnd, TurnStart
from voiceconsole.session.compare import ThroughConfig, align_turns, run_all_through
from voiceconsole.session.recording import Recording, load_recording
from voiceconsole.ui.meters import VuMeters
from voiceconsole.ui.replay import ComparisonApp, ReplayConsoleApp
from voiceconsole.ui.themes import load_themes
from voiceconsole.ui.timelines import render_timelines

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])
WIDE = (160, 48)


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    rec = tmp_path_factory.mktemp("ui") / "session"
    out = cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--record", str(rec))
    assert out.returncode == 0, out.stderr
    return load_recording(rec)


@pytest.fixture(scope="module")
def comparison(recording: Recording) -> tuple[list, list]:
    timelines = run_all_through(recording, [ThroughConfig("local", {"end_ms": 500, "eager_end_ms": 150})])
    return timelines, align_turns(timelines)


def replay_app(recording: Recording, **kwargs) -> ReplayConsoleApp:
    return ReplayConsoleApp(recording, themes=THEMES, **kwargs)


def turn_time(recording: Recording, kind: type, turn: int) -> float:
    return next(e.t for e in recording.events if isinstance(e, kind) and e.turn == turn)


def turn_text(recording: Recording, turn: int) -> str:
    return next(e.transcript for e in recording.events if isinstance(e, TurnEnd) and e.turn == turn)


async def settled(pilot) -> str:
    await pilot.pause()
    pilot.app.flush()
    await pilot.pause()
    return screen_text(pilot.app)


# --- the full console in a replay ---------------------------------------------------------------


async def test_replay_opens_the_full_console_and_plays_to_the_end(recording: Recording) -> None:
    app = replay_app(recording, speed=0)
    async with app.run_test(size=WIDE) as pilot:
        for _ in range(400):
            if app.player.done:
                break
            await pilot.pause(0.02)
        assert app.player.done
        text = await settled(pilot)
        for panel in ("#transcript", "#queue", "#meters", "#timeline", "#metrics", "#replay-status", "#status"):
            assert app.query_one(panel).display
        turns = sorted({e.turn for e in recording.events if isinstance(e, TurnStart)})
        assert turns and list(app.model.turns) == turns
        for turn in turns:
            assert f"turn {turn}" in text
        assert turn_text(recording, turns[-1]) in text
        assert "TTS queue" in text and "turn timeline" in text and "turn metrics" in text
        assert "REPLAY ■ done" in text and f"event {len(recording.events)}/{len(recording.events)}" in text
        # The meters follow the recorded audio.level events.
        speaker = app.query_one(VuMeters).meters["speaker"]
        assert speaker.last_t is not None and speaker.peak > -120
        await pilot.press("space", "r")  # pause, restart: the console is rebuilt from nothing
        text = await settled(pilot)
        assert app.player.position == 0 and not app.model.turns
        assert "turn 1" not in text and turn_text(recording, 1) not in text
        await pilot.press("space")  # and plays again
        for _ in range(400):
            if app.player.done:
                break
            await pilot.pause(0.02)
        assert app.player.done and list(app.model.turns) == turns


async def test_pause_step_and_seek_change_what_the_console_shows(recording: Recording) -> None:
    app = replay_app(recording, paused=True)
    end1 = turn_time(recording, TurnEnd, 1)
    start2 = turn_time(recording, TurnStart, 2)
    async with app.run_test(size=WIDE) as pilot:
        text = await settled(pilot)
        assert app.player.position == 0 and "turn 1" not in text and "⏸ paused" in text

        app.seek(end1 + 0.01)  # just after turn 1's end
        text = await settled(pilot)
        assert "turn 1" in text and turn_text(recording, 1) in text
        assert "turn 2" not in text and list(app.model.turns) == [1] and app.model.turns[1].state == "ended"
        assert f"{end1 + 0.01:6.2f} / {app.player.duration:.2f} s" in text

        await pilot.press("right_square_bracket")  # +1 s
        text = await settled(pilot)
        assert app.player.current_t == pytest.approx(end1 + 1.01)
        assert ("turn 2" in text) == (start2 < end1 + 1.01)

        await pilot.press("left_square_bracket", "left_square_bracket", "left_square_bracket")  # back before turn 1 ended
        text = await settled(pilot)
        assert app.player.current_t == pytest.approx(end1 - 1.99)
        assert "turn 2" not in text
        assert all(e.t < end1 - 1.99 for e in recording.events[: app.player.position])
        assert 1 not in app.model.turns or app.model.turns[1].state != "ended"

        before = app.player.position
        await pilot.press("full_stop")  # one event
        await settled(pilot)
        assert app.player.position == before + 1 and app.player.paused
        assert app.model.events == before + 1

        await pilot.press("space")
        assert not app.player.paused and "▶ playing" in await settled(pilot)
        await pilot.press("space")
        assert app.player.paused

        await pilot.press("greater_than_sign")
        assert app.player.speed == 2.0 and "×2" in await settled(pilot)
        await pilot.press("less_than_sign", "less_than_sign")
        assert app.player.speed == 0.5


async def test_seeking_back_restarts_the_meters(recording: Recording) -> None:
    app = replay_app(recording, paused=True)
    loud = max((e for e in recording.events if e.type == "audio.level" and e.source == "speaker"), key=lambda e: e.rms_dbfs)
    async with app.run_test(size=WIDE) as pilot:
        app.seek(loud.t + 0.001)
        await settled(pilot)
        meters = app.query_one(VuMeters).meters
        assert meters["speaker"].level == pytest.approx(loud.rms_dbfs)
        app.seek(0.5)
        await settled(pilot)
        assert app.query_one(VuMeters).meters["speaker"].peak < loud.peak_dbfs


async def test_live_session_commands_say_they_do_nothing_in_a_replay(recording: Recording) -> None:
    app = replay_app(recording, paused=True)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        app.seek(5.0)
        await settled(pilot)
        muted, barge = app.model.muted, app.model.auto_barge_in
        await pilot.press("i", "m", "s", "b")
        await settled(pilot)
        shown = toasts(app)
        for what in ("interrupt (i)", "mute (m)", "say (s)", "barge-in on/off (b)"):
            assert f"{what} acts on a live session" in shown
        assert (app.model.muted, app.model.auto_barge_in) == (muted, barge)
        assert not app.query_one("#say").has_class("-visible")
        assert app.player.paused and app.player.current_t == 5.0


async def test_help_screen_lists_the_replay_keys(recording: Recording) -> None:
    app = replay_app(recording, paused=True)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        text = await settled(pilot)
        assert "seek 1 s back / forward" in text and "pause / play the recording" in text
        assert "zoom the timeline in / out" in text  # the console's own keys are still listed
        await pilot.press("escape")
        assert "seek 1 s back / forward" not in await settled(pilot)


async def test_footer_shows_the_replay_keys(recording: Recording) -> None:
    app = replay_app(recording, paused=True)
    async with app.run_test(size=WIDE) as pilot:
        footer = (await settled(pilot)).splitlines()[-1]
        for key in ("space play/pause", ". step", "[ -1s", "] +1s", "< slower", "> faster", "? help", "q quit"):
            assert key in footer
        for live_only in ("interrupt", "mute", "say", "barge-in"):  # they leave the footer (and explain themselves)
            assert live_only not in footer


def test_replay_console_paused_snapshot(snap_compare, recording: Recording) -> None:
    end2 = turn_time(recording, TurnEnd, 2)

    async def seek(pilot) -> None:
        pilot.app.seek(end2 + 0.5)
        await settled(pilot)

    assert snap_compare(replay_app(recording, paused=True), terminal_size=WIDE, run_before=seek)


# --- themes -------------------------------------------------------------------------------------


def test_replay_and_comparison_use_the_theme_files(recording: Recording, comparison) -> None:
    assert replay_app(recording, theme="phosphor").theme == "phosphor"
    assert replay_app(recording).theme == "dark"
    timelines, rows = comparison
    assert ComparisonApp(recording, timelines, rows, theme="light", themes=THEMES).theme == "light"


@pytest.mark.parametrize("extra", [(), ("--through", "local")], ids=["console", "comparison"])
def test_unknown_replay_theme_is_a_one_line_error(recording: Recording, extra: tuple[str, ...]) -> None:
    out = cli("replay", str(recording.path), "--theme", "nope", *extra)
    assert out.returncode == 2
    [line] = out.stderr.strip().splitlines()
    assert "--theme nope: unknown theme" in line and "dark" in line and "phosphor" in line


# --- comparison ---------------------------------------------------------------------------------


def test_comparison_screen_snapshot(snap_compare, recording: Recording, comparison) -> None:
    timelines, rows = comparison
    assert snap_compare(ComparisonApp(recording, timelines, rows), terminal_size=(130, 36))


def test_lanes_show_each_configuration_on_one_axis(comparison) -> None:
    timelines, _ = comparison
    text = render_timelines(timelines, 100)
    lanes = [line for line in text.splitlines() if "turns" in line]
    assert len(lanes) == 2 and all("┃" in lane for lane in lanes)


async def test_engine_timings_of_a_virtual_time_recording_read_not_applicable(recording: Recording) -> None:
    """The recording ran with --fast: engine work took no virtual time, so its timings are n/a,
    while the turn timings (audio time) are shown."""
    app = replay_app(recording, speed=0)
    async with app.run_test(size=WIDE) as pilot:
        await app.workers.wait_for_complete()
        lines = (await settled(pilot)).splitlines()
        ttfa = next(line for line in lines if "TTS TTFA" in line)
        end = next(line for line in lines if "stop→end" in line and "│" in line)
        assert "n/a (virtual time)" in ttfa
        assert "n/a" not in end and any(ch.isdigit() for ch in end.split("stop→end")[1])
