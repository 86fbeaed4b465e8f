"""Turn-timing metrics over event lists (voiceconsole.session.metrics)."""

from __future__ import annotations

import pytest

from tests.test_session import make_session
from voiceconsole.events import (
    AudioLevel,
    Event,
    InterruptCommand,
    PlaybackFinished,
    PlaybackInterrupted,
    PlaybackStarted,
    SpeechStarted,
    SpeechStopped,
    TtsFirstAudio,
    TtsQueued,
    TtsRequestSent,
    TurnEagerEnd,
    TurnEnd,
    TurnResume,
    TurnStart,
    TurnUpdate,
)
from voiceconsole.session.metrics import (
    METRIC_KEYS,
    MetricsBuilder,
    compute_metrics,
    format_ms,
    percentile,
    summarize,
    turn_metrics,
)


def ev(cls: type[Event], t: float, audio_t: float | None = None, **fields: object) -> Event:
    return cls(t=t, audio_t=t if audio_t is None else audio_t, **fields)


def conversation() -> list[Event]:
    """Turn 1: eager end, resume, eager end, end, reply played. Turn 2 barges in on reply 2."""
    return [
        ev(SpeechStarted, 0.60, speech_audio_t=0.50),
        ev(TurnStart, 0.70, turn=1),
        ev(AudioLevel, 0.75, source="mic", rms_dbfs=-20.0, peak_dbfs=-10.0),
        ev(TurnUpdate, 0.90, turn=1, transcript="hello"),
        ev(SpeechStopped, 1.30, speech_audio_t=1.00),
        ev(TurnEagerEnd, 1.25, turn=1, transcript="hello"),  # before the VAD reported the stop
        ev(TurnResume, 1.40, turn=1),
        ev(SpeechStarted, 1.45, speech_audio_t=1.35),
        ev(SpeechStopped, 2.20, speech_audio_t=1.90),
        ev(TurnEagerEnd, 2.12, turn=1, transcript="hello there"),
        ev(TurnEnd, 2.70, turn=1, transcript="hello there"),
        ev(TtsQueued, 2.75, reply=1, text="hello there", turn=1),
        ev(TtsRequestSent, 2.76, reply=1),
        ev(TtsFirstAudio, 2.96, reply=1, latency_s=0.2),
        ev(PlaybackStarted, 3.00, reply=1),
        ev(PlaybackFinished, 4.00, reply=1, samples_played=16000),
        # A typed line (no turn) that the next turn barges in on.
        ev(TtsQueued, 4.10, reply=2, text="typed", origin="user"),
        ev(TtsRequestSent, 4.10, reply=2),
        ev(TtsFirstAudio, 4.20, reply=2),
        ev(PlaybackStarted, 4.22, reply=2),
        ev(SpeechStarted, 4.50, speech_audio_t=4.40),
        ev(TurnStart, 4.60, turn=2),
        ev(InterruptCommand, 4.60, reason="auto"),
        ev(PlaybackInterrupted, 4.62, reply=2, samples_played=6000),
        ev(SpeechStopped, 5.30, speech_audio_t=5.00),
        ev(TurnEnd, 5.80, turn=2, transcript="stop"),
    ]


def test_turn_with_resume_measures_the_eager_end_that_stood() -> None:
    turns = turn_metrics(conversation())
    assert [t.turn for t in turns] == [1, 2]
    t1 = turns[0]
    assert t1.ended and t1.transcript == "hello there"
    assert t1.speech_stop_audio_t == pytest.approx(1.90)
    assert t1.eager_ends == 2 and t1.resumes == 1
    assert t1.eager_end_delay == pytest.approx(0.22)
    assert t1.end_of_turn_delay == pytest.approx(0.80)
    assert t1.eager_to_end == pytest.approx(0.58)
    assert t1.reply == 1
    assert t1.responder_latency == pytest.approx(0.05)
    assert t1.response_latency == pytest.approx(0.30)
    assert t1.tts_ttfa == pytest.approx(0.20)
    assert t1.barge_in_latency is None


def test_barge_in_is_attributed_to_the_turn_that_interrupted() -> None:
    result = compute_metrics(conversation())
    t2 = result.turns[1]
    assert t2.barge_in_latency == pytest.approx(0.02)
    assert t2.eager_end_delay is None and t2.eager_to_end is None and t2.resumes == 0
    assert t2.end_of_turn_delay == pytest.approx(0.80)
    # The typed reply belongs to no turn: no response latency for turn 2.
    assert t2.reply is None and t2.response_latency is None
    [cut] = result.interruptions
    assert (cut.reason, cut.turn, cut.reply) == ("auto", 2, 2)
    assert cut.latency == pytest.approx(0.02)


def test_interrupt_with_nothing_playing_has_no_latency() -> None:
    events = conversation()[:16] + [ev(InterruptCommand, 4.05, reason="key")]
    result = compute_metrics(events)
    [cut] = result.interruptions
    assert cut.reply is None and cut.latency is None
    assert result.turns[0].barge_in_latency is None


