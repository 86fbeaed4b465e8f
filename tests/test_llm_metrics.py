"""LLM metrics on a scripted LLM conversation (exact times) and on a real one: time to first
token, speculation hits, ms saved, wasted calls and tokens, the waterfall's LLM segment, the
report."""

from __future__ import annotations

import pytest

from tests.llm_server import LlmServer
from tests.scenes import WORDS_1, WORDS_2, WORDS_2B, Scene, SceneBuilder
from tests.test_llm import ONE_TURN, run_llm_session
from voiceconsole.events import (
    LlmCancelled,
    LlmCommitted,
    LlmDone,
    LlmFirstToken,
    LlmRequest,
)
from voiceconsole.session.metrics import MetricsBuilder, compute_metrics


def llm_scene() -> Scene:
    """Three turns answered by an LLM: an eager guess that held (300 ms ahead), one wasted on a
    resume and one on a changed transcript before a committed request, and a guess committed
    before its first token."""
    b = SceneBuilder().start().said(0.8, 2.47)
    b.turn(1, 0.98, WORDS_1, eager=2.69, end=3.29)
    b.add(LlmRequest, 2.69, request=1, turn=1, speculative=True, messages=2, model="m")
    b.add(LlmFirstToken, 2.99, request=1, turn=1, latency_s=0.3)
    b.add(
        LlmDone,
        3.2,
        request=1,
        turn=1,
        tokens=9,
        text="Sorry about that, try again later.",
    )
    b.add(LlmCommitted, 3.29, request=1, turn=1)
    b.reply(1, "Sorry about that, try again later.", 3.29, turn=1, duration=1.6)
    b.said(4.07, 6.27).said(6.57, 9.11)
    b.turn(
        2,
        4.25,
        WORDS_2 + WORDS_2B + [(8.8, "as"), (9.0, "dialed")],
        eager=6.48,
        resume=6.75,
        eager2=9.33,
        end=9.93,
    )
    b.add(LlmRequest, 6.48, request=2, turn=2, speculative=True, messages=4, model="m")
    b.add(LlmFirstToken, 6.70, request=2, turn=2, latency_s=0.22)
    b.add(
        LlmCancelled,
        6.75,
        request=2,
        turn=2,
        reason="resume",
        speculative=True,
        tokens=5,
    )
    b.add(LlmRequest, 9.33, request=3, turn=2, speculative=True, messages=4, model="m")
    b.add(LlmFirstToken, 9.63, request=3, turn=2, latency_s=0.3)
    b.add(
        LlmCancelled,
        9.93,
        request=3,
        turn=2,
        reason="changed",
        speculative=True,
        tokens=12,
    )
    b.add(LlmRequest, 9.93, request=4, turn=2, speculative=False, messages=4, model="m")
    b.add(LlmFirstToken, 10.23, request=4, turn=2, latency_s=0.3)
    b.reply(
        2,
        "I will hold the line for you while it connects.",
        10.23,
        turn=2,
        cut_at=10.95,
    )
    b.add(
        LlmDone,
        10.6,
        request=4,
        turn=2,
        tokens=11,
        text="I will hold the line for you while it connects.",
    )
    b.said(10.71, 12.96)
    b.turn(
        3,
        10.95,
        [
            (11.3, "the"),
            (11.5, "echo"),
            (11.9, "test"),
            (12.2, "has"),
            (12.4, "been"),
            (12.8, "completed"),
        ],
        eager=13.17,
        end=13.77,
    )
    b.add(LlmRequest, 13.17, request=5, turn=3, speculative=True, messages=6, model="m")
    b.add(LlmCommitted, 13.77, request=5, turn=3)
    b.add(LlmFirstToken, 13.9, request=5, turn=3, latency_s=0.73)
    b.reply(3, "Good, the echo test passed.", 13.9, turn=3, stage="play")
    return b.build("llm_conversation", 14.6)


def test_speculation_hits_savings_and_waste_of_a_scripted_conversation() -> None:
    result = compute_metrics(llm_scene().events)
    turns = {tm.turn: tm for tm in result.turns}
    assert turns[1].llm_ttft == pytest.approx(0.3) and turns[
        1
    ].llm_saved == pytest.approx(0.3)
    assert (
        turns[2].llm_ttft == pytest.approx(0.3) and turns[2].llm_saved is None
    )  # no guess held
    assert turns[3].llm_ttft == pytest.approx(0.73) and turns[
        3
    ].llm_saved == pytest.approx(0.6)
    stats = result.llm
    assert (stats.requests, stats.speculative, stats.hits) == (5, 4, 2)
    assert stats.hit_rate == 0.5
    assert (stats.wasted_calls, stats.wasted_tokens) == (2, 17)
    assert stats.saved_ms == [300.0, 600.0] and stats.saved_p50_ms == 450.0
    # First token (or commit, if later) -> tts.request_sent: the scene's 10 ms each time.
    assert stats.overhead_ms == pytest.approx([10.0, 10.0, 10.0])


def test_the_llm_segment_joins_the_waterfall() -> None:
    turns = {tm.turn: tm for tm in compute_metrics(llm_scene().events).turns}
    t1, t2, t3 = turns[1], turns[2], turns[3]
    assert t1.llm_ms == pytest.approx(
        -300.0
    )  # the first token came before the turn ended
    assert t1.responder_ms == pytest.approx(0.0)
    assert t2.llm_ms == pytest.approx(300.0) and t2.responder_ms == pytest.approx(0.0)
    assert t3.llm_ms == pytest.approx(130.0)
    for tm in (t1, t2, t3):
        stacked = [
            max(0.0, tm.llm_ms),
            tm.endpointing_ms,
            tm.responder_ms,
            tm.tts_first_audio_ms,
            tm.playout_ms,
        ]
        assert tm.voice_to_voice_ms == pytest.approx(sum(stacked))


def test_metrics_fed_live_match_the_batch() -> None:
    events = llm_scene().events
    builder = MetricsBuilder()
    for e in events:
        builder.add(e)
    assert builder.llm.stats == compute_metrics(events).llm
    assert builder.llm_summary()["llm_saved"].p50 == pytest.approx(0.45)


def test_a_real_session_counts_its_committed_guess() -> None:
    with LlmServer() as server:
        _, events = run_llm_session(server, ONE_TURN)
    result = compute_metrics(events)
    assert (
        result.llm.requests,
        result.llm.speculative,
        result.llm.hits,
        result.llm.wasted_calls,
    ) == (1, 1, 1, 0)
    assert result.turns[0].llm_saved is not None and result.llm.tokens > 0
