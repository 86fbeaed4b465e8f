"""The replay and comparison screens, driven with the pilot and snapshot-tested."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.test_recording import SPEECH, cli
from voiceconsole.session.compare import ThroughConfig, align_turns, run_all_through
from voiceconsole.session.recording import Recording, load_recording
from voiceconsole.ui.replay import ComparisonApp, ReplayApp
from voiceconsole.ui.timelines import render_timelines


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


def test_comparison_screen_snapshot(snap_compare, recording: Recording, comparison) -> None:
    timelines, rows = comparison
    assert snap_compare(ComparisonApp(recording, timelines, rows), terminal_size=(130, 36))


def test_replay_screen_paused_and_seeked_snapshot(snap_compare, recording: Recording) -> None:
    app = ReplayApp(recording, speed=1.0, paused=True)
    assert snap_compare(app, press=["right"] * 11, terminal_size=(110, 24))


async def test_replay_at_full_speed_delivers_every_event(recording: Recording) -> None:
    app = ReplayApp(recording, speed=0)
    async with app.run_test() as pilot:
        for _ in range(200):
            if app.player.done:
                break
            await pilot.pause(0.05)
        assert app.delivered == recording.events
        await pilot.press("home")  # restart: the view is rebuilt from nothing
        assert app.player.position == 0 and app.delivered == []


async def test_replay_pause_step_and_seek_keys(recording: Recording) -> None:
    app = ReplayApp(recording, speed=1.0, paused=True)
    async with app.run_test() as pilot:
        await pilot.press("full_stop", "full_stop", "full_stop")
        assert app.delivered == recording.events[:3]
        await pilot.press("right", "right", "right")
        assert app.delivered and all(e.t < 3.0 + 1e-9 for e in app.delivered)
        assert len(app.delivered) == sum(1 for e in recording.events if e.t < app.delivered[-1].t + 1e-9)
        await pilot.press("left")
        assert app.delivered == [e for e in recording.events if e.t < app.player.current_t + 1e-9]
        await pilot.press("plus")
        assert app.player.speed == 2.0


def test_lanes_show_each_configuration_on_one_axis(comparison) -> None:
    timelines, _ = comparison
    text = render_timelines(timelines, 100)
    lanes = [line for line in text.splitlines() if "turns" in line]
    assert len(lanes) == 2 and all("┃" in lane for lane in lanes)