def test_interrupt_after_a_reply_finished_does_not_claim_a_later_cut() -> None:
    events = [
        ev(TurnStart, 0.1, turn=1),
        ev(InterruptCommand, 0.2, reason="key"),  # nothing playing
        ev(TtsQueued, 0.3, reply=1, text="x", origin="user"),
        ev(PlaybackStarted, 0.4, reply=1),
        ev(PlaybackFinished, 0.9, reply=1),
        ev(InterruptCommand, 1.0, reason="key"),
        ev(TtsQueued, 1.1, reply=2, text="y", origin="user"),
        ev(PlaybackStarted, 1.2, reply=2),
        ev(InterruptCommand, 1.5, reason="key"),
        ev(PlaybackInterrupted, 1.53, reply=2),
    ]
    result = compute_metrics(events)
    assert [i.latency for i in result.interruptions][:2] == [None, None]
    assert result.interruptions[2].latency == pytest.approx(0.03)


def test_speech_stop_of_an_earlier_turn_is_not_reused() -> None:
    events = [
        ev(TurnStart, 0.5, turn=1),
        ev(SpeechStopped, 1.2, speech_audio_t=1.0),
        ev(TurnEnd, 1.8, turn=1, transcript="a"),
        ev(TurnStart, 2.5, turn=2),  # noise: the VAD never reports speech
        ev(TurnEnd, 3.5, turn=2, transcript=""),
    ]
    t1, t2 = turn_metrics(events)
    assert t1.end_of_turn_delay == pytest.approx(0.8)
    assert t2.speech_stop_audio_t is None and t2.end_of_turn_delay is None


def test_a_stop_reported_after_the_turn_end_still_counts() -> None:
    events = [
        ev(TurnStart, 0.5, turn=1),
        ev(TurnEnd, 1.6, turn=1, transcript="a"),
        ev(SpeechStopped, 1.7, speech_audio_t=1.1),
    ]
    [t1] = turn_metrics(events)
    assert t1.end_of_turn_delay == pytest.approx(0.5)


def test_percentile_interpolates_between_ranks() -> None:
    assert percentile([3.0], 95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0], 95) == pytest.approx(3.85)
    assert percentile(list(range(101)), 95) == pytest.approx(95.0)
    with pytest.raises(ValueError):
        percentile([], 50)


def test_summary_counts_only_turns_that_have_the_metric() -> None:
    summary = compute_metrics(conversation()).summary
    assert set(summary) == set(METRIC_KEYS)
    eot = summary["end_of_turn_delay"]
    assert eot.count == 2 and eot.p50 == pytest.approx(0.8) and eot.max == pytest.approx(0.8)
    assert summary["eager_end_delay"].count == 1
    assert summary["resumes"].count == 2 and summary["resumes"].max == 1.0
    assert summary["barge_in_latency"].p95 == pytest.approx(0.02)
    empty = summarize([])
    assert empty["response_latency"].count == 0 and empty["response_latency"].p50 is None


def test_builder_fed_live_matches_the_batch_result_and_ignores_levels() -> None:
    builder = MetricsBuilder()
    changed = [builder.add(e) for e in conversation()]
    assert changed[2] is False  # audio.level
    assert builder.latest_ended() is not None and builder.latest_ended().turn == 2
    batch = compute_metrics(conversation())
    assert builder.turns() == batch.turns
    assert builder.summary() == batch.summary


def test_builder_counts_a_turn_ended_twice_once() -> None:
    events = conversation()
    # turn 1 ends a second time (same transcript, later): counted once
    events.append(ev(TurnEnd, 6.0, turn=1, transcript="hello there"))
    builder = MetricsBuilder()
    builder.extend(events)
    assert builder.summary() == compute_metrics(events).summary
    assert builder.turn(2) is not None and builder.turn(2).barge_in_latency == pytest.approx(0.02)
    assert builder.ended_turns == 2


def test_open_turn_has_no_resume_count_yet() -> None:
    [t1] = turn_metrics(conversation()[:7])
    assert not t1.ended and t1.value("resumes") is None and t1.resumes == 1


def test_format_ms() -> None:
    assert format_ms(0.2346) == "235 ms"
    assert format_ms(-0.05, signed=True) == "-50 ms"
    assert format_ms(None) == "—"


async def test_metrics_of_a_real_session_run() -> None:
    session, events = make_session()
    await session.run()
    [t1] = turn_metrics(events)
    end = next(e for e in events if e.type == "turn.end")
    start = next(e for e in events if e.type == "playback.start")
    assert t1.speech_stop_audio_t == pytest.approx(1.1)
    assert t1.end_of_turn_delay == pytest.approx(end.audio_t - 1.1)
    assert t1.response_latency == pytest.approx(start.t - end.t)
    assert t1.response_latency >= 0 and t1.tts_ttfa is not None and t1.tts_ttfa >= 0


def test_another_reply_finishing_does_not_drop_a_pending_interrupt() -> None:
    events = [
        ev(TtsQueued, 0.1, reply=1, text="a", origin="user"),
        ev(PlaybackStarted, 0.2, reply=1),
        ev(TtsQueued, 0.3, reply=2, text="b", origin="user"),
        ev(InterruptCommand, 0.5, reason="key"),
        ev(PlaybackFinished, 0.51, reply=2),  # a reply that was not the one being heard
        ev(PlaybackInterrupted, 0.52, reply=1),
    ]
    [cut] = compute_metrics(events).interruptions
    assert cut.reply == 1 and cut.latency == pytest.approx(0.02)
