"""The console's model (pure, rebuilt from events) and the cost of an hour-long session."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from tests.approx import same_within
from voiceconsole.events import Event, SpeechStopped, TtsQueued, TtsWordTimings, TurnEnd, TurnStart, TurnUpdate, WordTiming
from voiceconsole.ui.app import VoiceConsoleApp
from voiceconsole.session.metrics import compute_metrics, summarize
from voiceconsole.ui.model import GAP_ROWS, LEVEL_FULL_WINDOW_S, MARK_CHUNK, ConsoleModel, Gap, LevelTrack, Mark, MarkList, ReplyEntry
from tests.scenes import SCENES, ScriptedController, long_session
from voiceconsole.ui.themes import load_themes
from voiceconsole.ui.timeline import ROWS

THEMES = load_themes([Path(__file__).resolve().parent.parent / "themes"])


def test_model_rebuilt_from_events_matches_the_one_fed_live() -> None:
    scene = SCENES["conversation"]()
    live = ConsoleModel()
    for event in scene.events:
        live.apply(event)
        live.take_dirt()
    rebuilt = ConsoleModel.from_events(scene.events)
    assert rebuilt.order == live.order == [("turn", 1), ("reply", 1), ("turn", 2), ("reply", 2), ("turn", 3), ("reply", 3)]
    assert rebuilt.turns == live.turns and rebuilt.replies == live.replies and rebuilt.gaps == live.gaps
    assert [r.state for r in rebuilt.replies.values()] == ["done", "cancelled", "playing"]
    assert rebuilt.replies[2].interrupted and rebuilt.turns[2].resumes == 1


def test_gaps_written_on_the_timeline_are_the_metrics() -> None:
    model = ConsoleModel.from_events(SCENES["conversation"]().events)
    kinds = {(g.kind, g.key[1]): g.ms for g in model.gaps.values()}
    turn1 = model.metrics.turn(1)
    assert kinds[("stop_eager", 1)] == round(turn1.eager_end_delay * 1000) == 220
    assert kinds[("stop_end", 1)] == round(turn1.end_of_turn_delay * 1000) == 820
    assert kinds[("end_audio", 1)] == round(turn1.response_latency * 1000)
    assert kinds[("barge_in", 2)] == 21


def test_dirt_says_what_changed_and_from_when() -> None:
    model = ConsoleModel.from_events(SCENES["reply_playing"]().events)
    model.take_dirt()
    assert not model.take_dirt()
    model.apply(TurnUpdate(t=5.0, audio_t=5.0, turn=1, transcript="late words"))
    dirt = model.take_dirt()
    assert dirt.transcript == {("turn", 1)} and not dirt.transcript_added
    assert dirt.timeline_from == pytest.approx(5.0)  # the view redraws from there (and from its last "now")
    assert not dirt.replies


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


async def test_an_hour_of_session_costs_one_entry_and_a_few_chunks_per_event() -> None:
    scene = long_session(60.0)
    assert len(scene.events) > 140_000
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        app.flush()
        await pilot.pause()
        transcript, timeline = app.query_one("#transcript"), app.query_one("#timeline")
        assert len(app.model.turns) >= 890
        painted, rendered = timeline.painted, transcript.rendered
        width = timeline.scrollable_content_region.width
        # A few screens' worth while the layout settles, not the hour's 72,000 columns x 9 lanes.
        assert painted <= 3 * len(ROWS) * (math.ceil(width / 32) + 1)
        last = max(app.model.turns)
        clock.advance_to(scene.now + 0.1)
        app.feed(TurnUpdate(t=scene.now + 0.1, audio_t=scene.now + 0.1, turn=last + 1, transcript="one more"))
        await pilot.pause()
        assert transcript.rendered - rendered <= 2  # the new entry (and its neighbour's line count)
        assert timeline.painted - painted <= 2 * len(ROWS)  # the last chunk or two of each lane
        assert "one more" in "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())


async def test_reset_rebuilds_the_screen_from_fewer_events() -> None:
    scene = SCENES["conversation"]()
    clock = scene.clock()
    app = VoiceConsoleApp(ScriptedController(clock), clock=clock, events=scene.events, themes=THEMES)
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.pause()
        first_reply = next(i for i, e in enumerate(scene.events) if e.type == "tts.queued")
        app.reset(scene.events[:first_reply])
        await pilot.pause()
        assert app.model.replies == {} and list(app.model.turns) == [1]
        screen = "\n".join("".join(s.text for s in strip) for strip in app.screen._compositor.render_strips())
        assert "turn 1" in screen and "reply 1" not in screen and "no replies yet" in screen
        # the transcript's and the queue's entries follow the new model, typed and compact
        transcript, queue = app._transcript, app._queue
        assert list(transcript._keys) == list(app.model.order) and len(transcript._offsets) == len(app.model.order)
        assert type(transcript._keys).__name__ == "_OrderPrefix" and list(queue._numbers) == []
        assert type(queue._numbers).__name__ == "ChunkedArray"
        app.reset(scene.events)
        await pilot.pause()
        assert list(transcript._keys) == list(app.model.order) and list(queue._numbers) == list(app.model.replies)
        assert transcript._keys.index_from_end(app.model.order[-1]) == len(app.model.order) - 1


def _read_api(model: ConsoleModel, until: float) -> dict[str, object]:
    """Everything the transcript, timeline, TTS-queue and metrics views read from the model."""
    windows = [(s, s + 7.5) for s in [x * 2.5 for x in range(int(until / 2.5) + 1)]]
    return {
        "order": list(model.order),
        "order_tail": model.order[3:],
        "turns": [(n, model.turns[n]) for n in model.turns],
        "turn_values": list(model.turns.values()),
        "replies": [(n, model.replies[n]) for n in model.replies],
        "reply_values": list(model.replies.values()),
        "reply_states": [r.state for r in model.replies.values()],
        "gaps": dict(model.gaps),
        "windows": [
            (
                model.vad_in(s, e),
                model.mutes_in(s, e),
                [model.gaps_in(row, s, e) for row in range(GAP_ROWS)],
                model.marks_in(model.turn_marks, s, e),
                model.marks_in(model.reply_marks, s, e),
            )
            for s, e in windows
        ],
        "latest_turn": model.latest_turn(),
        "metric_turns": model.metrics.turns(),
        "summary": model.metrics.summary(),
        "latest_ended": model.metrics.latest_ended(),
        "interruptions": list(model.metrics.interruptions),
    }


@pytest.mark.parametrize("scene", ["conversation", "long"])
def test_folding_old_turns_keeps_what_the_views_read(scene: str) -> None:
    events = SCENES["conversation"]().events if scene == "conversation" else long_session(3.0).events
    until = max(e.audio_t for e in events) + 5.0
    # a late update to the first turn and a late gap (after turn 1 has been folded) must revive it
    late = [TurnUpdate(t=until, audio_t=until, turn=1, transcript="late words")]
    plain = ConsoleModel.from_events(events + late, keep=10**9)
    folded = ConsoleModel.from_events(events + late, keep=1)
    assert plain.turns.folded == 0 and folded.turns.folded >= len(folded.turns) - 2 > 0
    assert folded.replies.folded > 0
    # old turns and replies keep their moments as 32-bit offsets: equal to within microseconds
    same_within(_read_api(folded, until), _read_api(plain, until))
    assert folded.turns[1].text == "late words" and folded.turns[1].version == plain.turns[1].version
    summary = folded.metrics.summary()
    same_within(summary, summarize(plain.metrics.turns()))
    # the same summary as computing the metrics from scratch over the events
    same_within(summary, compute_metrics(events + late).summary)
    assert plain.metrics.summary() == compute_metrics(events + late).summary


def test_old_marks_read_back_within_microseconds_and_new_ones_exactly() -> None:
    marks = MarkList()
    written = [Mark(1000.0 + i * 0.4137 + 1e-7 * i, "update" if i % 3 else "start", "" if i % 3 else str(i)) for i in range(2 * MARK_CHUNK + 5)]
    for mark in written:
        marks.append(mark)
    assert len(marks) == len(written)
    same_within(list(marks), written, slack=1e-5)
    assert list(marks)[2 * MARK_CHUNK :] == written[2 * MARK_CHUNK :]  # the newest chunk is exact
    assert marks[-1] == written[-1] and [m.label for m in marks] == [m.label for m in written]
    start, end = written[MARK_CHUNK - 3].at, written[MARK_CHUNK + 4].at  # across a chunk boundary
    found = marks.between(start - 1e-3, end - 1e-3)
    same_within(found, written[MARK_CHUNK - 3 : MARK_CHUNK + 4], slack=1e-5)


def test_mark_labels_far_apart_or_not_numbers_read_back_as_written() -> None:
    marks = MarkList()
    labels = ["7", "", "40000", "8", "-3", "007", "barge", str(2**40), "9", "0"] * (MARK_CHUNK // 4)
    written = [Mark(float(i), "start", label) for i, label in enumerate(labels)]
    for mark in written:
        marks.append(mark)
    assert [m.label for m in marks] == labels


def _turns_with_replies(count: int) -> list[Event]:
    events: list[Event] = []
    for n in range(1, count + 1):
        t = 4.0 * n
        text = f"turn {n} said " + "é" * (n % 4)
        events += [
            TurnStart(t=t, audio_t=t, turn=n),
            TurnUpdate(t=t + 0.5, audio_t=t + 0.5, turn=n, transcript=text[:6]),
            SpeechStopped(t=t + 1.0, audio_t=t + 1.0, speech_audio_t=t + 0.9),
            TurnEnd(t=t + 1.2, audio_t=t + 1.2, turn=n, transcript=text),
            TtsQueued(t=t + 1.3, audio_t=t + 1.3, reply=n, text=f"reply {n}", origin="responder" if n % 3 else "say", turn=n),
        ]
    return events


def test_metrics_share_the_turn_text_and_old_reply_origins_read_back() -> None:
    events = _turns_with_replies(30)
    shared = ConsoleModel.from_events(events, keep=5)
    plain = ConsoleModel.from_events(events, keep=10**9)
    assert shared.turns.folded == 25
    assert [t.transcript for t in shared.metrics.turns()] == [t.transcript for t in plain.metrics.turns()]
    assert [r.origin for r in shared.replies.values()] == [r.origin for r in plain.replies.values()]
    # each folded turn's text is stored once for the turn and its metrics
    folded_text = sum(len(t.text.encode()) for t in list(plain.turns.values())[:25])
    assert len(shared.turns.columns.text) == folded_text


def test_gaps_of_old_turns_are_frozen_and_read_back_computed_from_their_metrics() -> None:
    events = long_session(3.0).events
    folded = ConsoleModel.from_events(events, keep=2)
    plain = ConsoleModel.from_events(events, keep=10**9)
    gaps = folded.gaps
    assert gaps._frozen_count > 0 and len(gaps._stored) < len(plain.gaps) // 2
    assert len(gaps) == len(plain.gaps)
    same_within(dict(gaps), dict(plain.gaps))
    end = max(e.audio_t for e in events)
    for row in range(GAP_ROWS):
        for s in (0.0, end / 3, end / 2):
            same_within(folded.gaps_in(row, s, s + 20.0), plain.gaps_in(row, s, s + 20.0))
    # a frozen gap put again (it changed after all) is stored again and replaces the frozen one
    key = next(k for k in gaps if k not in gaps._stored)
    old = gaps[key]
    changed = Gap(old.row, old.start, old.end + 1.0, old.kind, old.ms + 1000, key)
    assert gaps.put(changed) == old
    assert gaps[key] == changed and len(gaps) == len(plain.gaps) and list(gaps).count(key) == 1


def test_old_levels_keep_the_loudest_of_each_bucket_to_half_a_decibel() -> None:
    track = LevelTrack()
    step = 0.05
    n = int((LEVEL_FULL_WINDOW_S + 400.0) / step)
    for i in range(n):
        at = i * step
        rms = float("-inf") if 100.0 <= at < 101.0 else -20.0 - (i % 10) * 1.13  # digital silence for a second
        track.add(at, rms, rms + 6.0)
    assert len(track) < n  # the oldest readings are folded into buckets
    assert track.max_rms(10.0, 12.0) == -20.0
    assert track.max_rms(50.0, 50.2) == -20.0  # a bucket overlapping the range counts
    assert track.max_rms(100.0, 101.0) == -127.0  # silence reads as the quietest level kept
    # the newest ten minutes stay exact
    assert track.max_rms(n * step - 1.0, n * step) == -20.0
    assert track.max_rms(3.0 * step, 3.5 * step) == -20.0  # old: one bucket's loudest (-20.0)
    last = (n - 1) * step
    # full resolution (the newest ten minutes, across storage chunks): as a plain list would say
    readings = [(i * step, -20.0 - (i % 10) * 1.13) for i in range(n)]
    for a in [last - 590.0 + k * 37.3 for k in range(16)]:
        b = a + 0.37
        inside = [r for t, r in readings if a <= t < b]
        assert track.max_rms(a, b) == pytest.approx(max(inside), abs=1e-5)
    assert track.max_rms(last, last + step) == pytest.approx(-20.0 - ((n - 1) % 10) * 1.13, abs=1e-5)  # new: the reading


def test_level_track_finds_a_time_in_any_of_its_chunks() -> None:
    """The first reading at or after a time (looked for from the newest chunk back) is the one a
    scan of every reading finds, across several storage chunks and repeated times."""
    import random
    from bisect import bisect_left

    rnd = random.Random(7)
    track = LevelTrack()
    times: list[float] = []
    t = 0.0
    for _ in range(5000):  # more than two storage chunks
        t += rnd.choice([0.02, 0.02, 0.0, 0.05])
        track.add(t, -30.0, -20.0)
        times.append(t)
    assert len(track._chunks) >= 3
    for at in [rnd.uniform(-1.0, t + 1.0) for _ in range(500)] + [0.0, times[0], times[2047], times[2048], t, t + 0.01]:
        k, i = track._locate(at)
        index = bisect_left(times, at)
        assert (k, i) == ((len(track._chunks), 0) if index == len(times) else divmod(index, 2048)), at
