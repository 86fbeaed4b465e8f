"""The replay's ghost run: the recorded mic again with the tuning panel's settings, under the recorded turns.

The recording is the bundled human speech (``tests/data/speech_turns.wav``: three turns) run
headless through the offline engine with its default settings (end ms 800). Turn ends move in
steps of the 20 ms audio block and the 32 ms VAD frame, so a change of end ms by X moves each
``turn.end`` by X within :data:`TOLERANCE_MS`.
"""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from textual.widgets import Input

from tests.test_recording import SPEECH, cli
from tests.test_replay_ui import THEMES, WIDE, settled
from voiceconsole.config import Settings
from voiceconsole.engines.base import TurnSettings
from voiceconsole.events import TurnEnd
from voiceconsole.session.compare import turn_overrides
from voiceconsole.session.ghost import GhostRun, run_ghost
from voiceconsole.session.recording import Recording, load_recording
from voiceconsole.ui.ghost import GhostLane, GhostTuningScreen, format_diff
from voiceconsole.ui.replay import ReplayConsoleApp

TOLERANCE_MS = 60


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Recording:
    rec = tmp_path_factory.mktemp("ghost") / "session"
    out = cli("--no-ui", "--mic", str(SPEECH), "--fast", "--speaker", "null", "--record", str(rec))
    assert out.returncode == 0, out.stderr
    return load_recording(rec)


def recorded_ends(recording: Recording) -> list[float]:
    return [e.audio_t for e in recording.events if isinstance(e, TurnEnd)]


def ghost(recording: Recording, **changes: object) -> GhostRun:
    return asyncio.run(run_ghost(recording, "local", TurnSettings().replace(**changes)))


OTHER_TEXT = {"turn_detector": "smart-turn"}
"""A value other than the default for each text setting (numbers are nudged)."""


def test_every_turn_setting_reaches_the_run() -> None:
    changed = {}
    for f in dataclasses.fields(TurnSettings):
        default = getattr(TurnSettings(), f.name)
        if isinstance(default, str):
            assert f.name in OTHER_TEXT, f"give {f.name} another value in OTHER_TEXT"
            changed[f.name] = OTHER_TEXT[f.name]
        else:
            changed[f.name] = default + (1 if isinstance(default, int) else 0.05)
    wanted = TurnSettings(**changed)
    settings = Settings()
    for name, value in turn_overrides(wanted).items():
        setattr(settings, name, value)
    assert settings.turn_settings() == wanted


def test_same_settings_give_the_recorded_turns(recording: Recording) -> None:
    run = ghost(recording)
    assert [t.end for t in run.turns] == pytest.approx(recorded_ends(recording), abs=0.001)
    assert run.diffs_ms == [0] * len(recorded_ends(recording))
    assert not run.missing and not run.new_turns


@pytest.mark.parametrize("end_ms", [400, 1200])
def test_end_ms_moves_every_turn_end_by_the_change(recording: Recording, end_ms: int) -> None:
    run = ghost(recording, end_silence_ms=end_ms)
    assert len(run.diffs_ms) == len(recorded_ends(recording)) == 3
    for diff in run.diffs_ms:
        assert abs(diff - (end_ms - 800)) <= TOLERANCE_MS
    assert "turn.end median" in run.summary()


def test_a_lost_turn_is_counted_as_gone(recording: Recording) -> None:
    # A start needing more speech than any turn has: the ghost run has no turns at all.
    run = ghost(recording, start_speech_ms=5000)
    assert run.turns == ()
    assert len(run.missing) == 3 and "3 gone" in run.summary()


def test_diff_labels() -> None:
    assert [format_diff(ms) for ms in (-380, 0, 420)] == ["-380ms", "±0", "+420ms"]


# --- in the replay console -------------------------------------------------------------------


def ghost_row(app: ReplayConsoleApp) -> str:
    y = next(i for i, lane in enumerate(app.LANES) if isinstance(lane, GhostLane))
    return app.timeline.fresh_line(y).text


async def test_tuning_panel_enter_runs_the_ghost_and_the_lane_shows_the_differences(recording: Recording) -> None:
    app = ReplayConsoleApp(recording, speed=0, themes=THEMES)
    async with app.run_test(size=WIDE, notifications=True) as pilot:
        await settled(pilot)
        assert "g re-runs the mic" in ghost_row(app)
        await pilot.press("c")
        await settled(pilot)
        assert isinstance(app.screen, GhostTuningScreen)
        field = app.screen.query_one("#tune-end_silence_ms", Input)
        field.value = "400"
        await pilot.press("enter")
        await app.workers.wait_for_complete()
        await pilot.press("escape")
        await settled(pilot)
        run = app.model.ghost
        assert run is not None and run.settings.end_silence_ms == 400
        assert all(abs(d + 400) <= TOLERANCE_MS for d in run.diffs_ms)
        app.timeline.zoom(2)  # 200 ms a column: the whole recording in view
        app.timeline.pan_home()
        await settled(pilot)
        row = ghost_row(app)
        assert row.count("■") == 3 and f"{run.diffs_ms[0]:+d}ms" in row
        # Seeking back rebuilds the console from the start: the ghost stays.
        app.seek(0.0)
        await settled(pilot)
        assert app.model.ghost is run


async def test_g_runs_the_ghost_with_the_recorded_settings_first(recording: Recording) -> None:
    app = ReplayConsoleApp(recording, speed=0, themes=THEMES)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("g")
        await app.workers.wait_for_complete()
        await settled(pilot)
        assert app.model.ghost is not None and app.model.ghost.diffs_ms == [0, 0, 0]


async def test_ghost_without_mic_audio_says_what_to_do(recording: Recording, tmp_path) -> None:
    copy = dataclasses.replace(recording, path=tmp_path)
    app = ReplayConsoleApp(copy, speed=0, themes=THEMES)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        await pilot.press("g")
        await settled(pilot)
        assert app.model.ghost is None
        assert "has no mic.wav to re-run" in ghost_row(app)


def test_ghost_lane_snapshot(snap_compare, recording: Recording) -> None:
    async def run_ghost_at_400(pilot) -> None:
        app = pilot.app
        worker = app.start_ghost(TurnSettings().replace(end_silence_ms=400))
        await worker.wait()
        app.seek(recorded_ends(recording)[-1] + 0.3)
        app.timeline.zoom(2)
        app.timeline.pan_home()
        await settled(pilot)

    app = ReplayConsoleApp(recording, paused=True, themes=THEMES)
    assert snap_compare(app, terminal_size=WIDE, run_before=run_ghost_at_400)


async def test_a_ghost_run_that_breaks_is_shown_and_the_replay_goes_on(recording: Recording, monkeypatch) -> None:
    import voiceconsole.ui.replay as replay

    async def broken(*args: object) -> GhostRun:
        raise RuntimeError("decoder exploded")

    monkeypatch.setattr(replay, "run_ghost", broken)
    app = ReplayConsoleApp(recording, speed=0, themes=THEMES)
    async with app.run_test(size=WIDE) as pilot:
        await settled(pilot)
        worker = app.start_ghost(TurnSettings())
        await worker.wait()
        await settled(pilot)
        assert app.is_running and app.model.ghost is None
        assert "ghost run failed: RuntimeError: decoder exploded" in ghost_row(app)
