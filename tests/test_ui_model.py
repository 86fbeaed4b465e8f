"""The console's model: plain objects built from events, versions that say what changed, and the
compact level track."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from textual.geometry import Region

from tests.scenes import SCENES, ScriptedController, long_session
from voiceconsole.events import (
    AudioLevel,
    EngineError,
    SpeechStarted,
    SpeechStopped,
    TtsWordTimings,
    TurnConfigChanged,
    TurnStart,
    TurnUpdate,
    WordTiming,
)
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.ui.entries import Mark, ReplyEntry
from voiceconsole.ui.levels import BIN_S, HOLD_S, LevelTrack, level_code
from voiceconsole.ui.model import ConsoleModel, Versions
from voiceconsole.ui.themes import load_themes

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


def widget_text(widget) -> str:
    """What a widget shows, line by line (its own public Line-API rendering)."""
    size = widget.size
    return "\n".join(strip.text for strip in widget.render_lines(Region(0, 0, size.width, size.height)))


def test_model_rebuilt_from_events_matches_the_one_fed_live() -> None:
    scene = SCENES["conversation"]()
    live = ConsoleModel()
    for event in scene.events:
        live.apply(event)
    rebuilt = ConsoleModel.from_events(scene.events)
    keys = [(type(e).__name__, getattr(e, "turn", None) if hasattr(e, "state") else e.reply) for e in rebuilt.entries]
    assert keys == [("TurnEntry", 1), ("ReplyEntry", 1), ("TurnEntry", 2), ("ReplyEntry", 2), ("TurnEntry", 3), ("ReplyEntry", 3)]
    assert rebuilt.turns == live.turns and rebuilt.replies == live.replies and rebuilt.gaps.by_key == live.gaps.by_key
    assert rebuilt.turn_marks == live.turn_marks and rebuilt.vad == live.vad
    assert [r.state for r in rebuilt.replies.values()] == ["done", "cancelled", "playing"]
    assert rebuilt.replies[2].interrupted and rebuilt.turns[2].resumes == 1


def test_gaps_written_on_the_timeline_are_the_metrics() -> None:
    model = ConsoleModel.from_events(SCENES["conversation"]().events)
    kinds = {gap.key: gap.ms for gap in model.gaps.by_key.values()}
    turn1 = model.metrics.turn(1)
    assert kinds[("stop_eager", 1)] == round(turn1.eager_end_delay * 1000) == 220
    assert kinds[("stop_end", 1)] == round(turn1.end_of_turn_delay * 1000) == 820
    assert kinds[("end_audio", 1)] == round(turn1.response_latency * 1000)
    assert kinds[("barge_in", 2)] == 21
    # each gap is in its row once, rows ordered by start
    rows = [[g.key for g in row] for row in model.gaps.rows]
    assert sorted(k for row in rows for k in row) == sorted(model.gaps.by_key)
    assert all(a.start <= b.start for row in model.gaps.rows for a, b in zip(row, row[1:]))


def test_versions_say_which_aspect_changed() -> None:
    model = ConsoleModel.from_events(SCENES["reply_playing"]().events)
    before = Versions(**{name: getattr(model.versions, name) for name in Versions.__slots__})
    model.apply(TurnUpdate(t=5.0, audio_t=5.0, turn=1, transcript="late words"))
    assert model.versions.turns > before.turns and model.turns[1].version == model.versions.turns
    changed = {name for name in Versions.__slots__ if getattr(model.versions, name) != getattr(before, name)}
    assert changed == {"turns"}
    model.apply(AudioLevel(t=5.1, audio_t=5.1, source="mic", rms_dbfs=-20.0, peak_dbfs=-10.0))
    assert {name for name in Versions.__slots__ if getattr(model.versions, name) != getattr(before, name)} == {"turns", "levels"}
    model.apply(SpeechStarted(t=5.2, audio_t=5.2, speech_audio_t=5.15))
    assert model.versions.speech == model.version


def test_words_heard_follow_word_timings_then_duration() -> None:
    entry = ReplyEntry(1, "hello big world", "user", None, 0.0, 0.0, play_start_t=10.0)
    entry.words = [WordTiming("hello", 0.0, 0.3), WordTiming("big", 0.35, 0.5), WordTiming("world", 0.6, 1.0)]
    assert entry.words_heard(10.0) == (0, 15)
    assert entry.words_heard(10.1) == (5, 15)
    assert entry.words_heard(10.4) == (9, 15)
    assert entry.words_heard(11.0) == (15, 15)
    no_words = ReplyEntry(2, "one two three four", "user", None, 0.0, 0.0, play_start_t=0.0, duration_s=2.0, synth_done=True)
    assert no_words.words_heard(1.0) == (13, 18)  # half the characters, snapped to the end of "three"
    assert no_words.words_heard(9.0)[0] == 18


def test_word_timings_in_several_events_add_up() -> None:
    model = ConsoleModel.from_events(SCENES["reply_playing"]().events)
    count = len(model.replies[1].words)
    model.apply(TtsWordTimings(t=5.0, audio_t=5.0, reply=1, words=(WordTiming("more", 3.0, 3.2),)))
    assert len(model.replies[1].words) == count + 1


def test_queries_find_what_overlaps_a_window() -> None:
    model = ConsoleModel()
    model.apply(SpeechStarted(t=1.0, audio_t=1.0, speech_audio_t=1.0))
    model.apply(SpeechStopped(t=2.0, audio_t=2.0, speech_audio_t=2.0))
    model.apply(SpeechStarted(t=3.0, audio_t=3.0, speech_audio_t=3.0))
    model.now_audio_t = 4.0
    assert [(s.start, s.end) for s in model.spans_in(model.vad, 1.5, 3.5)] == [(1.0, 2.0), (3.0, None)]
    assert [(s.start, s.end) for s in model.spans_in(model.vad, 3.9, 5.0)] == [(3.0, None)]  # open: runs to now
    assert model.spans_in(model.vad, 2.1, 2.9) == []
    marks = [Mark(0.5, "a"), Mark(1.0, "b"), Mark(1.0, "c"), Mark(2.0, "d")]
    assert [m.kind for m in ConsoleModel.marks_in(marks, 1.0, 2.0)] == ["b", "c"]


def test_level_track_keeps_the_loudest_per_bin_and_holds_the_last_one_briefly() -> None:
    track = LevelTrack()
    track.add(0.30, -30.0)  # 0.3 / 0.01 is 29.999...: still the bin of 0.30
    track.add(0.301, -10.0)
    track.add(0.305, -50.0)
    assert track.loudest(0.30, 0.31) == -10.0
    assert track.loudest(0.29, 0.30) is None  # nothing before
    # a column without a reading shows the last one strictly within HOLD_S
    assert track.loudest(0.30 + HOLD_S - BIN_S, 0.30 + HOLD_S) == -10.0
    assert track.loudest(0.30 + HOLD_S, 0.30 + HOLD_S + BIN_S) is None
    track.add(0.5, -math.inf)
    assert track.loudest(0.5, 0.51) == -level_code(-math.inf) * 0.5  # silence is quieter than any floor
    assert len(track) == 51  # one byte per 10 ms of audio


def test_level_track_ignores_a_reading_hours_past_the_last() -> None:
    track = LevelTrack()
    track.add(1.0, -20.0)
    track.add(1e9, -20.0)  # a damaged recording: no gigabytes of empty bins
    assert len(track) == 101
    track.add(-5.0, -20.0)
    assert len(track) == 101


def _screen(app: VoiceConsoleApp) -> str:
    return "\n".join(widget_text(app.query_one(selector)) for selector in ("#transcript", "#queue", "#timeline"))


async def test_an_hour_long_session_opens_and_shows_a_new_turn() -> None:
    scene = long_session(60.0)
    assert len(scene.events) > 140_000
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.flush()
        assert len(app.model.turns) >= 890
        last = max(app.model.turns)
        assert f"turn {last}" in widget_text(app.query_one("#transcript"))
        t = scene.now + 0.1
        clock.advance_to(t)
        app.feed(TurnStart(t=t, audio_t=t, turn=last + 1))
        app.feed(TurnUpdate(t=t, audio_t=t, turn=last + 1, transcript="one more"))
        await pilot.pause()
        app.flush()
        assert "one more" in widget_text(app.query_one("#transcript"))
        timeline = app.timeline
        turn_lane = next(y for y, lane in enumerate(timeline.lanes) if lane.name == "turn")
        assert f"▶{last + 1}" in timeline.render_line(turn_lane).text


async def test_reset_rebuilds_the_screen_from_fewer_events() -> None:
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        first_reply = next(i for i, e in enumerate(scene.events) if e.type == "tts.queued")
        app.reset(scene.events[:first_reply])
        await pilot.pause()
        assert app.model.replies == {} and list(app.model.turns) == [1]
        screen = _screen(app)
        assert "turn 1" in screen and "reply 1" not in screen and "no replies yet" in screen
        app.reset(scene.events)
        await pilot.pause()
        screen = _screen(app)
        assert "reply 3" in screen and "the echo test has been comp" in screen


@pytest.mark.parametrize("name", sorted(SCENES))
def test_every_scene_builds_a_model(name: str) -> None:
    scene = SCENES[name]()
    model = ConsoleModel.from_events(scene.events)
    assert model.events == len(scene.events)
    assert all(isinstance(entry.version, int) and entry.version <= model.version for entry in model.entries)


@pytest.mark.parametrize("zoom_ms", [5, 10, 20, 50, 2000])
def test_level_columns_are_the_loudest_of_each_column(zoom_ms: int) -> None:
    track = LevelTrack()
    for i in range(400):  # a reading every 20 ms, with a gap of silence-without-readings
        if not 150 <= i < 170:
            track.add(i * 0.02, -60.0 + (i * 7) % 55)
    col_s = zoom_ms / 1000.0
    first, count = 3, 60
    expected = [track.loudest((first + i) * col_s, (first + i + 1) * col_s) for i in range(count)]
    assert track.columns(first, count, col_s) == expected


def test_a_change_of_turn_settings_is_marked_on_the_timeline_but_not_the_first_settings() -> None:
    model = ConsoleModel()
    model.apply(TurnConfigChanged(t=0.0, audio_t=0.0, settings={"end_silence_ms": 800}))
    assert [m.kind for m in model.reply_marks] == []
    model.apply(TurnConfigChanged(t=5.0, audio_t=4.9, settings={"end_silence_ms": 400}))
    assert [(m.kind, m.at) for m in model.reply_marks] == [("config", 4.9)]
    assert model.turn_config == {"end_silence_ms": 400} and model.versions.replies == model.version


async def test_esc_hides_the_error_banner_until_a_new_error_or_another_session() -> None:
    scene = SCENES["engine_error"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock, scene.events), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        banner = app.query_one("#banner")
        assert banner.has_class("-visible")
        await pilot.press("escape")
        assert not banner.has_class("-visible")
        app.flush()  # nothing new: it stays hidden
        assert not banner.has_class("-visible")
        app.feed(EngineError(t=scene.now, audio_t=scene.now, role="tts", engine="local", message="second failure",
                             hint="", fatal=False))
        app.flush()
        assert banner.has_class("-visible") and "second failure" in str(banner.render())
        await pilot.press("escape")
        app.reset(scene.events)  # a replay seeking back: its errors show again
        assert banner.has_class("-visible")
